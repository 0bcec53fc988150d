"""Anomaly-model checkpoints: a directory of safetensors files and one config.json.

Layout::

    model.safetensors     the weights (safetensors; never pickle)
    config.json           {"format": "jetviz-anomaly", "version": 1,
                           "config": {"model": AEConfig, "train": TrainConfig},
                           "record": {command, data, history, evaluation, ...}}
    samples.safetensors   (NAE) negative samples of the last step: "x" (M, 1, n, n) after
                          the pixel chain, "x0" the decoded latent end points, "z" (M, d)
    last/                 for --resume: model, optimizer (Adam moments), state (replay
                          buffer) and config.json with the step reached

Every file is written through :func:`jetviz.files.atomic_path`.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from jetviz.anomaly.model import AEConfig, ConvAE, build_model
from jetviz.errors import JetvizInputError
from jetviz.files import atomic_path
from jetviz.vae.checkpoint import _json_ready, optimizer_to_tensors

FORMAT = "jetviz-anomaly"
VERSION = 1
WEIGHTS, CONFIG, SAMPLES = "model.safetensors", "config.json", "samples.safetensors"
OPTIMIZER, STATE, LAST = "optimizer.safetensors", "state.safetensors", "last"


def write_tensors(path: Path, tensors: dict[str, torch.Tensor]) -> None:
    with atomic_path(path) as tmp:
        save_file({k: v.detach().cpu().contiguous() for k, v in tensors.items()}, str(tmp))


def read_tensors(path: Path) -> dict[str, torch.Tensor]:
    if not path.is_file():
        raise JetvizInputError(f"{path}: file missing; the anomaly checkpoint is incomplete — "
                               "retrain it with `jetviz anomaly train`")
    try:
        return load_file(str(path))
    except (SafetensorError, OSError, ValueError, RuntimeError) as err:
        raise JetvizInputError(f"{path}: corrupt safetensors file ({err}); retrain with "
                               "`jetviz anomaly train` or restore the file") from err


def save(directory: str | os.PathLike, model: ConvAE, config: dict, record: dict,
         optimizer: torch.optim.Optimizer | None = None,
         state: dict[str, torch.Tensor] | None = None,
         samples: dict[str, torch.Tensor] | None = None) -> Path:
    """Write a checkpoint (see the module docstring); ``config`` = {"model": …, "train": …}."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    write_tensors(directory / WEIGHTS, model.state_dict())
    extra = {}
    if optimizer is not None:
        tensors, meta = optimizer_to_tensors(optimizer)
        write_tensors(directory / OPTIMIZER, tensors)
        extra["optimizer"] = meta
    if state:
        write_tensors(directory / STATE, state)
    if samples:
        write_tensors(directory / SAMPLES, samples)
    payload = {"format": FORMAT, "version": VERSION, "config": config, "record": record,
               **extra}
    with atomic_path(directory / CONFIG) as tmp:
        tmp.write_text(json.dumps(_json_ready(payload), indent=1, allow_nan=False))
    return directory


def read_config(directory: str | os.PathLike) -> dict:
    """The parsed config.json, checked for format and version."""
    path = Path(directory) / CONFIG
    if not path.is_file():
        raise JetvizInputError(
            f"{directory}: not an anomaly-model checkpoint (no {CONFIG}); make one with "
            "`python -m jetviz anomaly train --background qcd --method ae --out DIR`")
    try:
        payload = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise JetvizInputError(f"{path}: corrupt checkpoint config, not valid JSON ({err}); "
                               "retrain or restore the file") from err
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        found = payload.get("format") if isinstance(payload, dict) else type(payload).__name__
        raise JetvizInputError(f"{path}: expected a {FORMAT!r} checkpoint, found format "
                               f"{found!r}")
    if payload.get("version") != VERSION:
        raise JetvizInputError(f"{path}: checkpoint version {payload.get('version')} is not "
                               f"the supported version {VERSION}")
    return payload


def load(directory: str | os.PathLike, device: str | torch.device = "cpu"
         ) -> tuple[ConvAE, dict, dict]:
    """Rebuild a model: (model in eval mode, config {"model", "train"}, record).

    Raises:
        JetvizInputError: missing or corrupt files, or weights that do not fit the config.
    """
    directory = Path(directory)
    payload = read_config(directory)
    try:
        model_config = AEConfig.from_dict(payload["config"]["model"])
    except (KeyError, TypeError) as err:
        raise JetvizInputError(f"{directory / CONFIG}: model config missing or malformed "
                               f"({err})") from err
    model = build_model(model_config)
    state = read_tensors(directory / WEIGHTS)
    try:
        model.load_state_dict(state)
    except RuntimeError as err:
        raise JetvizInputError(f"{directory / WEIGHTS}: weights do not match the config "
                               f"({str(err).splitlines()[0]})") from err
    if not all(torch.isfinite(v).all() for v in state.values()):
        raise JetvizInputError(f"{directory / WEIGHTS}: weights contain NaN/inf; the run "
                               "diverged — retrain it")
    return model.to(device).eval(), payload["config"], dict(payload.get("record") or {})


def load_samples(directory: str | os.PathLike) -> dict[str, torch.Tensor] | None:
    """The stored negative samples of an NAE checkpoint, or None for an AE."""
    path = Path(directory) / SAMPLES
    return read_tensors(path) if path.is_file() else None


def load_optimizer_state(directory: str | os.PathLike, optimizer: torch.optim.Optimizer
                         ) -> None:
    """Restore the Adam state saved beside a ``last/`` checkpoint."""
    directory = Path(directory)
    payload = read_config(directory)
    if "optimizer" not in payload:
        raise JetvizInputError(f"{directory}: no optimizer state stored; cannot resume")
    state: dict[int, dict[str, torch.Tensor]] = {}
    for name, value in read_tensors(directory / OPTIMIZER).items():
        pid, key = name.split(".", 1)
        state.setdefault(int(pid), {})[key] = value
    optimizer.load_state_dict({"state": state,
                               "param_groups": payload["optimizer"]["param_groups"]})
