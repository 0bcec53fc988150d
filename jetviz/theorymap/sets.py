"""Theories and sets of events: the theory table, the unphysical sample, train/test splits.

Vocabulary
----------
A **theory** is a row of the theory table: a SUSY point (m_g̃, m_χ̃), a Standard-Model
background, or the **unphysical** sample — real events whose 18 columns are shuffled
independently across events, so every marginal is real but every correlation is gone.

A **set** is N events of one theory, (N, 18); a batch of sets is (B, N, 18). Sets are drawn
without replacement inside a set and are given as (S, N) row indices into a theory's events.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from jetviz.errors import JetvizInputError
from jetviz.events import EventSet, Theory
from jetviz.theorymap.features import Scaler

UNPHYSICAL = Theory("unphysical", "unphysical")


def unphysical_sample(features: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """An unphysical sample: each column of real events permuted independently.

    Args:
        features: (M, 18) raw events (any mix of theories).
        n: number of events to return (≤ M; every column is a permutation of the same n
            source events, so each marginal is exactly that of the n source events).
        rng: the random generator.

    Returns:
        (n, 18) events with real marginals and no correlations between columns.
    """
    if not 0 < n <= len(features):
        raise ValueError(f"need 0 < n ≤ {len(features)} source events, got n = {n}")
    source = features[rng.choice(len(features), size=n, replace=False)]
    return np.stack([source[rng.permutation(n), c] for c in range(source.shape[1])], axis=1)


def label_distances(theories: Sequence[Theory]) -> np.ndarray:
    """Distances d_X between theory labels for the Neural Embedding loss, in TeV.

    SUSY points sit at (m_g̃, m_χ̃) in the mass plane, with Euclidean distance. Backgrounds
    and the unphysical sample have no place in that plane: each is put at the same distance
    d_out from every other theory, with d_out the largest SUSY–SUSY distance (the grid's
    diameter, 1 TeV if there are fewer than two SUSY points) — as different from everything
    as the two most different SUSY points are from each other.

    Returns:
        (T, T) symmetric, zero diagonal.
    """
    masses = np.array([[t.m_gluino, t.m_neutralino] for t in theories]) / 1000.0  # TeV
    susy = np.array([t.kind == "susy" and np.isfinite(masses[i]).all()
                     for i, t in enumerate(theories)])
    d = np.linalg.norm(masses[:, None] - masses[None], axis=-1)
    d_out = float(np.nanmax(d[np.ix_(susy, susy)])) if susy.sum() >= 2 else 1.0
    d[~(susy[:, None] & susy[None])] = d_out
    np.fill_diagonal(d, 0.0)
    return d


@dataclass(frozen=True)
class TheoryData:
    """Train and test events per theory, the unphysical sample appended as the last theory.

    Attributes:
        theories: the theory table (the event file's, then UNPHYSICAL).
        train_raw, test_raw: per theory, (n_t, 18) raw events.
        train_index: per theory, (n_t,) row of each training event in the event file
            (−1 for the unphysical sample, which is not in the file).
        scaler: fitted on the real (not unphysical) training events.
        seed, test_fraction: how the split and the unphysical sample were drawn.
    """

    theories: tuple[Theory, ...]
    train_raw: tuple[np.ndarray, ...]
    test_raw: tuple[np.ndarray, ...]
    train_index: tuple[np.ndarray, ...]
    scaler: Scaler
    seed: int
    test_fraction: float

    def standardised(self, split: str) -> list[np.ndarray]:
        """Per theory, (n_t, 18) standardised events of the "train" or "test" split."""
        raw = self.train_raw if split == "train" else self.test_raw
        return [self.scaler.transform(r) for r in raw]


def prepare_data(events: EventSet, seed: int = 0, test_fraction: float = 0.3) -> TheoryData:
    """Split each theory's events into train/test and add the unphysical sample.

    The unphysical training (test) events are drawn from the pooled real training (test)
    events, as many as the median theory has, so no test event leaks into training.
    Deterministic for a given ``seed``.
    """
    rng = np.random.default_rng(seed)
    train, test, train_index, theories = [], [], [], []
    for t, theory in enumerate(events.theories):
        idx = np.flatnonzero(events.theory == t)
        if len(idx) < 10:
            continue  # a theory without events (or with a handful) has nothing to learn from
        idx = rng.permutation(idx)
        n_test = round(test_fraction * len(idx))
        test.append(events.features[idx[:n_test]].astype(np.float64))
        train.append(events.features[idx[n_test:]].astype(np.float64))
        train_index.append(idx[n_test:])
        theories.append(theory)
    if len(theories) < 2:
        raise JetvizInputError(
            f"{events.source}: the theory map needs at least two theories with ≥ 10 events, "
            f"found {events.counts()}")
    pool_train, pool_test = np.concatenate(train), np.concatenate(test)
    n_train = int(np.median([len(a) for a in train]))
    n_test = int(np.median([len(a) for a in test]))
    train.append(unphysical_sample(pool_train, n_train, rng))
    test.append(unphysical_sample(pool_test, n_test, rng))
    train_index.append(np.full(n_train, -1))
    return TheoryData((*theories, UNPHYSICAL), tuple(train), tuple(test), tuple(train_index),
                      Scaler.fit(pool_train), seed, test_fraction)


def random_sets(n_events: int, n_sets: int, set_size: int,
                rng: np.random.Generator) -> np.ndarray:
    """(n_sets, N) indices of random sets; no event twice inside one set."""
    if set_size > n_events:
        raise ValueError(f"a set of {set_size} needs at least {set_size} events, got {n_events}")
    if set_size == 1:
        return rng.integers(0, n_events, size=(n_sets, 1))
    keys = rng.random((n_sets, n_events))
    return np.argpartition(keys, set_size - 1, axis=1)[:, :set_size]


def disjoint_sets(n_events: int, set_size: int, rng: np.random.Generator,
                  max_sets: int | None = None) -> np.ndarray:
    """(n_events // N, N) indices: the events shuffled and cut into sets (rest dropped)."""
    n_sets = n_events // set_size
    if max_sets is not None:
        n_sets = min(n_sets, max_sets)
    return rng.permutation(n_events)[: n_sets * set_size].reshape(n_sets, set_size)


def theory_to_dict(t: Theory) -> dict:
    """JSON form of a theory (NaN masses as null)."""
    return {"name": t.name, "kind": t.kind,
            "m_gluino": None if math.isnan(t.m_gluino) else t.m_gluino,
            "m_neutralino": None if math.isnan(t.m_neutralino) else t.m_neutralino}


def theory_from_dict(d: dict) -> Theory:
    """Inverse of ``theory_to_dict``."""
    nan = float("nan")
    return Theory(d["name"], d["kind"],
                  nan if d.get("m_gluino") is None else float(d["m_gluino"]),
                  nan if d.get("m_neutralino") is None else float(d["m_neutralino"]))


