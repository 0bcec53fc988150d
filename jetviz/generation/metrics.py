"""Distances between true and generated jet distributions (JetNet protocol, arXiv:2106.11535).

Vocabulary
----------
A **feature set** (:class:`FeatureSet`) holds, for N jets, the jet-level observables of
:func:`jetviz.physics.observables` (each (N,)) and the particles (N, P, 3) = (ptrel, etarel,
phirel) with their mask (N, P). True, reconstructed and generated jets all go through the
same :func:`feature_set`, computed from their particles (never from stored truth, which for
Pythia jets includes hadron masses and the particles beyond P).

Metrics:

* **W1** — the 1-D Wasserstein-1 distance between two samples of one observable,
  ``scipy.stats.wasserstein_distance``: W1(P, Q) = ∫ |F_P(x) − F_Q(x)| dx (units of the
  observable). Shifting every value of one sample by c gives W1 = |c|.
* **JetNet protocol** (:func:`w1_protocol`): draw ``n_batches`` batches of ``batch_size``
  jets from each sample (without replacement inside a batch, independently per batch),
  compute W1 per batch; report mean ± standard deviation over batches. Particle-level
  features (ptrel, etarel, phirel) use all real particles of the batch's jets.
* **Truth baseline** (:func:`truth_baseline`): the same protocol between two *disjoint* sets
  of real jets, with the same batch size — what "as good as another draw of real data"
  scores. A generator whose W1 is within the baseline's spread is indistinguishable at that
  sample size. One split's baseline depends on which jets fell in which half;
  :func:`w1_over_splits` gives medians and spreads over many splits.
* **MMD** (:func:`mmd2`): the unbiased squared maximum mean discrepancy (Gretton et al.,
  JMLR 13 (2012) 723, talk 004) with the Gaussian kernel k(x, y) = exp(−|x − y|²/(2σ²)),
  MMD² = ⟨k(x, x')⟩ + ⟨k(y, y')⟩ − 2⟨k(x, y)⟩; σ defaults to the median pairwise distance
  of the pooled sample (the median heuristic). MMD² of two samples of one distribution is
  0 in expectation (the unbiased estimate can be slightly negative).

The JetNet paper quotes W1 of the *relative* jet mass m/pT_jet (``mass_rel``): truth vs truth
for gluon jets 0.7 ± 0.2 × 10⁻³ with 5 batches of 10,000 jets.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.stats import wasserstein_distance

from jetviz.errors import JetvizInputError

JET_OBSERVABLES: tuple[str, ...] = (
    "mass", "pt", "eta", "phi", "multiplicity", "tau21", "tau32", "mass_rel")
PARTICLE_FEATURES: tuple[str, ...] = ("ptrel", "etarel", "phirel")
ALL_FEATURES: tuple[str, ...] = JET_OBSERVABLES + PARTICLE_FEATURES
UNITS: dict[str, str] = {
    "mass": "GeV", "pt": "GeV", "eta": "", "phi": "rad", "multiplicity": "particles",
    "tau21": "", "tau32": "", "mass_rel": "", "ptrel": "", "etarel": "", "phirel": "rad",
}
LABELS: dict[str, str] = {
    "mass": "jet mass", "pt": "jet pT", "eta": "jet η", "phi": "jet φ",
    "multiplicity": "multiplicity", "tau21": "τ21", "tau32": "τ32",
    "mass_rel": "relative mass m/pT", "ptrel": "particle pT_rel",
    "etarel": "particle η_rel", "phirel": "particle φ_rel",
}
JETNET_BATCHES = 5  # JetNet: 5 batches
MMD_MAX = 1000  # values per sample at most in one MMD evaluation (the kernel matrix is n²)


@dataclass(frozen=True)
class FeatureSet:
    """Observables of N jets and their particles, the input of every metric here.

    Attributes:
        jet: name → (N,) jet-level observables (keys include ``JET_OBSERVABLES``).
        particles: (N, P, 3) (ptrel, etarel, phirel).
        mask: (N, P) bool, True for real particles.
    """

    jet: dict[str, np.ndarray]
    particles: np.ndarray
    mask: np.ndarray

    def __len__(self) -> int:
        return int(self.particles.shape[0])

    def values(self, name: str, index: np.ndarray | slice = slice(None)) -> np.ndarray:
        """1-D values of ``name`` for the jets ``index``: one per jet, or per real particle."""
        if name in PARTICLE_FEATURES:
            column = PARTICLE_FEATURES.index(name)
            return self.particles[index][..., column][self.mask[index]].astype(np.float64)
        if name not in self.jet:
            raise JetvizInputError(
                f"unknown observable {name!r}; known: {sorted(self.jet) + list(PARTICLE_FEATURES)}")
        return np.asarray(self.jet[name][index], dtype=np.float64)

    def subset(self, index: np.ndarray | slice) -> FeatureSet:
        """The jets selected by ``index``."""
        return FeatureSet({k: v[index] for k, v in self.jet.items()}, self.particles[index],
                          self.mask[index])


def concatenated(sets: Sequence[FeatureSet]) -> FeatureSet:
    """The jets of several feature sets (same observables, same P) as one, in order."""
    jet = {k: np.concatenate([s.jet[k] for s in sets]) for k in sets[0].jet}
    return FeatureSet(jet, np.concatenate([s.particles for s in sets]),
                      np.concatenate([s.mask for s in sets]))


def feature_set(particles: np.ndarray, mask: np.ndarray | None, jet_pt: np.ndarray | float,
                radius: float = 0.8) -> FeatureSet:
    """Observables of jets from their particles (:func:`jetviz.physics.observables`).

    Args:
        particles: (N, P, 3) (ptrel, etarel, phirel).
        mask: (N, P) True for real particles, or None (ptrel > 0 is real).
        jet_pt: (N,) or scalar jet pT [GeV] that ptrel refers to.
        radius: jet radius R.
    """
    from jetviz.physics import observables, particle_mask

    particles = np.asarray(particles)
    if particles.ndim != 3 or particles.shape[-1] != 3:
        raise JetvizInputError(f"expected particles (N, P, 3), got shape {particles.shape}")
    if len(particles) == 0:
        raise JetvizInputError("no jets: a feature set needs at least one jet")
    mask = particle_mask(particles, mask)
    obs = observables(particles, mask, jet_pt, radius)
    return FeatureSet({k: np.asarray(v) for k, v in obs.items()}, particles, mask)


def w1(a: np.ndarray, b: np.ndarray) -> float:
    """Wasserstein-1 distance between two 1-D samples (scipy), in the samples' units."""
    a, b = np.asarray(a, dtype=np.float64).ravel(), np.asarray(b, dtype=np.float64).ravel()
    if a.size == 0 or b.size == 0:
        raise JetvizInputError(f"W1 needs two non-empty samples, got sizes {a.size} and {b.size}")
    if not (np.isfinite(a).all() and np.isfinite(b).all()):
        raise JetvizInputError("W1 needs finite values; found NaN or inf in a sample")
    return float(wasserstein_distance(a, b))


