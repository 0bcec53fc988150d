"""KDE accuracy of a theory-map encoder (as in talk 003).

A Gaussian kernel density estimate per theory on the training embeddings (P_t, D) assigns each
held-out set to the theory of highest density (equal priors). The bandwidth of each theory's
KDE is Scott's rule in D dimensions, ``h = σ̄ n^(−1/(D+4))`` with σ̄² the mean per-dimension
variance of that theory's training embeddings.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from scipy.stats import spearmanr
from sklearn.neighbors import KernelDensity

from jetviz.events import Theory
from jetviz.theorymap.model import SetEncoder, encode
from jetviz.theorymap.sets import TheoryData, disjoint_sets, random_sets


def scott_bandwidth(z: np.ndarray) -> float:
    """Scott's rule for an isotropic Gaussian kernel: σ̄ n^(−1/(D+4))."""
    n, d = z.shape
    sigma = math.sqrt(float(z.var(axis=0).mean()))
    return max(sigma, 1e-6) * n ** (-1.0 / (d + 4))


def kde_log_densities(train_z: Sequence[np.ndarray], points: np.ndarray) -> np.ndarray:
    """(P, T) log density of each point under each theory's KDE (Scott bandwidth)."""
    out = np.empty((len(points), len(train_z)))
    for t, z in enumerate(train_z):
        kde = KernelDensity(kernel="gaussian", bandwidth=scott_bandwidth(z)).fit(z)
        out[:, t] = kde.score_samples(points)
    return out


def kde_assign(train_z: Sequence[np.ndarray], points: np.ndarray) -> np.ndarray:
    """(P,) index of the densest theory for each point (equal priors)."""
    return kde_log_densities(train_z, points).argmax(axis=1)


def kde_accuracy(train_z: Sequence[np.ndarray], points: np.ndarray,
                 labels: np.ndarray) -> float:
    """Fraction of points assigned to their own theory by the per-theory KDEs."""
    return float(np.mean(kde_assign(train_z, points) == labels))


def evaluate(model: SetEncoder, data: TheoryData, set_size: int, seed: int = 0,
             kde_sets: int = 1000) -> dict:
    """KDE accuracy of one encoder on held-out sets.

    The KDEs are fitted on ``kde_sets`` random training sets per theory; the test points are
    disjoint sets of the held-out events (each held-out event in at most one set).

    Returns:
        accuracy, per-theory accuracy, confusion matrix (true × assigned), the number of test
        sets, the unphysical sample's self-assignment, and the Spearman correlation between
        SUSY-centroid distances in the latent space and in the mass plane.
    """
    rng = np.random.default_rng(seed)
    train, test = data.standardised("train"), data.standardised("test")
    train_z = [encode(model, x[random_sets(len(x), kde_sets, set_size, rng)]) for x in train]
    test_sets = [disjoint_sets(len(x), set_size, rng) for x in test]
    test_z = np.concatenate([encode(model, x[s]) for x, s in zip(test, test_sets, strict=True)])
    labels = np.concatenate([np.full(len(s), t) for t, s in enumerate(test_sets)])
    pred = kde_assign(train_z, test_z)
    n_t = len(data.theories)
    confusion = np.zeros((n_t, n_t), dtype=int)
    np.add.at(confusion, (labels, pred), 1)
    per_theory = (np.diag(confusion) / np.maximum(confusion.sum(1), 1)).tolist()
    unphys = [i for i, t in enumerate(data.theories) if t.kind == "unphysical"]
    centroids = np.stack([z.mean(0) for z in train_z])
    return {
        "accuracy": float(np.mean(pred == labels)),
        "per_theory": dict(zip([t.name for t in data.theories], per_theory, strict=True)),
        "confusion": confusion.tolist(),
        "n_test_sets": len(labels),
        "unphysical_self": float(per_theory[unphys[0]]) if unphys else float("nan"),
        "mass_plane_spearman": mass_plane_correlation(centroids, data.theories),
    }


def mass_plane_correlation(centroids: np.ndarray, theories: Sequence[Theory]) -> float:
    """Spearman ρ between pairwise SUSY centroid distances and their mass-plane distances.

    ρ → 1 when the clusters are laid out like the (m_g̃, m_χ̃) plane (up to a monotone
    distortion); NaN with fewer than three SUSY points.
    """
    susy = [i for i, t in enumerate(theories) if t.kind == "susy"]
    if len(susy) < 3:
        return float("nan")
    m = np.array([[theories[i].m_gluino, theories[i].m_neutralino] for i in susy])
    iu = np.triu_indices(len(susy), 1)
    d_lat = np.linalg.norm(centroids[susy][:, None] - centroids[susy][None], axis=-1)[iu]
    d_mass = np.linalg.norm(m[:, None] - m[None], axis=-1)[iu]
    return float(spearmanr(d_lat, d_mass).statistic)


