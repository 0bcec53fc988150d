"""The stored ROC summary of a top-vs-QCD tagger (AUC, 1/ε_B at ε_S = 0.5, the curve on a fixed
ε_S grid), computed with :mod:`jetviz.roc`.

Vocabulary: ``scores`` (N,) are higher for more signal-like jets, ``labels`` (N,) are 1 for
signal (top) and 0 for background (QCD).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from jetviz import roc
from jetviz.errors import JetvizInputError

ROC_POINTS = 200  # ε_S grid points stored per ROC curve


def split_by_label(scores: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(signal scores, background scores) of 0/1 ``labels``; both classes must be present."""
    scores, labels = np.asarray(scores), np.asarray(labels)
    if labels.shape != scores.shape or set(np.unique(labels).tolist()) != {0, 1}:
        raise JetvizInputError(
            f"ROC: expected scores and 0/1 labels of one shape with both classes, got "
            f"{scores.shape} and {labels.shape} with classes {np.unique(labels).tolist()}")
    return scores[labels == 1], scores[labels == 0]


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
    signal, background = split_by_label(scores, labels)
    eff_s, eff_b = roc.roc_curve(signal, background)
    grid = np.linspace(0.0, 1.0, ROC_POINTS + 1)[1:]
    return RocSummary(roc.auc(signal, background), roc.inverse_eb_at(signal, background, 0.5),
                      [round(float(v), 5) for v in grid],
                      [float(f"{v:.6g}") for v in np.interp(grid, eff_s, eff_b)])
