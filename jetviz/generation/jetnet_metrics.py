"""The JetNet evaluation protocol as it stands now (Kansal et al., arXiv:2211.10295, jetnet 0.2.5).

Vocabulary
----------
* **features** of N jets for FPD and KPD: their 36 energy-flow polynomials of degree ≤ 4
  (:func:`fpd_kpd_features`; ``jetnet.evaluation.get_fpd_kpd_jet_features``), an (N, 36)
  array. Before either metric each feature is divided by its largest |value| in the *real*
  sample, and the generated sample by the same numbers (jetnet's ``normalise=True``).
* **FPD** (Fréchet physics distance, :func:`fpd`): the Fréchet distance between Gaussians
  fitted to the two feature samples, ‖μ₁ − μ₂‖² + Tr(Σ₁ + Σ₂ − 2(Σ₁Σ₂)^{1/2}), measured on
  ``num_batches`` = 20 random batches (drawn with replacement) at each of ``num_points`` = 10
  batch sizes N evenly spaced in 1/N between 20,000 and 50,000 jets; the batch means are fitted
  by a + b/N (a, b ≥ 0) and FPD = a, the N → ∞ value, ± its fit error. Reported × 10³.
* **KPD** (kernel physics distance, :func:`kpd`): the unbiased MMD² with the polynomial kernel
  k(x, y) = (x·y/d + 1)⁴ (d = 36 features; jetnet 0.2.5 uses degree 4), on 10 batches of
  5,000 jets from each sample (with replacement, batch i seeded ``seed + 1000 i``); the
  median over batches ± half the 16–84 % interquantile range. Reported × 10⁶.
* **W1M, W1P, W1EFP** (:func:`w1m`, :func:`w1p`, :func:`w1efp`): the 1-D Wasserstein
  distance (as ``scipy.stats.wasserstein_distance``) of the relative jet mass m/pT, of the
  particle (η_rel, φ_rel, pT_rel) — averaged over the three — and of the 5 prime EFPs with 4
  vertices and 4 edges — averaged over the five; 5 batches of 50,000 jets drawn with
  replacement, mean ± std over batches. Reported × 10³, × 10³ and × 10⁵.

Every default above is jetnet 0.2.5's, and so are the random draws for a seed. A batch drawn
with replacement enters every statistic as the distinct jets weighted by how often each was
drawn — the same sums as over the repeated rows, 10× fewer of them for 50,000 draws from 5,000
jets. ``benchmarks/jetnet_metrics.py`` runs jetnet's own ``fpd``, ``kpd``, ``w1p`` and the
``w1efp`` loop on the same inputs and prints both. The protocol recommends ≥ 50,000 jets
per sample (``RECOMMENDED_JETS``): smaller samples are resampled up to the batch sizes, so
FPD then measures the distance between the two finite samples and does not reach 0 even for
two draws of real data — the truth-vs-truth row shows how far.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import curve_fit
from scipy.stats import iqr
from threadpoolctl import threadpool_limits

from jetviz.errors import JetvizInputError
from jetviz.generation.efps import efp_graphs, efps, prime_graphs
from jetviz.generation.metrics import FeatureSet

RECOMMENDED_JETS = 50_000  # jets per sample the protocol asks for (jetnet warns below)
FPD_KPD_DEGREE = 4  # EFPs of degree ≤ 4: 36 features
W1EFP_GRAPHS = prime_graphs(4, 4)  # jetnet's W1-EFP set: n = 4, d = 4, prime (5 EFPs)
SCALES = {"fpd": 1e3, "kpd": 1e6, "w1m": 1e3, "w1p": 1e3, "w1efp": 1e5}  # as reported
NAMES = {"fpd": "FPD", "kpd": "KPD", "w1m": "W1M", "w1p": "W1P", "w1efp": "W1EFP"}
SEED = 42  # jetnet's default seed
KERNEL_BLOCK = 500  # rows of a kernel matrix held at once in KPD (40 MB at 10,000 columns)
BLAS_THREADS = 1  # the matrices here are small: one BLAS thread is faster than OpenBLAS's
# threads on a busy machine (benchmarks/jetnet_metrics.py prints both)


@dataclass(frozen=True)
class Estimate:
    """A metric and its uncertainty (FPD: fit error; KPD: half the 16–84 % range; W1: std)."""

    value: float
    error: float

    def scaled(self, factor: float) -> str:
        """"value ± error" after multiplying both by ``factor`` (the reported units)."""
        return f"{_number(self.value * factor, 3)} ± {_number(self.error * factor, 2)}"


def _number(x: float, digits: int) -> str:
    """``digits`` significant digits, but whole numbers from 10^digits on (1,134, not
    1.13e+03)."""
    return f"{x:,.0f}" if abs(x) >= 10**digits - 0.5 else f"{x:.{digits}g}"


def jet_efps(features: FeatureSet) -> np.ndarray:
    """(N, 36) EFPs of degree ≤ 4 of the jets of ``features``, in the order of
    :func:`~jetviz.generation.efps.efp_graphs`; the W1-EFP set is among them."""
    return efps(features.particles, features.mask, efp_graphs(FPD_KPD_DEGREE))


def fpd_kpd_features(all_efps: np.ndarray) -> np.ndarray:
    """The FPD/KPD features: all 36 EFPs of degree ≤ 4 from :func:`jet_efps`."""
    expected = len(efp_graphs(FPD_KPD_DEGREE))
    if all_efps.ndim != 2 or all_efps.shape[1] != expected:
        raise JetvizInputError(f"expected (N, {expected}) EFPs from jet_efps, got "
                               f"{all_efps.shape}")
    return all_efps


def w1efp_features(all_efps: np.ndarray) -> np.ndarray:
    """The 5 W1-EFP features (prime, n = d = 4) from :func:`jet_efps`."""
    graphs = efp_graphs(FPD_KPD_DEGREE)
    return fpd_kpd_features(all_efps)[:, [graphs.index((g,)) for g in W1EFP_GRAPHS]]


def _two_samples(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if x.ndim != 2 or y.ndim != 2 or x.shape[1] != y.shape[1]:
        raise JetvizInputError(f"need two (N, d) feature arrays with the same d, got {x.shape} "
                               f"and {y.shape}")
    if len(x) < 2 or len(y) < 2:
        raise JetvizInputError(f"need ≥ 2 jets per sample, got {len(x)} and {len(y)}")
    if not (np.isfinite(x).all() and np.isfinite(y).all()):
        raise JetvizInputError("features must be finite; found NaN or inf")
    return x, y


def normalise(real: np.ndarray, gen: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Both samples divided by the real sample's largest |value| per feature (a feature that
    is 0 throughout stays as it is), as jetnet's ``_normalise_features``."""
    maxes = np.max(np.abs(real), axis=0)
    maxes[maxes == 0] = 1.0
    return real / maxes, gen / maxes


