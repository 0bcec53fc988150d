"""How far the dimensionality curves of a β-scan can be trusted (talk 000; BRIEF.md).

D1(β) = −Σ_i d⟨KL_i⟩/d log β and D2(β) = d⟨d²⟩/d(β²) (:mod:`jetviz.vae.scan`) count the data
directions a β-VAE resolves at scale β only where three things hold; this module measures each
from the same examples the scan averages over:

* **Sampling noise.** D1 and D2 are derivatives of averages over N examples.
  :func:`bootstrap_bands` resamples the examples (with replacement, B times) and returns the
  16–84 % band of each curve, so a plateau can be read with its uncertainty.
* **The reconstruction floor.** A decoder that cannot reconstruct better than δ (GeV) keeps
  buying information for β < δ without getting closer to the data, so KL keeps rising and D1
  overshoots the true dimension. :func:`reconstruction_floor` is δ = the smallest mean
  reconstruction distance (z = μ) over the β grid; below it D1 no longer counts data dimensions.
* **Redundant directions.** Several active latent dimensions may encode one feature.
  :func:`independent_directions` groups active dimensions whose latent means are rank
  correlated across the examples (|Spearman ρ| ≥ ``REDUNDANT_RHO``); the number of groups is
  the number of distinct directions, the rest are copies.

Arrays: ``kl_total`` (n_beta, N) Σ_i KL_i per example (nats); ``dist2`` (n_beta, N) squared
reconstruction distance per example (GeV² for jets); ``mu`` (N, D) latent means at one β.
"""

from __future__ import annotations

import numpy as np
from scipy.signal import savgol_filter
from scipy.stats import rankdata

SMOOTH_WINDOW = 7  # grid points per local quadratic fit for the derivatives
BAND = (16.0, 84.0)  # percentiles of the bootstrap band (± 1σ for a Gaussian)
N_BOOTSTRAP = 200  # resamplings of the examples
ACTIVE_KL = 0.1  # nats: a latent dimension with ⟨KL_i⟩ above this carries information
REDUNDANT_RHO = 0.9  # |Spearman ρ| of two active dimensions' means that makes them one direction


def _derivative_log(y: np.ndarray, log_beta: np.ndarray) -> np.ndarray:
    """dy/d log β on a uniform log grid, by local quadratic fits (Savitzky–Golay)."""
    n = len(log_beta)
    step = float(log_beta[1] - log_beta[0])
    window = min(SMOOTH_WINDOW, n if n % 2 else n - 1)
    if window < 3:
        return np.gradient(y, log_beta, axis=0)
    return savgol_filter(y, window, 2, deriv=1, delta=step, axis=0, mode="interp")


