"""Converter of theory-map checkpoints written before the one format ("theorymap-flat").

The old layout kept every encoder flat in one folder: ``{method}_n{N}.json`` (keys encoder,
train, scaler, theories, record), ``{method}_n{N}.safetensors`` and ``{method}_n{N}_map.npz``.
Each becomes the directory ``{method}_n{N}/`` of :mod:`jetviz.theorymap.checkpoint`; the
weights and arrays are copied unchanged, ``summary.json`` stays as it is.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from safetensors.torch import load_file

from jetviz import checkpoints
from jetviz.theorymap.checkpoint import KIND, MAP
from jetviz.theorymap.model import EncoderConfig, SetEncoder

LAYOUT = "theorymap-flat"
_KEYS = {"encoder", "train", "scaler", "theories", "record"}


def _old_meta(path: Path) -> dict | None:
    """The JSON of an old flat theory-map encoder, or None if ``path`` is not one."""
    return checkpoints.legacy_json(path, _KEYS)


def legacy_stems(directory: Path) -> list[Path]:
    """Stems ``{method}_n{N}`` of old flat encoders (JSON, weights and map all present)."""
    return [p.with_suffix("") for p in sorted(directory.glob("*_n*.json"))
            if p.with_suffix(".safetensors").is_file()
            and Path(f"{p.with_suffix('')}_map.npz").is_file() and _old_meta(p) is not None]


def convert_legacy(directory: str | Path) -> list[Path]:
    """Rewrite every old flat theory-map encoder under ``directory`` (any depth ≤ 3) in the
    one format; returns the new checkpoint directories. The old files are removed once the
    new checkpoint is complete."""
    directory = Path(directory)
    folders = [directory, *(p for p in directory.glob("*") if p.is_dir()),
               *(p for p in directory.glob("*/*") if p.is_dir())]
    done = []
    for folder in folders:
        for stem in legacy_stems(folder):
            meta = _old_meta(stem.with_suffix(".json"))
            model = SetEncoder(EncoderConfig(**meta["encoder"]))
            model.load_state_dict(load_file(str(stem.with_suffix(".safetensors"))))
            map_path = Path(f"{stem}_map.npz")
            with np.load(map_path, allow_pickle=False) as f:
                arrays = {k: f[k] for k in f.files}
            config = {k: meta[k] for k in ("encoder", "train", "scaler", "theories")}
            checkpoints.save(stem, KIND, config=config, record=meta["record"], model=model,
                             parts={MAP: arrays})
            for old in (stem.with_suffix(".json"), stem.with_suffix(".safetensors"), map_path):
                old.unlink()
            done.append(stem)
    return done