def frechet_distance(mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray,
                     sigma2: np.ndarray) -> float:
    """‖μ₁ − μ₂‖² + Tr Σ₁ + Tr Σ₂ − 2 Tr (Σ₁Σ₂)^{1/2} between N(μ₁, Σ₁) and N(μ₂, Σ₂).

    Tr (Σ₁Σ₂)^{1/2} is computed as Σ √λ over the eigenvalues λ of Σ₁^{1/2} Σ₂ Σ₁^{1/2}
    (similar to Σ₁Σ₂, symmetric and ≥ 0), so a singular covariance — a feature constant
    in both samples — needs no regulator.
    """
    diff = np.atleast_1d(mu1) - np.atleast_1d(mu2)
    s1, s2 = np.atleast_2d(sigma1), np.atleast_2d(sigma2)
    w, v = np.linalg.eigh(s1)
    root = (v * np.sqrt(np.clip(w, 0.0, None))) @ v.T
    inner = root @ s2 @ root
    lam = np.linalg.eigvalsh(0.5 * (inner + inner.T))
    tr_covmean = float(np.sqrt(np.clip(lam, 0.0, None)).sum())
    return float(diff @ diff + np.trace(s1) + np.trace(s2) - 2.0 * tr_covmean)


def _linear(x, intercept, slope):
    return intercept + slope * x


def _drawn(n: int, size: int, rng: np.random.Generator) -> np.ndarray:
    """(n,) how often each of n jets is drawn in ``size`` draws with replacement
    (``rng.choice(n, size)``, as jetnet draws). Every statistic here is a weighted sum over
    distinct jets, so a batch of 50,000 draws from 5,000 jets costs 5,000 rows."""
    return np.bincount(rng.choice(n, size=size), minlength=n)


