"""How good an unfolding is: calibration of per-event posteriors, W1 of unfolded marginals.

Calibration. For each event the probability integral transform of the truth under its
posterior, PIT = P(x < x_true | y) (the fraction of posterior samples below the true
value), is uniform on [0, 1] when the posteriors are calibrated. Then the coverage
c(q) = fraction of events whose truth lies below the posterior's q-quantile = P(PIT ≤ q)
equals q for every q; ``calibration_error`` is max_q |c(q) − q|.

Distances. W1 between two distributions on the same bins is Σ_b |F_a(b) − F_b(b)| Δ_b
(F the cumulative fractions); every unfolded histogram, a pooled set of posterior samples,
and the truth are put on the same edges so the numbers compare like with like. The
statistical floor is the W1 between two independent truth samples of the same size.
"""

from __future__ import annotations

import numpy as np

from jetviz.errors import JetvizInputError
from jetviz.unfolding.ibu import histogram

QUANTILES = np.round(np.arange(0.1, 0.91, 0.1), 2)  # the q = 0.1 … 0.9
# Fixed binning per observable (GeV or rad): the range the page and the benchmark compare on
EDGES = {
    "m_ll": np.linspace(70.0, 110.0, 41),
    "m_jj": np.linspace(50.0, 110.0, 41),
    "pt_j1": np.linspace(0.0, 300.0, 41),
    "pt_l1": np.linspace(0.0, 300.0, 41),
    "dphi_jj": np.linspace(0.0, np.pi, 41),
}


def pit_values(samples: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """PIT of each truth value under its posterior samples.

    Args:
        samples: (S, N) posterior samples of one observable for N events.
        truth: (N,) true values.
    """
    if samples.ndim != 2 or samples.shape[1] != len(truth):
        raise JetvizInputError(f"expected samples (S, {len(truth)}), got {samples.shape}")
    return (samples < truth[None, :]).mean(axis=0)


def coverage(pit: np.ndarray, quantiles: np.ndarray = QUANTILES) -> np.ndarray:
    """c(q) = fraction of events whose truth lies below the posterior's q-quantile."""
    return (np.asarray(pit)[None, :] <= np.asarray(quantiles)[:, None]).mean(axis=1)


def calibration_error(pit: np.ndarray, quantiles: np.ndarray = QUANTILES) -> float:
    """max over q of |c(q) − q|."""
    return float(np.max(np.abs(coverage(pit, quantiles) - quantiles)))


def w1_hist(a: np.ndarray, b: np.ndarray, edges: np.ndarray) -> float:
    """W1 between two histograms (counts) on ``edges``."""
    fa, fb = np.cumsum(a) / max(a.sum(), 1e-300), np.cumsum(b) / max(b.sum(), 1e-300)
    return float(np.sum(np.abs(fa - fb)[:-1] * np.diff(edges)[:-1]))


def w1_binned(a: np.ndarray, b: np.ndarray, edges: np.ndarray) -> float:
    """W1 between two samples after binning both on ``edges``."""
    return w1_hist(histogram(a, edges), histogram(b, edges), edges)