def dimensionalities(log_beta: np.ndarray, kl_per_dim: np.ndarray,
                     distance2: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """D1 and D2 on a uniform grid of log β.

    Args:
        log_beta: (n,) uniformly spaced.
        kl_per_dim: (n, D) ⟨KL_i⟩ at each β.
        distance2: (n,) ⟨d²⟩ at each β.

    Returns:
        D1 (n,) = −Σ_i d⟨KL_i⟩/d log β and D2 (n,) = d⟨d²⟩/d(β²), computed as
        ⟨d²⟩/(2β²) · d log⟨d²⟩/d log β (power laws are straight lines in log–log, which
        the local quadratic fits follow exactly).
    """
    log_beta = np.asarray(log_beta, dtype=np.float64)
    if log_beta.ndim != 1 or len(log_beta) < 2 or not np.allclose(
            np.diff(log_beta), log_beta[1] - log_beta[0], rtol=1e-6, atol=1e-9):
        raise ValueError("dimensionalities needs a uniform grid of ≥ 2 log β values")
    return _d1_d2(log_beta, np.asarray(kl_per_dim, dtype=np.float64).sum(1), distance2)


def _d1_d2(log_beta: np.ndarray, kl_total: np.ndarray,
           distance2: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """D1 and D2 along axis 0 of (n, ...) arrays of total KL and ⟨d²⟩ (any trailing shape)."""
    d1 = -_derivative_log(kl_total, log_beta)
    dist2 = np.clip(np.asarray(distance2, dtype=np.float64), 1e-300, None)
    beta2 = np.exp(2 * log_beta).reshape((-1,) + (1,) * (dist2.ndim - 1))
    d2 = dist2 / (2 * beta2) * _derivative_log(np.log(dist2), log_beta)
    return d1, d2


def bootstrap_bands(log_beta: np.ndarray, kl_total: np.ndarray, dist2: np.ndarray,
                    rng: np.random.Generator, n_boot: int = N_BOOTSTRAP
                    ) -> dict[str, np.ndarray]:
    """16–84 % bootstrap bands of D1 and D2 over the examples.

    Args:
        log_beta: (n_beta,) uniform grid of log β.
        kl_total: (n_beta, N) total KL of each example at each β (nats).
        dist2: (n_beta, N) squared reconstruction distance of each example at each β.
        rng: draws the resamplings.
        n_boot: number of resamplings.

    Returns:
        ``d1_lo``, ``d1_hi``, ``d2_lo``, ``d2_hi``: (n_beta,) each.
    """
    kl_total = np.asarray(kl_total, dtype=np.float64)
    dist2 = np.asarray(dist2, dtype=np.float64)
    if kl_total.ndim != 2 or kl_total.shape != dist2.shape or kl_total.shape[0] != len(log_beta):
        raise ValueError(f"expected (n_beta, N) arrays with n_beta = {len(log_beta)}, got "
                         f"{kl_total.shape} and {dist2.shape}")
    n = kl_total.shape[1]
    # A resampling is a multinomial count per example: its means are one matrix product.
    weights = rng.multinomial(n, np.full(n, 1.0 / n), size=n_boot).T / n  # (N, B)
    d1s, d2s = _d1_d2(np.asarray(log_beta, dtype=np.float64), kl_total @ weights,
                      dist2 @ weights)  # (n_beta, B) each
    d1_lo, d1_hi = np.percentile(d1s, BAND, axis=1)
    d2_lo, d2_hi = np.percentile(d2s, BAND, axis=1)
    return {"d1_lo": d1_lo, "d1_hi": d1_hi, "d2_lo": d2_lo, "d2_hi": d2_hi}


def reconstruction_floor(distance_at_mean: np.ndarray) -> float:
    """δ: the best mean reconstruction distance (z = μ) the model reaches at any β.

    Args:
        distance_at_mean: (n_beta,) mean distance from the examples to their reconstructions
            at z = μ (GeV for jets).

    Returns:
        δ in the same units; for β < δ, D1 measures the decoder's limit, not the data.
    """
    d = np.asarray(distance_at_mean, dtype=np.float64)
    if d.size == 0 or not np.isfinite(d).any():
        raise ValueError("reconstruction_floor needs at least one finite distance")
    return float(np.nanmin(d))


def independent_directions(mu: np.ndarray, kl: np.ndarray, *, active_kl: float = ACTIVE_KL,
                           rho: float = REDUNDANT_RHO) -> list[list[int]]:
    """Active latent dimensions grouped by the direction in the data they encode.

    Two active dimensions are linked when their latent means are rank correlated across the
    examples with |Spearman ρ| ≥ ``rho`` (a monotonic function of the same feature); groups are
    the connected sets of links.

    Args:
        mu: (N, D) latent means of the examples at one β.
        kl: (D,) mean KL of each dimension at that β (nats).
        active_kl: the KL above which a dimension counts as active.
        rho: the |Spearman ρ| that links two dimensions.

    Returns:
        The groups, each a sorted list of dimension indices, largest ⟨KL⟩ group first; their
        number is the count of distinct directions, Σ (len − 1) the count of redundant copies.
    """
    mu = np.asarray(mu, dtype=np.float64)
    kl = np.asarray(kl, dtype=np.float64)
    if mu.ndim != 2 or kl.shape != (mu.shape[1],):
        raise ValueError(f"expected mu (N, D) and kl (D,), got {mu.shape} and {kl.shape}")
    active = [int(i) for i in np.flatnonzero(kl > active_kl)]
    if len(active) < 2 or mu.shape[0] < 3:
        return [[i] for i in active]
    ranks = rankdata(mu[:, active], axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        corr = np.corrcoef(ranks, rowvar=False)  # Spearman ρ = Pearson ρ of the ranks
    linked = np.abs(np.nan_to_num(corr)) >= rho
    parent = list(range(len(active)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, j in zip(*np.nonzero(np.triu(linked, 1)), strict=True):
        parent[root(int(i))] = root(int(j))
    groups: dict[int, list[int]] = {}
    for k, dim in enumerate(active):
        groups.setdefault(root(k), []).append(dim)
    return sorted((sorted(g) for g in groups.values()), key=lambda g: -kl[g].sum())


def plateau_checks(betas: np.ndarray, d1: np.ndarray, scales: dict[str, float]) -> list[dict]:
    """D1 against the true count on data of known scales (BRIEF.md: validate on such manifolds).

    The true count at β is the number of scales above β. Windows: a decade centred (in log β)
    between each pair of neighbouring scales, the half-decade [s_min/10, s_min/3] below the
    smallest scale, and [3 s_max, 30 s_max] above the largest, each clipped to the grid. Also
    the overshoot test: D1 ≤ count + 0.5 at every β ≥ s_min/3.

    Args:
        betas: (n_beta,) the scan's β grid.
        d1: (n_beta,) D1 on it.
        scales: the data's scales by name.

    Returns:
        One dict per window with ``window`` (lo, hi), ``expected`` count, ``median_d1`` (NaN
        when no grid point falls inside) and ``ok`` (|median − expected| ≤ 0.3), then one with
        ``window`` (s_min/3, β_max), ``expected`` "count + 0.5", ``max_excess`` (max of
        D1 − count there) and ``ok`` (≤ 0.5).
    """
    betas = np.asarray(betas, dtype=float)
    d1 = np.asarray(d1, dtype=float)
    s = np.sort(np.asarray(list(scales.values()), dtype=float))
    if s.size == 0:
        raise ValueError("plateau_checks needs at least one known scale")
    count = (s[None, :] > betas[:, None]).sum(1)
    windows = [(s[0] / 10, s[0] / 3, len(s))]
    for k in range(len(s) - 1):
        centre = np.sqrt(s[k] * s[k + 1])
        lo, hi = max(centre / np.sqrt(10), s[k]), min(centre * np.sqrt(10), s[k + 1])
        windows.append((lo, hi, len(s) - k - 1))
    windows.append((3 * s[-1], 30 * s[-1], 0))
    rows = []
    for lo, hi, expected in windows:
        inside = (betas >= lo) & (betas <= hi)
        median = float(np.median(d1[inside])) if inside.any() else float("nan")
        rows.append({"window": (float(lo), float(hi)), "expected": expected,
                     "median_d1": median, "ok": bool(abs(median - expected) <= 0.3)})
    above = betas >= s[0] / 3
    excess = float(np.max(d1[above] - count[above])) if above.any() else float("nan")
    rows.append({"window": (float(s[0] / 3), float(betas[-1])), "expected": "count + 0.5",
                 "max_excess": excess, "ok": bool(excess <= 0.5)})
    return rows
