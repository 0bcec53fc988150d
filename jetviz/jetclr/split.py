"""Which jets train and which test, for top (t) vs QCD (g + q).

Per class t, g, q a seeded permutation; the first ``test_fraction`` of each class is held out
(probe and ceiling are evaluated there), the rest trains the encoder (without labels), the
probe and the ceiling. Indices refer to rows of a ``jetviz.jets.JetSet``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from jetviz.errors import JetvizInputError
from jetviz.jets import JetSet

SIGNAL = ("t",)  # top jets are the signal
BACKGROUND = ("g", "q")  # QCD jets


@dataclass(frozen=True)
class TopQcdSplit:
    """Which jets of a set train and which test, for top (t) vs QCD (g + q).

    Attributes:
        train: indices into the jet set of the training jets (encoder, probe, ceiling).
        test: indices of the held-out jets.
        y_train, y_test: 1 for top, 0 for QCD.
    """

    train: np.ndarray
    test: np.ndarray
    y_train: np.ndarray
    y_test: np.ndarray


def top_qcd_split(jets: JetSet, seed: int = 0, test_fraction: float = 0.2,
                  max_per_class: int | None = None) -> TopQcdSplit:
    """Split the t, g and q jets of ``jets`` into training and held-out parts, per class.

    Args:
        jets: a jet set with classes t, g and q among its class names.
        seed: seed of the per-class permutations.
        test_fraction: fraction of each class held out.
        max_per_class: use at most this many jets of each class (None: all).
    """
    missing = [c for c in SIGNAL + BACKGROUND if c not in jets.class_names
               or jets.counts()[c] < 10]
    if missing:
        raise JetvizInputError(
            f"{jets.source}: top-vs-QCD needs at least 10 jets of each of t, g, q; missing or "
            f"too few: {missing} (classes here: {jets.counts()}); load a set with those classes")
    rng = np.random.default_rng(seed)
    train, test = [], []
    for name in SIGNAL + BACKGROUND:
        idx = np.flatnonzero(jets.labels == jets.class_names.index(name))
        idx = rng.permutation(idx)[:max_per_class]
        n_test = max(1, round(test_fraction * len(idx)))
        test.append(idx[:n_test])
        train.append(idx[n_test:])
    tr, te = np.concatenate(train), np.concatenate(test)
    top = jets.class_names.index("t")
    return TopQcdSplit(tr, te, (jets.labels[tr] == top).astype(np.int64),
                       (jets.labels[te] == top).astype(np.int64))

