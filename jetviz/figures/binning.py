"""Histogram binning shared by every page that compares distributions."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def histogram_edges(samples: np.ndarray | Sequence[np.ndarray], bins: int = 40, *,
                    integer: bool = False, log: bool = False,
                    quantiles: tuple[float, float] = (0.001, 0.999)) -> np.ndarray:
    """Common bin edges for one observable over one or several samples.

    The range is the ``quantiles`` of the pooled finite values, so a handful of outliers
    cannot squeeze every sample into one bin.

    Args:
        samples: one array, or several (pooled), of any shape.
        bins: number of bins (integer observables: at most this many, one per integer or wider).
        integer: one bin per integer, centred on it (multiplicities).
        log: log-spaced edges over the positive values (particle pT fractions).
        quantiles: lower and upper quantile of the range.

    Returns:
        (n + 1,) increasing edges; a constant or empty sample gets a unit-wide range.
    """
    arrays = [samples] if isinstance(samples, np.ndarray) else list(samples)
    pooled = np.concatenate([np.asarray(a, np.float64).ravel() for a in arrays] or [[]])
    pooled = pooled[np.isfinite(pooled)]
    if log:
        pooled = pooled[pooled > 0]
    if pooled.size == 0:
        return np.linspace(0.0, 1.0, bins + 1)
    lo, hi = np.quantile(pooled, quantiles)
    if integer:
        lo, hi = np.floor(lo), np.ceil(hi)
        step = max(1.0, np.ceil((hi - lo + 1) / bins))
        return np.arange(lo - 0.5, hi + step + 0.5, step)
    if not hi > lo:  # a constant observable: one unit-wide range around it
        lo, hi = (lo / 2, lo * 2) if log else (lo - 0.5, hi + 0.5)
    return np.geomspace(lo, hi, bins + 1) if log else np.linspace(lo, hi, bins + 1)
