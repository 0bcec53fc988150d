"""Stored theory maps, projection of new events onto them, and theory-map checkpoints.

A **map** (``TheoryMap``) is the 2-D UMAP and PCA image of the latent vectors of P training
sets of one encoder at one set size N, computed once by ``build_map`` and stored as a plain
``.npz``. New events are projected by ``MapProjector`` without refitting: UMAP coordinates by
distance-weighted k-nearest-neighbour regression from latent vectors to the stored 2-D
coordinates, PCA coordinates by the stored linear map.

Checkpoint directory (``checkpoints/theorymap``)
------------------------------------------------
  summary.json                 theories, methods, set sizes, accuracy table, command
  {method}_n{N}.safetensors    encoder weights
  {method}_n{N}.json           encoder + training config, scaler, theory table, record
  {method}_n{N}_map.npz        latent (P, D), umap (P, 2), pca (P, 2), pca_mean (D,),
                               pca_components (2, D), theory (P,), met (P, N), j1_pt (P, N)
"""

from __future__ import annotations

import dataclasses
import json
import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from safetensors.torch import load_file, save_file
from sklearn.decomposition import PCA
from sklearn.neighbors import KNeighborsRegressor

from jetviz.errors import JetvizInputError
from jetviz.events import EVENT_FEATURES, EventSet, Theory
from jetviz.files import atomic_path
from jetviz.theorymap.encoders import Scaler, TheoryData, TrainConfig, disjoint_sets, encode
from jetviz.theorymap.model import EncoderConfig, SetEncoder

_MET, _J1PT = EVENT_FEATURES.index("met"), EVENT_FEATURES.index("j1_pt")

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
        met.append(raw[sets, _MET])
        j1.append(raw[sets, _J1PT])
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
                      sets[..., _MET], sets[..., _J1PT])


def project_events(model: SetEncoder, projector: MapProjector, scaler: Scaler,
                   events: EventSet, rng: np.random.Generator) -> Projection:
    """Group new events into sets of the map's N (one theory per set), encode them and
    project them onto the map."""
    sets = np.concatenate(group_sets(events, projector.tmap.set_size, rng))  # (P, N)
    names = np.array([events.theories[t].name for t in events.theory[sets[:, 0]]])
    return project_sets(model, projector, scaler, events.features[sets], names)


# --------------------------------------------------------------------------- checkpoints


def _stem(directory: str | Path, method: str, set_size: int) -> Path:
    return Path(directory) / f"{method}_n{set_size}"


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


def _write_json(path: Path, obj: dict) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(obj, indent=1, allow_nan=True))


def save_model(directory: str | Path, model: SetEncoder, train_config: TrainConfig,
               data: TheoryData, record: dict) -> None:
    """Weights (safetensors) and a JSON with everything needed to rebuild and explain them."""
    stem = _stem(directory, train_config.method, model.config.set_size)
    with atomic_path(stem.with_suffix(".safetensors")) as tmp:
        save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(tmp))
    _write_json(stem.with_suffix(".json"), {
        "encoder": dataclasses.asdict(model.config),
        "train": dataclasses.asdict(train_config),
        "scaler": dataclasses.asdict(data.scaler),
        "theories": [theory_to_dict(t) for t in data.theories],
        "record": record,
    })


def load_model(directory: str | Path, method: str, set_size: int) -> tuple[SetEncoder, dict]:
    """Rebuild a shipped encoder from its safetensors weights and JSON; return it and its JSON."""
    stem = _stem(directory, method, set_size)
    if not stem.with_suffix(".json").exists():
        raise JetvizInputError(
            f"{stem}.json: no theory-map model for method {method!r} at set size {set_size}; "
            f"train it with `jetviz theorymap train`")
    meta = json.loads(stem.with_suffix(".json").read_text())
    model = SetEncoder(EncoderConfig(**meta["encoder"]))
    model.load_state_dict(load_file(str(stem.with_suffix(".safetensors"))))
    model.eval()
    return model, meta


def save_map(directory: str | Path, tmap: TheoryMap) -> None:
    """The map's arrays as a compressed .npz (plain arrays: read back without pickle)."""
    path = Path(f"{_stem(directory, tmap.method, tmap.set_size)}_map.npz")
    arrays = {f.name: getattr(tmap, f.name) for f in dataclasses.fields(tmap)
              if f.name not in ("method", "set_size")}
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        np.savez_compressed(fh, **arrays)


def load_map(directory: str | Path, method: str, set_size: int) -> TheoryMap:
    """Read a stored map (``allow_pickle`` stays False)."""
    path = Path(f"{_stem(directory, method, set_size)}_map.npz")
    if not path.exists():
        raise JetvizInputError(f"{path}: no stored map; train with `jetviz theorymap train`")
    with np.load(path, allow_pickle=False) as f:
        return TheoryMap(method, set_size, **{k: f[k] for k in f.files})


def load_summary(directory: str | Path) -> dict:
    """The summary of a trained directory: theories, set sizes, methods, accuracy table."""
    path = Path(directory) / "summary.json"
    if not path.exists():
        raise JetvizInputError(
            f"{path}: no theory-map summary; run `jetviz theorymap train --out {directory}`")
    summary = json.loads(path.read_text())
    summary["theories"] = [theory_from_dict(d) for d in summary["theories"]]
    return summary