def _distinct(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The drawn jets and their counts (float)."""
    index = np.flatnonzero(counts)
    return index, counts[index].astype(np.float64)


def _mean_cov(x: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and covariance (ddof = 1, as ``np.cov``) of the rows of x repeated ``counts``
    times."""
    n = counts.sum()
    mu = counts @ x / n
    centred = x - mu
    return mu, (centred.T * counts) @ centred / (n - 1)


def fpd(real: np.ndarray, gen: np.ndarray, *, min_samples: int = 20_000,
        max_samples: int = 50_000, num_batches: int = 20, num_points: int = 10,
        normalise_features: bool = True, seed: int = SEED) -> Estimate:
    """Fréchet physics distance, N → ∞ extrapolated (jetnet 0.2.5 ``fpd``, same defaults and
    the same random draws for the same seed).

    Args:
        real: (N, d) features of real jets (:func:`fpd_kpd_features`).
        gen: (M, d) features of generated jets.
        min_samples, max_samples: smallest and largest batch size.
        num_batches: batches per batch size.
        num_points: batch sizes, evenly spaced in 1/N.
        normalise_features: divide by the real sample's max |value| per feature first.
        seed: seeds the batch draws.

    Returns:
        FPD (unscaled; reported × 10³) ± the fit error of the intercept.
    """
    x, y = _two_samples(real, gen)
    if normalise_features:
        x, y = normalise(x, y)
    if not 2 <= min_samples <= max_samples or num_batches < 1 or num_points < 2:
        raise JetvizInputError(
            f"need 2 ≤ min_samples ≤ max_samples, num_batches ≥ 1, num_points ≥ 2; got "
            f"{min_samples}, {max_samples}, {num_batches}, {num_points}")
    sizes = (1 / np.linspace(1.0 / min_samples, 1.0 / max_samples, num_points)).astype("int32")
    rng = np.random.default_rng(seed)
    with threadpool_limits(BLAS_THREADS, user_api="blas"):
        means = [_fpd_at(x, y, size, num_batches, rng) for size in sizes]
    params, cov = curve_fit(_linear, 1 / sizes, means, bounds=([0, 0], [np.inf, np.inf]))
    return Estimate(float(params[0]), float(np.sqrt(cov[0, 0])))


def _fpd_at(x: np.ndarray, y: np.ndarray, size: int, num_batches: int,
            rng: np.random.Generator) -> float:
    """The mean Fréchet distance over ``num_batches`` batches of ``size`` jets."""
    values = []
    for _ in range(num_batches):
        ia, ca = _distinct(_drawn(len(x), size, rng))
        ib, cb = _distinct(_drawn(len(y), size, rng))
        values.append(frechet_distance(*_mean_cov(x[ia], ca), *_mean_cov(y[ib], cb)))
    return float(np.mean(values))


def _kernel_sums(a: np.ndarray, wa: np.ndarray, b: np.ndarray, wb: np.ndarray,
                 degree: int) -> np.ndarray:
    """(B,) Σ_ij wa_ik wb_jk (a_i·b_j/d + 1)^degree for each weight column k, a block of
    rows at a time (a 5,000² matrix is 200 MB); the power by repeated products (``**`` on
    floats is 3× slower)."""
    gamma = 1.0 / a.shape[1]
    total = np.zeros(wa.shape[1])
    for start in range(0, len(a), KERNEL_BLOCK):
        base = (a[start:start + KERNEL_BLOCK] @ b.T) * gamma + 1.0
        block = base
        for _ in range(degree - 1):
            block = block * base
        total += ((block @ wb) * wa[start:start + KERNEL_BLOCK]).sum(0)
    return total


def _mmd2_columns(x: np.ndarray, cx: np.ndarray, y: np.ndarray, cy: np.ndarray,
                  degree: int) -> np.ndarray:
    """(B,) unbiased polynomial-kernel MMD² for each column k of the counts (n, B), (m, B):
    the samples "row i of x repeated cx_ik times" and the same for y. The pairs i ≠ j of a
    sample are all pairs less the c_i self-pairs."""
    d = x.shape[1]
    n, m = cx.sum(0), cy.sum(0)
    self_x = cx.T @ (((x * x).sum(1) / d + 1.0) ** degree)
    self_y = cy.T @ (((y * y).sum(1) / d + 1.0) ** degree)
    kxx = (_kernel_sums(x, cx, x, cx, degree) - self_x) / (n * (n - 1))
    kyy = (_kernel_sums(y, cy, y, cy, degree) - self_y) / (m * (m - 1))
    return kxx + kyy - 2.0 * _kernel_sums(x, cx, y, cy, degree) / (n * m)


def mmd2_polynomial(x: np.ndarray, y: np.ndarray, degree: int = 4) -> float:
    """Unbiased MMD² with the kernel k(x, y) = (x·y/d + 1)^degree (d features):
    Σ_{i≠j} k(x_i, x_j)/(n(n−1)) + Σ_{i≠j} k(y_i, y_j)/(m(m−1)) − 2 Σ_ij k(x_i, y_j)/(nm)."""
    x, y = _two_samples(x, y)
    return float(_mmd2_columns(x, np.ones((len(x), 1)), y, np.ones((len(y), 1)), degree)[0])


def kpd(real: np.ndarray, gen: np.ndarray, *, num_batches: int = 10, batch_size: int = 5_000,
        normalise_features: bool = True, seed: int = SEED, degree: int = 4) -> Estimate:
    """Kernel physics distance (jetnet 0.2.5 ``kpd``: same defaults, same draws per seed).

    The kernel sums run either once over the drawn jets with every batch's counts as a
    column, or batch by batch over that batch's jets, whichever touches fewer kernel entries
    (the first for two 5,000-jet samples, the second for a 50,000-jet one).

    Args:
        real: (N, d) features of real jets (:func:`fpd_kpd_features`).
        gen: (M, d) features of generated jets.
        num_batches: batches; batch i is drawn with ``default_rng(seed + 1000 i)``.
        batch_size: jets per batch from each sample (with replacement).
        normalise_features: divide by the real sample's max |value| per feature first.
        seed: seeds the batch draws.
        degree: the polynomial kernel's degree (jetnet: 4).

    Returns:
        The median MMD² over batches (unscaled; reported × 10⁶) ± half the 16.275–83.725 %
        interquantile range.
    """
    x, y = _two_samples(real, gen)
    if normalise_features:
        x, y = normalise(x, y)
    if num_batches < 1 or batch_size < 2 or degree < 1:
        raise JetvizInputError(f"need num_batches ≥ 1, batch_size ≥ 2 and degree ≥ 1, got "
                               f"{num_batches}, {batch_size} and {degree}")
    cx, cy = np.empty((len(x), num_batches)), np.empty((len(y), num_batches))
    for i in range(num_batches):
        rng = np.random.default_rng(seed + i * 1000)
        cx[:, i] = _drawn(len(x), batch_size, rng)
        cy[:, i] = _drawn(len(y), batch_size, rng)
    rx, ry = cx.any(1), cy.any(1)
    ux, uy = (cx > 0).sum(0), (cy > 0).sum(0)
    pooled = rx.sum() ** 2 + ry.sum() ** 2 + rx.sum() * ry.sum()
    with threadpool_limits(BLAS_THREADS, user_api="blas"):
        if pooled <= (ux**2 + uy**2 + ux * uy).sum():
            values = _mmd2_columns(x[rx], cx[rx], y[ry], cy[ry], degree)
        else:
            values = [_mmd2_columns(x[cx[:, k] > 0], cx[cx[:, k] > 0, k:k + 1],
                                    y[cy[:, k] > 0], cy[cy[:, k] > 0, k:k + 1], degree)[0]
                      for k in range(num_batches)]
    return Estimate(float(np.median(values)), float(iqr(values, rng=(16.275, 83.725)) / 2))


class _WeightedW1:
    """W1 between two fixed 1-D value sets under weights that change from batch to batch:
    the pooled values are sorted once, then W1 = Σ_k |F_a(x_k) − F_b(x_k)| (x_{k+1} − x_k)
    over the pooled sorted values x_k, with F the weighted empirical CDFs — what
    ``scipy.stats.wasserstein_distance`` computes, without re-sorting per batch."""

    def __init__(self, a: np.ndarray, b: np.ndarray):
        pooled = np.concatenate([a, b])
        if not np.isfinite(pooled).all():
            raise JetvizInputError("W1 needs finite values; found NaN or inf in a sample")
        self.order = np.argsort(pooled, kind="stable")
        self.widths = np.diff(pooled[self.order])

    def __call__(self, wa: np.ndarray, wb: np.ndarray) -> float:
        w = np.concatenate([wa / wa.sum(), -wb / wb.sum()])[self.order]
        return float(np.abs(np.cumsum(w)[:-1]) @ self.widths)


def _w1_batches(a: np.ndarray, b: np.ndarray, per_jet_a: np.ndarray, per_jet_b: np.ndarray,
                *, num_eval_samples: int, num_batches: int, rng: np.random.Generator
                ) -> np.ndarray:
    """(num_batches, k) W1 of k features over batches of ``num_eval_samples`` jets drawn with
    replacement from each sample (jetnet's draws).

    Args:
        a, b: (n_values, k) values; several may belong to one jet (particles).
        per_jet_a, per_jet_b: (n_jets,) how many values each jet has, in the order of a, b.
    """
    if a.shape[1] != b.shape[1] or a.size == 0 or b.size == 0:
        raise JetvizInputError(f"W1 needs two non-empty samples of the same features, got "
                               f"{a.shape} and {b.shape}")
    dists = [_WeightedW1(a[:, k], b[:, k]) for k in range(a.shape[1])]
    out = []
    for _ in range(num_batches):
        wa = np.repeat(_drawn(len(per_jet_a), num_eval_samples, rng), per_jet_a)
        wb = np.repeat(_drawn(len(per_jet_b), num_eval_samples, rng), per_jet_b)
        out.append([dist(wa, wb) for dist in dists])
    return np.asarray(out)


def _estimate(w1s: np.ndarray) -> Estimate:
    """Mean over features of the per-feature mean ± std over batches."""
    return Estimate(float(w1s.mean(0).mean()), float(w1s.std(0).mean()))


def w1m(real: FeatureSet, gen: FeatureSet, *, num_eval_samples: int = 50_000,
        num_batches: int = 5, seed: int = SEED) -> Estimate:
    """W1 of the relative jet mass m/pT (reported × 10³), jetnet's ``w1m``."""
    one = np.ones(len(real), dtype=np.int64), np.ones(len(gen), dtype=np.int64)
    return _estimate(_w1_batches(
        real.values("mass_rel")[:, None], gen.values("mass_rel")[:, None], *one,
        num_eval_samples=num_eval_samples, num_batches=num_batches,
        rng=np.random.default_rng(seed)))


def w1p(real: FeatureSet, gen: FeatureSet, *, num_eval_samples: int = 50_000,
        num_batches: int = 5, seed: int = SEED) -> Estimate:
    """W1 of the particle pT_rel, η_rel and φ_rel over the real particles of the batch's jets,
    averaged over the three (reported × 10³), jetnet's ``w1p``."""
    return _estimate(_w1_batches(
        real.particles[real.mask], gen.particles[gen.mask], real.mask.sum(1), gen.mask.sum(1),
        num_eval_samples=num_eval_samples, num_batches=num_batches,
        rng=np.random.default_rng(seed)))


def w1efp(real_efps: np.ndarray, gen_efps: np.ndarray, *, num_eval_samples: int = 50_000,
          num_batches: int = 5, seed: int = SEED) -> Estimate:
    """W1 of the 5 prime EFPs with n = d = 4 (from :func:`jet_efps`), averaged over them
    (reported × 10⁵), jetnet's ``w1efp``."""
    a, b = w1efp_features(real_efps), w1efp_features(gen_efps)
    return _estimate(_w1_batches(
        a, b, np.ones(len(a), dtype=np.int64), np.ones(len(b), dtype=np.int64),
        num_eval_samples=num_eval_samples, num_batches=num_batches,
        rng=np.random.default_rng(seed)))


@dataclass(frozen=True)
class JetNetScores:
    """FPD, KPD, W1M, W1P, W1EFP between real and other jets, with both sample sizes."""

    fpd: Estimate
    kpd: Estimate
    w1m: Estimate
    w1p: Estimate
    w1efp: Estimate
    n_real: int
    n_other: int

    def below_recommended(self) -> bool:
        """A sample smaller than the protocol's ``RECOMMENDED_JETS``."""
        return min(self.n_real, self.n_other) < RECOMMENDED_JETS


def jetnet_scores(real: FeatureSet, real_efps: np.ndarray, other: FeatureSet,
                  other_efps: np.ndarray, seed: int = SEED) -> JetNetScores:
    """Every metric of the protocol, jetnet's defaults, real vs ``other`` jets."""
    f_real, f_other = fpd_kpd_features(real_efps), fpd_kpd_features(other_efps)
    return JetNetScores(
        fpd=fpd(f_real, f_other, seed=seed), kpd=kpd(f_real, f_other, seed=seed),
        w1m=w1m(real, other, seed=seed), w1p=w1p(real, other, seed=seed),
        w1efp=w1efp(real_efps, other_efps, seed=seed), n_real=len(real), n_other=len(other))
