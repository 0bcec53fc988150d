"""ROC curves of a top-vs-QCD tagger: signal and background efficiencies, AUC, 1/ε_B.

Vocabulary: ``scores`` (N,) are higher for more signal-like jets, ``labels`` (N,) are 1 for
signal (top) and 0 for background (QCD); ε_S and ε_B are the fractions of signal and
background jets above a threshold.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
from sklearn.metrics import roc_auc_score
from sklearn.metrics import roc_curve as sk_roc

from jetviz.errors import JetvizInputError

ROC_POINTS = 200  # ε_S grid points stored per ROC curve


def roc_curve(scores: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Signal and background efficiencies (ε_S, ε_B) over all score thresholds.

    Args:
        scores: (N,) higher means more signal-like.
        labels: (N,) 1 for signal, 0 for background.

    Returns:
        (ε_S, ε_B), each (K,) non-decreasing, from (0, 0) to (1, 1).
    """
    labels = np.asarray(labels)
    if labels.shape != np.shape(scores) or len(np.unique(labels)) != 2:
        raise JetvizInputError(
            f"roc_curve: expected scores and 0/1 labels of one shape with both classes, got "
            f"{np.shape(scores)} and {labels.shape} with classes {np.unique(labels).tolist()}")
    eff_b, eff_s, _ = sk_roc(labels, scores)
    return eff_s, eff_b


def auc(scores: np.ndarray, labels: np.ndarray) -> float:
    """Area under the ROC curve (probability a signal jet outscores a background jet)."""
    return float(roc_auc_score(labels, scores))


def inverse_background_at(eff_s: np.ndarray, eff_b: np.ndarray, target: float = 0.5) -> float:
    """Background rejection 1/ε_B at signal efficiency ``target``, interpolated linearly.

    Returns ``inf`` if no background passes at that efficiency.
    """
    eb = float(np.interp(target, eff_s, eff_b))
    return math.inf if eb <= 0 else 1.0 / eb


@dataclass(frozen=True)
class RocSummary:
    """A classifier's held-out performance: AUC, 1/ε_B at ε_S = 0.5, and its ROC curve."""

    auc: float
    inv_eb: float  # 1/ε_B at ε_S = 0.5
    eff_s: list[float]  # ε_S grid (ROC_POINTS values)
    eff_b: list[float]  # ε_B on that grid

    def to_dict(self) -> dict:
        return asdict(self)


def roc_summary(scores: np.ndarray, labels: np.ndarray) -> RocSummary:
    """AUC, 1/ε_B(ε_S = 0.5) and the ROC curve on a fixed ε_S grid, for storing."""
    eff_s, eff_b = roc_curve(scores, labels)
    grid = np.linspace(0.0, 1.0, ROC_POINTS + 1)[1:]
    return RocSummary(auc(scores, labels), inverse_background_at(eff_s, eff_b, 0.5),
                      [round(float(v), 5) for v in grid],
                      [float(f"{v:.6g}") for v in np.interp(grid, eff_s, eff_b)])
