"""The linear probe: logistic regression on a frozen JetCLR representation.

A representation h (N, D) is standardised with the training jets' mean and standard deviation
and scored as ``w·(h − μ)/σ + b`` (logits for top). The regularisation C is chosen on a seeded
validation part of the training jets; held-out jets never enter the fit or the choice.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.linear_model import LogisticRegression

from jetviz.jetclr.roc import split_by_label
from jetviz.roc import auc


@dataclass(frozen=True)
class LinearProbe:
    """Logistic regression on the standardised representation: score = w·(h − μ)/σ + b."""

    mean: np.ndarray  # (D,)
    scale: np.ndarray  # (D,)
    coef: np.ndarray  # (D,)
    intercept: float
    c: float = 1.0  # the inverse regularisation strength it was fitted with

    def scores(self, h: np.ndarray) -> np.ndarray:
        """Logits (N,) for top, from representations h (N, D)."""
        return ((h - self.mean) / self.scale) @ self.coef + self.intercept

    @staticmethod
    def from_dict(d: dict) -> LinearProbe:
        """A probe from its old JSON form (lists; see ``jetviz.jetclr.legacy``)."""
        return LinearProbe(np.asarray(d["mean"]), np.asarray(d["scale"]),
                           np.asarray(d["coef"]), float(d["intercept"]), float(d.get("c", 1.0)))

    def to_arrays(self) -> dict[str, np.ndarray]:
        """The probe as float64 arrays (a checkpoint part)."""
        return {"mean": np.asarray(self.mean, np.float64),
                "scale": np.asarray(self.scale, np.float64),
                "coef": np.asarray(self.coef, np.float64),
                "intercept": np.array([self.intercept]), "c": np.array([self.c])}

    @staticmethod
    def from_arrays(a: dict[str, np.ndarray]) -> LinearProbe:
        """Inverse of ``to_arrays``."""
        return LinearProbe(a["mean"], a["scale"], a["coef"], float(a["intercept"][0]),
                           float(a["c"][0]))


PROBE_C_GRID = (0.01, 0.1, 1.0, 10.0, 100.0, 1000.0)  # candidate inverse regularisations
PROBE_VALIDATION = 0.2  # fraction of the training jets that picks C


def fit_probe(h: np.ndarray, y: np.ndarray, c: float | None = None, seed: int = 0
              ) -> LinearProbe:
    """Fit scikit-learn's LogisticRegression on standardised representations h (N, D).

    Args:
        h: (N, D) representations of training jets; y: (N,) 0/1 labels.
        c: inverse regularisation strength; None picks it from ``PROBE_C_GRID`` by the AUC
            on a seeded ``PROBE_VALIDATION`` part of these (training) jets, then refits on
            all of them. The held-out test jets never enter the choice.
        seed: seed of that validation split.
    """
    mean, scale = h.mean(0), h.std(0)
    scale = np.where(scale > 1e-8, scale, 1.0)  # a dead dimension: leave it unscaled
    u = (h - mean) / scale
    if c is None:
        order = np.random.default_rng(seed).permutation(len(u))
        n_val = max(2, round(PROBE_VALIDATION * len(u)))
        val, fit = order[:n_val], order[n_val:]
        if len(np.unique(y[val])) < 2 or len(np.unique(y[fit])) < 2:
            c = 1.0  # too few jets to choose: the scikit-learn default
        else:
            scores = {cand: auc(*split_by_label(
                LogisticRegression(C=cand, max_iter=5000).fit(u[fit], y[fit])
                .decision_function(u[val]), y[val])) for cand in PROBE_C_GRID}
            c = max(scores, key=scores.get)
    clf = LogisticRegression(C=c, max_iter=5000).fit(u, y)
    return LinearProbe(mean, scale, clf.coef_[0].astype(np.float64), float(clf.intercept_[0]),
                       float(c))
