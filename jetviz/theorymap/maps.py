"""Stored theory maps, and the projection of new events onto them.

A **map** (``TheoryMap``) is the 2-D UMAP and PCA image of the latent vectors of P training
sets of one encoder at one set size N, computed once by ``build_map`` and stored with the
encoder (``jetviz.theorymap.checkpoint``). New events are projected by ``MapProjector``
without refitting: UMAP coordinates by distance-weighted k-nearest-neighbour regression from
latent vectors to the stored 2-D coordinates, PCA coordinates by the stored linear map.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from sklearn.decomposition import PCA
from sklearn.neighbors import KNeighborsRegressor

from jetviz.errors import JetvizInputError
from jetviz.events import EventSet
from jetviz.theorymap.features import J1_PT_COLUMN, MET_COLUMN, Scaler
from jetviz.theorymap.model import SetEncoder, encode
from jetviz.theorymap.sets import TheoryData, disjoint_sets


@dataclass(frozen=True)
class TheoryMap:
    """The stored 2-D map of one encoder at one set size (P points, each a set of N events).

    Attributes:
        method, set_size: which encoder made it.
        latent: (P, D) latent vectors of training sets.
        umap: (P, 2) their UMAP coordinates (fitted once, stored).
        pca: (P, 2) their PCA coordinates; pca_mean (D,), pca_components (2, D) project more.
        theory: (P,) index into the summary's theory table.
        met, j1_pt: (P, N) MET and leading-jet pT of each set's events [GeV], raw.
        event_index: (P, N) row of each event in the event file (−1: unphysical sample).
    """

    method: str
    set_size: int
    latent: np.ndarray
    umap: np.ndarray
    pca: np.ndarray
    pca_mean: np.ndarray
    pca_components: np.ndarray
    theory: np.ndarray
    met: np.ndarray
    j1_pt: np.ndarray
    event_index: np.ndarray


def fit_umap(latent: np.ndarray, seed: int = 0) -> np.ndarray:
    """(P, D) latent vectors → (P, 2) UMAP coordinates (McInnes et al., arXiv:1802.03426),
    30 neighbours, min_dist 0.3, fixed seed."""
    with warnings.catch_warnings():
        # umap's __init__ warns that TensorFlow (for ParametricUMAP, unused here) is missing
        warnings.simplefilter("ignore", ImportWarning)
        import umap  # slow import (numba): only when a map is built

    reducer = umap.UMAP(n_components=2, n_neighbors=30, min_dist=0.3, random_state=seed,
                        n_jobs=1)  # a seed means one thread; asking for it avoids a warning
    return reducer.fit_transform(latent).astype(np.float32)


def build_map(model: SetEncoder, method: str, data: TheoryData, seed: int = 0,
              per_theory: int = 300,
              reduce: Callable[[np.ndarray], np.ndarray] | None = None) -> TheoryMap:
    """Embed up to ``per_theory`` disjoint training sets per theory; fit the 2-D map once.

    Args:
        model: the trained encoder (its config gives N).
        method: the method it was trained with (recorded on the map).
        data: the prepared events.
        seed: seed of the set drawing and of UMAP.
        per_theory: at most this many sets (points) per theory.
        reduce: (P, D) → (P, 2) for the "umap" coordinates; ``fit_umap`` when None.
    """
    rng = np.random.default_rng(seed)
    set_size = model.config.set_size
    latent, theory, met, j1, index = [], [], [], [], []
    for t, (raw, x) in enumerate(zip(data.train_raw, data.standardised("train"), strict=True)):
        sets = disjoint_sets(len(x), set_size, rng, max_sets=per_theory)  # (S, N)
        latent.append(encode(model, x[sets]))
        index.append(data.train_index[t][sets])
        theory.append(np.full(len(sets), t))
        met.append(raw[sets, MET_COLUMN])
        j1.append(raw[sets, J1_PT_COLUMN])
    z = np.concatenate(latent)
    xy = (fit_umap(z, seed) if reduce is None else reduce(z)).astype(np.float32)
    pca = PCA(n_components=2).fit(z)
    return TheoryMap(method, set_size, z, xy,
                     pca.transform(z).astype(np.float32), pca.mean_.astype(np.float32),
                     pca.components_.astype(np.float32), np.concatenate(theory),
                     np.concatenate(met).astype(np.float32), np.concatenate(j1).astype(np.float32),
                     np.concatenate(index).astype(np.int32))


class MapProjector:
    """Projects latent vectors onto a stored map without refitting anything.

    UMAP coordinates: distance-weighted k-nearest-neighbour regression from the map's latent
    vectors to its stored 2-D coordinates. It is fitted in milliseconds, is deterministic, and
    reproduces the stored coordinates exactly for the map's own points; a UMAP reducer's
    ``transform`` would need the reducer refitted (seconds, and not bit-reproducible across
    machines) or unpickled. PCA coordinates: the stored linear map.
    """

    def __init__(self, tmap: TheoryMap, k: int = 8) -> None:
        self.tmap = tmap
        self.knn = KNeighborsRegressor(n_neighbors=min(k, len(tmap.latent)), weights="distance")
        self.knn.fit(tmap.latent, tmap.umap)

    def transform(self, z: np.ndarray, projection: str = "umap") -> np.ndarray:
        """(P, D) latent → (P, 2) coordinates on the "umap" or "pca" map."""
        if projection == "pca":
            return ((z - self.tmap.pca_mean) @ self.tmap.pca_components.T).astype(np.float32)
        return self.knn.predict(z).astype(np.float32)


@dataclass(frozen=True)
class Projection:
    """New events projected onto a map: P sets of N events each.

    Attributes:
        umap, pca: (P, 2) coordinates on the two maps.
        names: (P,) the theory name (from the user's file) of each set.
        met, j1_pt: (P, N) raw MET and leading-jet pT [GeV].
    """

    umap: np.ndarray
    pca: np.ndarray
    names: np.ndarray
    met: np.ndarray
    j1_pt: np.ndarray


def group_sets(events: EventSet, set_size: int, rng: np.random.Generator) -> list[np.ndarray]:
    """Disjoint sets of N events of one theory each, over every theory of ``events``.

    Raises:
        JetvizInputError: if no theory in ``events`` has at least N events.
    """
    sets = []
    for t in range(len(events.theories)):
        idx = np.flatnonzero(events.theory == t)
        if len(idx) >= set_size:
            sets.append(idx[disjoint_sets(len(idx), set_size, rng)])
    if not sets:
        raise JetvizInputError(
            f"{events.source}: {len(events)} events ({events.counts()}) but the set size is "
            f"{set_size}; give at least {set_size} events of one theory or choose a smaller "
            f"set size")
    return sets


def project_sets(model: SetEncoder, projector: MapProjector, scaler: Scaler,
                 sets: np.ndarray, names: np.ndarray) -> Projection:
    """Encode raw sets (P, N, 18) and project them onto the map (no refit)."""
    z = encode(model, scaler.transform(sets))
    return Projection(projector.transform(z, "umap"), projector.transform(z, "pca"), names,
                      sets[..., MET_COLUMN], sets[..., J1_PT_COLUMN])


def project_events(model: SetEncoder, projector: MapProjector, scaler: Scaler,
                   events: EventSet, rng: np.random.Generator) -> Projection:
    """Group new events into sets of the map's N (one theory per set), encode them and
    project them onto the map."""
    sets = np.concatenate(group_sets(events, projector.tmap.set_size, rng))  # (P, N)
    names = np.array([events.theories[t].name for t in events.theory[sets[:, 0]]])
    return project_sets(model, projector, scaler, events.features[sets], names)


def centroids(tmap: TheoryMap, projection: str = "umap") -> np.ndarray:
    """(T, 2) mean position of every theory on the "umap" or "pca" map; NaN for a theory
    without points (T = highest theory index + 1)."""
    xy = tmap.umap if projection == "umap" else tmap.pca
    n_theories = int(tmap.theory.max()) + 1
    out = np.full((n_theories, 2), np.nan)
    for t in range(n_theories):
        if (tmap.theory == t).any():
            out[t] = xy[tmap.theory == t].mean(0)
    return out


def nearest_in_latent(latent: np.ndarray, query: int, k: int = 5
                      ) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` map points nearest to point ``query`` in the latent space (itself excluded).

    The distance is Euclidean between the encoder's latent vectors: what the contrastive loss
    pulls together (same theory) and pushes a margin apart (different theories). The 2-D map
    keeps neighbourhoods only roughly, so latent neighbours may sit apart on it.

    Args:
        latent: (P, D) latent vectors of the map's points.
        query: row of the query point.
        k: how many neighbours.

    Returns:
        (rows (k,), distances (k,) in latent units), nearest first; fewer if P ≤ k.
    """
    latent = np.asarray(latent, dtype=np.float64)
    if not 0 <= query < len(latent):
        raise JetvizInputError(f"point {query} is not on the map; pick one of 0…{len(latent) - 1}")
    distance = np.linalg.norm(latent - latent[query], axis=1)
    distance[query] = np.inf
    order = np.argsort(distance, kind="stable")[:min(k, len(latent) - 1)]
    return order, distance[order]
