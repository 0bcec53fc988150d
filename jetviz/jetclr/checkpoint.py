"""JetCLR checkpoints on the one format (:mod:`jetviz.checkpoints`), and the ablation table.

Layout of an ablation directory (``checkpoints/jetclr``)::

    ablation.json        AUC, 1/ε_B(ε_S = 0.5) and ROC curves per augmentation set and for the
                         supervised ceiling, with the commands that made them (a JSON record,
                         not a model)
    {set}/               one "jetclr-encoder" checkpoint per augmentation set (none,
                         translations, rotations, soft_collinear, all):
      config.json        config: the TrainConfig and the data split; record: the training
                         record, the held-out AUC and 1/ε_B (and the map's class names)
      model.safetensors  encoder weights
      probe.safetensors  the fitted linear probe (mean, scale, coef, intercept, c)
    all/map.safetensors  the shipped encoder's representation of held-out jets of every class
                         on 2-D: index, labels, pt, mass, pca (and umap)
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from jetviz import checkpoints
from jetviz.errors import JetvizInputError
from jetviz.jetclr.model import JetEncoder
from jetviz.jetclr.probe import LinearProbe
from jetviz.jetclr.train import KIND, TrainConfig

ABLATION = "ablation.json"
SHIPPED = "all"  # the encoder the page shows: every augmentation
PROBE, MAP = "probe", "map"  # checkpoint parts


def stem(name: str) -> str:
    """Directory name of an ablation entry: "soft + collinear" -> "soft_collinear"."""
    return name.replace(" + ", "_").replace(" ", "_")


def save_encoder(directory: str | os.PathLike, model: JetEncoder, config: TrainConfig,
                 probe: LinearProbe, split: dict, record: dict,
                 map_arrays: dict[str, np.ndarray] | None = None) -> Path:
    """Write an encoder with its probe (and map) as one checkpoint.

    Args:
        directory: the checkpoint directory.
        model: the trained encoder.
        config: its training run.
        probe: the linear probe fitted on its representation.
        split: how the jets were split (seed, max_per_class, test_fraction, jets).
        record: the training record, with "held_out" (auc, inv_eb).
        map_arrays: the 2-D map of held-out jets (``jetviz.jetclr.maps.map_of``); its class
            names go into the record (text is not a tensor).
    """
    parts = {PROBE: probe.to_arrays()}
    record = {k: v for k, v in record.items() if k != "map_class_names"}
    if map_arrays is not None:
        arrays = dict(map_arrays)
        record = {**record, "map_class_names": [str(c) for c in arrays.pop("class_names")]}
        parts[MAP] = arrays
    return checkpoints.save(directory, KIND, config={"train": config.to_dict(), "split": split},
                            record=record, model=model, parts=parts)


def describe(directory: str | os.PathLike) -> dict:
    """What an encoder checkpoint says about itself, without building the model:
    {"config": TrainConfig dict, "split": ..., "record": ..., "held_out": ...}."""
    directory = Path(directory)
    if not (directory / checkpoints.CONFIG).is_file():
        raise JetvizInputError(f"{directory}: no JetCLR encoder here; make one with "
                               "`jetviz jetclr ablation` (see README)")
    payload = checkpoints.read_config(directory, KIND)
    record = payload["record"]
    return {"config": payload["config"]["train"], "split": payload["config"]["split"],
            "record": record, "held_out": record.get("held_out")}


def load_encoder(directory: str | os.PathLike) -> tuple[JetEncoder, TrainConfig, LinearProbe, dict]:
    """Rebuild an encoder: (model in eval mode, its TrainConfig, its probe, ``describe``)."""
    info = describe(directory)
    try:
        config = TrainConfig.from_dict(info["config"])
    except (KeyError, TypeError) as err:
        raise JetvizInputError(f"{directory}: not a JetCLR training config ({err})") from err
    model = checkpoints.load_weights(directory, JetEncoder(config.encoder))
    probe = LinearProbe.from_arrays(checkpoints.read_tensors(directory, PROBE, numpy=True))
    return model.eval(), config, probe, info


def load_map(directory: str | os.PathLike) -> dict[str, np.ndarray]:
    """The 2-D map arrays stored with an encoder, with "class_names" (never unpickles)."""
    info = describe(directory)
    if "map_class_names" not in info["record"] or not checkpoints.has_part(directory, MAP):
        raise JetvizInputError(f"{directory}: no JetCLR map here; make it with "
                               "`jetviz jetclr ablation`")
    arrays = checkpoints.read_tensors(directory, MAP, numpy=True)
    return {**arrays, "class_names": np.asarray(info["record"]["map_class_names"])}


def load_results(path: str | os.PathLike) -> dict:
    """Read ablation.json."""
    if not Path(path).is_file():
        raise JetvizInputError(
            f"{path}: no JetCLR ablation results here; make them with `jetviz jetclr ablation`")
    return json.loads(Path(path).read_text())


def write_results(path: str | os.PathLike, table: dict) -> None:
    """Write ablation.json atomically (non-finite numbers become null)."""
    checkpoints.write_json(path, table)


def results_stamp(directory: str | os.PathLike) -> int:
    """Newest modification time of the ablation table and the shipped encoder's config (0 if
    neither exists): the cache key of everything the page reads."""
    paths = (Path(directory) / ABLATION, Path(directory) / SHIPPED / checkpoints.CONFIG)
    return max((p.stat().st_mtime_ns for p in paths if p.is_file()), default=0)
