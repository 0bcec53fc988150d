"""Iterative Bayesian unfolding (D'Agostini, Nucl. Instrum. Meth. A362 (1995) 487).

Vocabulary: a truth histogram t (T bins), a detector histogram d (R bins) and the response
matrix R[r, t] = P(detector bin r | truth bin t), estimated from paired simulation. With the
efficiency ε_t = Σ_r R[r, t] (1 here, as every paired event has both levels and values
outside the edges go to the edge bins), one iteration turns a prior p_t into

    θ[t, r] = R[r, t] p_t / Σ_t' R[r, t'] p_t'        (Bayes' theorem)
    u_t     = (1/ε_t) Σ_r θ[t, r] d_r                   (the unfolded counts)

and the next prior is p = u/Σu. Few iterations regularise (they stay close to the prior);
many approach the unregularised inverse, whose noise grows. The response matrix is fixed
by the simulation it came from: when detector-level cuts on *another* observable change
which events enter d, the migrations change too and a response built on the inclusive
sample biases the result — the weakness the talk's cINN does not share.
"""

from __future__ import annotations

import numpy as np

from jetviz.errors import JetvizInputError


def binned(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Bin index of each value; values outside the edges go into the first/last bin."""
    return np.clip(np.searchsorted(edges, values, side="right") - 1, 0, len(edges) - 2)


def histogram(values: np.ndarray, edges: np.ndarray, weights: np.ndarray | None = None
              ) -> np.ndarray:
    """Counts per bin, with under- and overflow folded into the edge bins."""
    return np.bincount(binned(values, edges), weights=weights, minlength=len(edges) - 1
                       ).astype(float)


def response_matrix(truth: np.ndarray, detector: np.ndarray, truth_edges: np.ndarray,
                    detector_edges: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """R[r, t] = P(detector bin r | truth bin t) and the truth histogram, from paired values.

    Truth bins without events get a diagonal-free column of zeros (ε_t = 0: not unfolded).
    """
    truth, detector = np.asarray(truth), np.asarray(detector)
    if truth.shape != detector.shape or truth.ndim != 1:
        raise JetvizInputError(f"expected paired 1-D values, got {truth.shape} and "
                               f"{detector.shape}")
    t, r = binned(truth, truth_edges), binned(detector, detector_edges)
    joint = np.zeros((len(detector_edges) - 1, len(truth_edges) - 1))
    np.add.at(joint, (r, t), 1.0)
    truth_hist = joint.sum(axis=0)
    return joint / np.where(truth_hist > 0, truth_hist, 1.0), truth_hist


def iterative_bayesian_unfolding(data: np.ndarray, response: np.ndarray, prior: np.ndarray,
                                 iterations: int = 4) -> np.ndarray:
    """Unfold detector counts ``data`` (R,) with ``response`` (R, T) from ``prior`` (T,).

    Returns:
        The unfolded truth counts (T,) after ``iterations`` iterations.
    """
    data, response, prior = (np.asarray(a, dtype=float) for a in (data, response, prior))
    if response.shape != (len(data), len(prior)):
        raise JetvizInputError(f"response {response.shape} does not match data ({len(data)},) "
                               f"and prior ({len(prior)},)")
    if iterations < 1:
        raise JetvizInputError(f"iterations must be ≥ 1, got {iterations}")
    if np.any(prior < 0) or prior.sum() <= 0:
        raise JetvizInputError("the prior needs non-negative entries with a positive sum")
    efficiency = response.sum(axis=0)
    p = prior / prior.sum()
    unfolded = p * data.sum()
    for _ in range(iterations):
        folded = response @ p  # (R,) expected detector distribution
        theta = response * p[None, :] / np.where(folded > 0, folded, 1.0)[:, None]  # (R, T)
        unfolded = np.where(efficiency > 0, theta.T @ data / np.where(efficiency > 0,
                                                                     efficiency, 1.0), 0.0)
        total = unfolded.sum()
        if total <= 0:
            break
        p = unfolded / total
    return unfolded