def median_bandwidth(x: np.ndarray, y: np.ndarray, max_points: int = MMD_MAX) -> float:
    """Median pairwise Euclidean distance of the pooled sample (the median heuristic)."""
    pooled = np.concatenate([_as_2d(x), _as_2d(y)])[: 2 * max_points]
    d = np.sqrt(_sq_dists(pooled, pooled))
    off = d[np.triu_indices(len(pooled), k=1)]
    positive = off[off > 0]
    return float(np.median(positive)) if positive.size else 1.0


def _as_2d(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    return x[:, None] if x.ndim == 1 else x


def _sq_dists(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    d2 = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2 * a @ b.T
    return np.maximum(d2, 0.0)  # rounding can make tiny distances negative


def mmd2(x: np.ndarray, y: np.ndarray, bandwidth: float | None = None) -> float:
    """Unbiased MMD² with the Gaussian kernel exp(−|x − y|²/(2σ²)).

    Args:
        x: (n,) or (n, d) sample, n ≥ 2.
        y: (m,) or (m, d) sample, m ≥ 2.
        bandwidth: σ in the samples' units; None: the median heuristic
            (:func:`median_bandwidth`).

    Returns:
        MMD² (dimensionless; ≈ 0 for samples of one distribution, up to 2).
    """
    x, y = _as_2d(x), _as_2d(y)
    if len(x) < 2 or len(y) < 2 or x.shape[1] != y.shape[1]:
        raise JetvizInputError(
            f"MMD needs two samples of ≥ 2 points with the same dimension, got {x.shape} "
            f"and {y.shape}")
    sigma = median_bandwidth(x, y) if bandwidth is None else float(bandwidth)
    if not sigma > 0:
        raise JetvizInputError(f"MMD bandwidth must be > 0, got {sigma}")
    g = -0.5 / sigma**2
    kxx, kyy, kxy = (np.exp(g * _sq_dists(a, b)) for a, b in ((x, x), (y, y), (x, y)))
    n, m = len(x), len(y)
    term_x = (kxx.sum() - np.trace(kxx)) / (n * (n - 1))
    term_y = (kyy.sum() - np.trace(kyy)) / (m * (m - 1))
    return float(term_x + term_y - 2 * kxy.mean())


@dataclass(frozen=True)
class Score:
    """A metric over batches: mean, standard deviation and the per-batch values."""

    mean: float
    std: float
    values: tuple[float, ...]

    @classmethod
    def of(cls, values: Sequence[float]) -> Score:
        arr = np.asarray(values, dtype=np.float64)
        return cls(float(arr.mean()), float(arr.std()), tuple(float(v) for v in arr))


def _check_batches(n_a: int, n_b: int, n_batches: int, batch_size: int) -> None:
    if n_batches < 1:
        raise JetvizInputError(f"need at least one batch, got n_batches={n_batches}")
    if batch_size < 2:
        raise JetvizInputError(f"batch_size must be ≥ 2, got {batch_size}")
    if batch_size > min(n_a, n_b):
        raise JetvizInputError(
            f"batch_size {batch_size} is larger than a sample ({n_a} and {n_b} jets); "
            f"use batch_size ≤ {min(n_a, n_b)} or more jets")


def w1_protocol(real: FeatureSet, gen: FeatureSet, names: Sequence[str] = ALL_FEATURES, *,
                n_batches: int = JETNET_BATCHES, batch_size: int | None = None,
                rng: np.random.Generator, with_mmd: bool = False,
                ) -> dict[str, dict[str, Score]]:
    """W1 (and optionally MMD²) per observable over batches, the JetNet way.

    Args:
        real: true jets (the reference).
        gen: generated (or other real) jets.
        names: observables to score (keys of ``real.jet`` or ``PARTICLE_FEATURES``).
        n_batches: number of batches (JetNet: 5).
        batch_size: jets per batch from each sample (None: the smaller sample size).
        rng: draws the batches.
        with_mmd: also MMD² per batch (Gaussian kernel, median-heuristic σ fixed per
            observable on the first batch, at most ``MMD_MAX`` values per sample).

    Returns:
        {name: {"w1": Score, "mmd2": Score (if with_mmd)}}.
    """
    size = min(len(real), len(gen)) if batch_size is None else int(batch_size)
    _check_batches(len(real), len(gen), n_batches, size)
    w1s: dict[str, list[float]] = {n: [] for n in names}
    mmds: dict[str, list[float]] = {n: [] for n in names}
    sigmas: dict[str, float] = {}
    for _ in range(n_batches):
        ir = rng.choice(len(real), size, replace=False)
        ig = rng.choice(len(gen), size, replace=False)
        for name in names:
            a, b = real.values(name, ir), gen.values(name, ig)
            w1s[name].append(w1(a, b))
            if with_mmd:
                a_s = a if a.size <= MMD_MAX else rng.choice(a, MMD_MAX, replace=False)
                b_s = b if b.size <= MMD_MAX else rng.choice(b, MMD_MAX, replace=False)
                if name not in sigmas:
                    sigmas[name] = median_bandwidth(a_s, b_s)
                mmds[name].append(mmd2(a_s, b_s, sigmas[name]))
    out: dict[str, dict[str, Score]] = {}
    for name in names:
        out[name] = {"w1": Score.of(w1s[name])}
        if with_mmd:
            out[name]["mmd2"] = Score.of(mmds[name])
    return out


def split_real(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Two disjoint halves (sorted index arrays) of n real jets: reference and baseline."""
    if n < 4:
        raise JetvizInputError(f"need ≥ 4 real jets to split into reference and baseline, got {n}")
    perm = rng.permutation(n)
    return np.sort(perm[: n // 2]), np.sort(perm[n // 2:])


def truth_baseline(reference: FeatureSet, other: FeatureSet,
                   names: Sequence[str] = ALL_FEATURES, *, n_batches: int = JETNET_BATCHES,
                   batch_size: int, rng: np.random.Generator, with_mmd: bool = False,
                   ) -> dict[str, dict[str, Score]]:
    """Truth vs truth: :func:`w1_protocol` between two disjoint sets of real jets.

    Use the same ``batch_size`` as for the generator it is compared with: W1 between finite
    samples shrinks with the sample size, so only equal sizes compare.
    """
    return w1_protocol(reference, other, names, n_batches=n_batches, batch_size=batch_size,
                       rng=rng, with_mmd=with_mmd)


@dataclass(frozen=True)
class SplitW1:
    """One observable's JetNet-protocol W1 over several random splits of the real jets.

    Attributes:
        median: median over splits of the protocol's mean W1.
        low, high: its 16th and 84th percentiles over the splits (the spread).
        values: the per-split mean W1s.
    """

    median: float
    low: float
    high: float
    values: tuple[float, ...]


def random_splits(n: int, n_splits: int, rng: np.random.Generator
                  ) -> list[tuple[np.ndarray, np.ndarray]]:
    """``n_splits`` independent random halvings (:func:`split_real`) of n real jets."""
    if n_splits < 1:
        raise JetvizInputError(f"need at least one split, got n_splits={n_splits}")
    return [split_real(n, rng) for _ in range(n_splits)]


def w1_over_splits(real: FeatureSet, splits: Sequence[tuple[np.ndarray, np.ndarray]],
                   names: Sequence[str], *, batch_size: int, rng: np.random.Generator,
                   generated: FeatureSet | None = None,
                   n_batches: int = JETNET_BATCHES) -> dict[str, SplitW1]:
    """W1 over random splits of the real jets: truth vs truth, or generated vs truth.

    One split's truth-vs-truth W1 (:func:`truth_baseline` between its two halves) depends on
    which jets fell in which half, by tens of per cent at a few thousand jets; so does a
    generator's W1 against one half. Scored over many splits (:func:`random_splits`), their
    medians do not.

    Args:
        real: every real jet of the class.
        splits: (first half, second half) index pairs into ``real``.
        names: observables to score.
        batch_size: jets per batch from each sample (≤ half of ``real``).
        rng: draws the batches.
        generated: None: score each split's first half against its second (truth vs truth);
            else score the first half against these jets.
        n_batches: batches per split (JetNet: 5).

    Returns:
        name → :class:`SplitW1`.
    """
    per_split: dict[str, list[float]] = {n: [] for n in names}
    for first, second in splits:
        other = real.subset(second) if generated is None else generated
        scores = w1_protocol(real.subset(first), other, names, n_batches=n_batches,
                             batch_size=batch_size, rng=rng)
        for name in names:
            per_split[name].append(scores[name]["w1"].mean)
    out = {}
    for name, values in per_split.items():
        low, median, high = np.percentile(values, [16, 50, 84])
        out[name] = SplitW1(float(median), float(low), float(high),
                            tuple(float(v) for v in values))
    return out


FRAME_DIRECTIONS = ("eta", "phi")  # the jet axis: the VAE frame centres every jet on it
FRAME_SPREAD = 1e-2  # a true jet-axis spread below this [rad] is the frame's, not physics'


def fixed_by_frame(reference: FeatureSet) -> dict[str, str]:
    """Observables the preprocessing fixes for true jets, with the reason.

    In the VAE frame every jet is centred on its pT centroid, so the true jet η and φ sit at
    0 (up to a second-order mass term), and a file whose jets all keep their P hardest
    particles has one multiplicity. A W1 against such a spike measures how well a generator
    reproduces the frame, not the physics; the page shows these observables but does not
    judge them.

    Args:
        reference: the true jets in the frame.

    Returns:
        name → one sentence on why it is fixed (empty when nothing is).
    """
    fixed = {}
    for name in FRAME_DIRECTIONS:
        spread = float(np.std(reference.values(name))) if len(reference.particles) else 0.0
        if spread < FRAME_SPREAD:
            fixed[name] = (f"fixed by the frame: every jet is centred on its pT centroid "
                           f"(true {LABELS[name]} spread {spread:.1g})")
    counts = reference.values("multiplicity")
    if counts.size and np.ptp(counts) == 0:
        fixed["multiplicity"] = (f"fixed by the input: every true jet keeps its "
                                 f"{int(counts[0])} hardest particles")
    return fixed
