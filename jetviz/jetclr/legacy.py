"""Converter of JetCLR checkpoints written before the one format ("jetclr-flat").

The old layout of an ablation directory::

    encoder.json / encoder.safetensors     the all-augmentations encoder (a copy of runs/all)
    map.npz                                its 2-D map (with class_names as text)
    ablation.json                          the table (kept as it is)
    runs/{set}.json / runs/{set}.safetensors   one encoder per augmentation set

Each JSON held {"config": TrainConfig, "record", "probe" (as lists), "split", "held_out"}.
The new layout (:mod:`jetviz.jetclr.checkpoint`) has one checkpoint directory per set; the
shipped encoder is ``all/`` itself (no copy) and carries the map. Weights are copied
unchanged, the probe becomes float64 tensors.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from safetensors.torch import load_file

from jetviz import checkpoints
from jetviz.jetclr.checkpoint import SHIPPED, save_encoder
from jetviz.jetclr.model import JetEncoder
from jetviz.jetclr.probe import LinearProbe
from jetviz.jetclr.train import TrainConfig

LAYOUT = "jetclr-flat"
_KEYS = {"config", "record", "probe", "split", "held_out"}


def _old_meta(path: Path) -> dict | None:
    """The JSON of an old flat JetCLR encoder, or None if ``path`` is not one."""
    return checkpoints.legacy_json(path, _KEYS)


def _convert_one(json_path: Path, target: Path, map_path: Path | None) -> Path:
    meta = _old_meta(json_path)
    config = TrainConfig.from_dict(meta["config"])
    model = JetEncoder(config.encoder)
    model.load_state_dict(load_file(str(json_path.with_suffix(".safetensors"))))
    arrays = None
    if map_path is not None:
        with np.load(map_path, allow_pickle=False) as f:
            arrays = {k: f[k] for k in f.files}
    save_encoder(target, model, config, LinearProbe.from_dict(meta["probe"]), meta["split"],
                 {**meta["record"], "held_out": meta["held_out"]}, arrays)
    return target


def _ablation_dirs(directory: Path) -> list[Path]:
    """``directory`` and its sub-folders (depth ≤ 2) that hold an old layout."""
    candidates = [directory, *directory.glob("*"), *directory.glob("*/*")]
    return [d for d in candidates if d.is_dir() and (
        _old_meta(d / "encoder.json") is not None
        or any(_old_meta(p) is not None for p in (d / "runs").glob("*.json")))]


def convert_legacy(directory: str | Path) -> list[Path]:
    """Rewrite every old flat JetCLR ablation directory under ``directory`` in the one format;
    returns the new checkpoint directories. Old files are removed once converted.

    The shipped ``encoder.*`` (the one the page showed, with the map) becomes ``all/``; the old
    ``runs/all.*`` was a copy of it and is dropped.
    """
    done = []
    for folder in _ablation_dirs(Path(directory)):
        runs, shipped, map_path = folder / "runs", folder / "encoder.json", folder / "map.npz"
        sources = {p.stem: p for p in sorted(runs.glob("*.json"))
                   if _old_meta(p) is not None and p.with_suffix(".safetensors").is_file()}
        if _old_meta(shipped) is not None and shipped.with_suffix(".safetensors").is_file():
            sources[SHIPPED] = shipped
        for name, path in sources.items():
            with_map = name == SHIPPED and map_path.is_file()
            done.append(_convert_one(path, folder / name, map_path if with_map else None))
        for old in [*runs.glob("*.json"), *runs.glob("*.safetensors"), shipped,
                    shipped.with_suffix(".safetensors"), map_path]:
            if old.is_file() and ((old.parent == runs and old.stem in sources)
                                  or (old.parent == folder and SHIPPED in sources)):
                old.unlink()
        if runs.is_dir() and not any(runs.iterdir()):
            runs.rmdir()
    return done
