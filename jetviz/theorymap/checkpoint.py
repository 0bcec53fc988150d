"""Theory-map checkpoints on the one format (:mod:`jetviz.checkpoints`).

Layout of a trained directory (``checkpoints/theorymap``)::

    summary.json                 theories, methods, set sizes, accuracy table, commands
    {method}_n{N}/               one "theorymap-encoder" checkpoint per method and set size
      config.json                config: encoder, train, scaler, theories; record: the run
      model.safetensors          encoder weights
      map.safetensors            the stored map: latent (P, D), umap (P, 2), pca (P, 2),
                                 pca_mean (D,), pca_components (2, D), theory (P,),
                                 met (P, N), j1_pt (P, N), event_index (P, N)
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from jetviz import checkpoints
from jetviz.errors import JetvizInputError
from jetviz.events import Theory
from jetviz.theorymap.features import Scaler
from jetviz.theorymap.maps import TheoryMap
from jetviz.theorymap.model import METHODS, EncoderConfig, SetEncoder
from jetviz.theorymap.sets import theory_from_dict, theory_to_dict

KIND = "theorymap-encoder"
SUMMARY = "summary.json"
MAP = "map"  # the part holding the stored map
TABLE_FIELDS = ("accuracy", "unphysical_self", "mass_plane_spearman", "n_test_sets", "seconds")


def encoder_dir(root: str | Path, method: str, set_size: int) -> Path:
    """The checkpoint directory of one method at one set size under ``root``."""
    return Path(root) / f"{method}_n{set_size}"


def map_arrays(tmap: TheoryMap) -> dict[str, np.ndarray]:
    """The arrays of a map, as stored (method and set size live in config.json)."""
    return {f.name: np.asarray(getattr(tmap, f.name)) for f in dataclasses.fields(tmap)
            if f.name not in ("method", "set_size")}


def save_encoder(root: str | Path, model: SetEncoder, train: dict, scaler: Scaler,
                 theories: Sequence[Theory], record: dict, tmap: TheoryMap) -> Path:
    """Write one encoder with its map: everything needed to rebuild and explain it.

    Args:
        root: the trained directory; the checkpoint goes to ``{method}_n{N}`` in it.
        model: the trained encoder.
        train: its training config as a dict (``dataclasses.asdict`` of a TrainConfig).
        scaler: the scaler of its input features.
        theories: the theory table its map's ``theory`` indices refer to.
        record: what the run did (loss history, accuracy, timings).
        tmap: its stored map.
    """
    config = {"encoder": dataclasses.asdict(model.config), "train": train,
              "scaler": dataclasses.asdict(scaler),
              "theories": [theory_to_dict(t) for t in theories]}
    return checkpoints.save(encoder_dir(root, train["method"], model.config.set_size), KIND,
                            config=config, record=record, model=model,
                            parts={MAP: map_arrays(tmap)})


def _config(root: str | Path, method: str, set_size: int) -> tuple[Path, dict]:
    directory = encoder_dir(root, method, set_size)
    if not directory.is_dir():
        raise JetvizInputError(
            f"{directory}: no theory-map model for method {method!r} at set size {set_size}; "
            f"train it with `jetviz theorymap train`")
    return directory, checkpoints.read_config(directory, KIND)


def load_model(root: str | Path, method: str, set_size: int) -> tuple[SetEncoder, dict]:
    """Rebuild a stored encoder (eval mode); return it and its description
    (encoder, train, scaler, theories, record)."""
    directory, payload = _config(root, method, set_size)
    meta = {**payload["config"], "record": payload["record"]}
    model = SetEncoder(EncoderConfig(**meta["encoder"]))
    checkpoints.load_weights(directory, model)
    return model.eval(), meta


def load_scaler(meta: dict) -> Scaler:
    """The scaler stored in an encoder's description (see ``load_model``)."""
    return Scaler.from_dict(meta["scaler"])


def load_map(root: str | Path, method: str, set_size: int) -> TheoryMap:
    """The stored map of one encoder."""
    directory, _ = _config(root, method, set_size)
    return TheoryMap(method, set_size, **checkpoints.read_tensors(directory, MAP, numpy=True))


def _number(value: float | None) -> float:
    return float("nan") if value is None else value  # JSON stores NaN as null


def collect_table(root: str | Path, theory_names: Sequence[str],
                  seed: int) -> tuple[dict[str, dict[str, dict]], list[int]]:
    """The accuracy table from every encoder under ``root`` with these theories and seed.

    Returns:
        {method: {str(N): record fields}} and the sorted set sizes present.
    """
    table: dict[str, dict[str, dict]] = {}
    for entry in checkpoints.find(KIND, [root], max_depth=1):
        payload = checkpoints.read_config(entry.path, KIND)
        config, rec = payload["config"], payload["record"]
        if (config["train"]["seed"] != seed or "accuracy" not in rec
                or [t["name"] for t in config["theories"]] != list(theory_names)):
            continue
        table.setdefault(config["train"]["method"], {})[str(config["encoder"]["set_size"])] = {
            k: _number(rec[k]) for k in TABLE_FIELDS}
    sizes = sorted({int(n) for row in table.values() for n in row})
    return {m: table[m] for m in METHODS if m in table}, sizes


def summary_stamp(root: str | Path) -> int:
    """Modification time of ``summary.json`` (0 if missing): part of every cache key, since
    every training run rewrites it."""
    path = Path(root) / SUMMARY
    return path.stat().st_mtime_ns if path.is_file() else 0


def write_summary(root: str | Path, summary: dict) -> None:
    """Write ``summary.json`` (a plain JSON record, not a model) atomically."""
    checkpoints.write_json(Path(root) / SUMMARY, summary)


def previous_commands(root: str | Path) -> list[str]:
    """The commands recorded in an existing ``summary.json`` (none if there is none)."""
    path = Path(root) / SUMMARY
    return json.loads(path.read_text()).get("commands", []) if path.is_file() else []


def load_summary(root: str | Path) -> dict:
    """The summary of a trained directory: theories, set sizes, methods, accuracy table."""
    path = Path(root) / SUMMARY
    if not path.exists():
        raise JetvizInputError(
            f"{path}: no theory-map summary; run `jetviz theorymap train --out {root}`")
    summary = json.loads(path.read_text())
    summary["theories"] = [theory_from_dict(d) for d in summary["theories"]]
    for row in summary["table"].values():
        for rec in row.values():
            rec.update({k: _number(v) for k, v in rec.items()})
    return summary
