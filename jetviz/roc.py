"""ROC curves, AUC and background rejection of any tagger's score (larger = more signal-like:
an anomaly score, a classifier's output, a probe's logit).

Scores come split by truth: ``signal`` (N_S,) and ``background`` (N_B,) arrays; with one
array of scores and 0/1 labels, pass ``scores[labels == 1], scores[labels == 0]``.
A cut "score > c" keeps ε_S(c) of the signal and ε_B(c) of the background. The ROC curve is
ε_B against ε_S over all cuts; the AUC is P(score of a random signal jet > score of a random
background jet) (ties count ½), the Mann–Whitney U statistic over n_S·n_B: 1 for a perfect
score, 0 for a perfectly inverted one, ½ for a random one. 1/ε_B at a fixed ε_S is the
background rejection at that working point (the paper quotes ε_S = 0.2 and 0.5).
"""

from __future__ import annotations

import numpy as np
from scipy.stats import rankdata

from jetviz.errors import JetvizInputError


def _check(signal: np.ndarray, background: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    s = np.asarray(signal, dtype=np.float64).ravel()
    b = np.asarray(background, dtype=np.float64).ravel()
    if s.size == 0 or b.size == 0:
        raise JetvizInputError(f"ROC: need signal and background scores, got {s.size} and "
                               f"{b.size}")
    if not (np.isfinite(s).all() and np.isfinite(b).all()):
        raise JetvizInputError("ROC: scores contain NaN or inf (a diverged model?)")
    return s, b


def auc(signal: np.ndarray, background: np.ndarray) -> float:
    """Area under the ROC curve, from ranks (exact, ties count ½)."""
    s, b = _check(signal, background)
    ranks = rankdata(np.concatenate([s, b]))
    u = ranks[: s.size].sum() - s.size * (s.size + 1) / 2
    return float(u / (s.size * b.size))


def roc_curve(signal: np.ndarray, background: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(ε_S, ε_B), both increasing from (0, 0) to (1, 1), one point per distinct cut."""
    s, b = _check(signal, background)
    scores = np.concatenate([s, b])
    is_sig = np.concatenate([np.ones(s.size), np.zeros(b.size)])
    order = np.argsort(-scores, kind="mergesort")
    scores, is_sig = scores[order], is_sig[order]
    last = np.r_[np.flatnonzero(np.diff(scores) != 0), scores.size - 1]  # end of each tie run
    tp = np.cumsum(is_sig)[last]
    fp = (last + 1) - tp
    return np.r_[0.0, tp / s.size], np.r_[0.0, fp / b.size]


def inverse_eb_at(signal: np.ndarray, background: np.ndarray, eff_s: float) -> float:
    """1/ε_B at signal efficiency ``eff_s`` (ε_B interpolated linearly on the ROC curve).

    Returns inf when no background survives at that working point.
    """
    es, eb = roc_curve(signal, background)
    value = float(np.interp(eff_s, es, eb))
    return float("inf") if value <= 0 else 1.0 / value


def summary(signal: np.ndarray, background: np.ndarray) -> dict[str, float]:
    """{"auc", "inv_eb_02", "inv_eb_05"} of one signal against one background."""
    return {"auc": auc(signal, background),
            "inv_eb_02": inverse_eb_at(signal, background, 0.2),
            "inv_eb_05": inverse_eb_at(signal, background, 0.5)}
