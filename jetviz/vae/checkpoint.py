"""VAE checkpoints: a directory with ``model.safetensors`` and ``config.json``.

Layout of a checkpoint directory::

    model.safetensors   weights of the best epoch (safetensors; never pickle)
    config.json         {"format": "jetviz-vae", "version": 1,
                         "config": VAEConfig fields, "record": training record
                         (command, data, per-epoch history, best epoch, throughput, ...),
                         "scan": the per-β scan (jetviz.vae.scan.BetaScan.to_dict()) or null}
    last/               the last epoch, for --resume: model.safetensors,
                        optimizer.safetensors (Adam moments) and config.json

Every file is written through :func:`jetviz.files.atomic_path`, so an interrupted write
leaves the previous checkpoint intact. ``last/`` is replaced as one unit
(:func:`save_last`): the new epoch is written whole into a hidden sibling folder, then swapped
in by two renames; :func:`recover_last` (run before every resume) finishes or undoes a swap
that a kill interrupted, so weights, optimizer and record always belong to the same epoch.
``load_checkpoint`` returns ``(model, config, record)``
where ``model`` is a :class:`~jetviz.vae.model.BetaVAE` (jets) or
:class:`~jetviz.vae.model.PointVAE` (``config.data == "banana"``); both have the same
``encode(x, mask, log_beta)`` / ``decode(z, log_beta)`` interface. The stored scan is
``record["scan"]`` (a dict; ``jetviz.vae.scan.BetaScan.from_dict`` rebuilds it).
"""

from __future__ import annotations

import json
import math
import os
import shutil
import uuid
from collections.abc import Callable
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from jetviz.errors import JetvizInputError
from jetviz.files import atomic_path
from jetviz.vae.model import BetaVAE, PointVAE, VAEConfig, build_model

FORMAT = "jetviz-vae"
VERSION = 1
WEIGHTS = "model.safetensors"
CONFIG = "config.json"
OPTIMIZER = "optimizer.safetensors"
LAST = "last"


def _json_ready(value):
    """Replace non-finite floats (not valid JSON) by None, recursively."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): _json_ready(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_ready(v) for v in value]
    return value


def _write_json(path: Path, payload: dict) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(_json_ready(payload), indent=1, allow_nan=False))


def _write_tensors(path: Path, tensors: dict[str, torch.Tensor]) -> None:
    with atomic_path(path) as tmp:
        save_file({k: v.detach().cpu().contiguous() for k, v in tensors.items()}, str(tmp))


def save_checkpoint(directory: str | os.PathLike, model: BetaVAE | PointVAE, config: VAEConfig,
                    record: dict, optimizer: torch.optim.Optimizer | None = None) -> Path:
    """Write weights and config atomically into ``directory`` (created if missing).

    Args:
        directory: the checkpoint directory.
        model: the model whose ``state_dict`` is saved.
        config: its config.
        record: training record (JSON-ready: numbers, strings, lists, dicts); a ``scan`` key
            holds the per-β scan.
        optimizer: when given, its state is saved too (``optimizer.safetensors``; Adam only),
            which is what ``last/`` holds for resuming.

    Returns:
        The directory path.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    state = model.module.state_dict() if hasattr(model, "module") else model.state_dict()
    _write_tensors(directory / WEIGHTS, state)
    extra = {}
    if optimizer is not None:
        tensors, meta = optimizer_to_tensors(optimizer)
        _write_tensors(directory / OPTIMIZER, tensors)
        extra["optimizer"] = meta
    _write_json(directory / CONFIG, {"format": FORMAT, "version": VERSION,
                                     "config": config.to_dict(), "record": record, **extra})
    return directory


_NEW, _OLD = ".last-new-", ".last-old-"  # prefixes of the swap's hidden folders


def _swap_hook(stage: str) -> None:
    """Called between the steps of :func:`save_last` (tests replace it to simulate a kill)."""


swap_hook: Callable[[str], None] = _swap_hook


def save_last(out_dir: str | os.PathLike, model: BetaVAE | PointVAE, config: VAEConfig,
              record: dict, optimizer: torch.optim.Optimizer) -> Path:
    """Replace ``<out_dir>/last`` by this epoch's weights, optimizer and record as one unit.

    The checkpoint is written into ``.last-new-<uuid>/`` (its config.json last), then
    ``last`` is renamed to ``.last-old-<uuid>``, the new folder to ``last``, and the old one
    removed. A kill at any instant leaves either the previous ``last`` intact or a complete
    new folder that :func:`recover_last` puts in place.
    """
    out_dir = Path(out_dir)
    tag = uuid.uuid4().hex[:12]
    new, old, last = out_dir / f"{_NEW}{tag}", out_dir / f"{_OLD}{tag}", out_dir / LAST
    save_checkpoint(new, model, config, record, optimizer)
    swap_hook("written")
    if last.exists():
        last.rename(old)
    swap_hook("old_moved")
    new.rename(last)
    swap_hook("new_in_place")
    shutil.rmtree(old, ignore_errors=True)
    return last


def recover_last(out_dir: str | os.PathLike) -> None:
    """Finish or undo an interrupted :func:`save_last` and remove its leftovers.

    With ``last`` present, the hidden folders are leftovers. Without it, a complete new
    folder (config.json written, which happens last) becomes ``last``; failing that, the
    previous one is put back.
    """
    out_dir = Path(out_dir)
    if not out_dir.is_dir():
        return
    last = out_dir / LAST
    news = sorted(out_dir.glob(f"{_NEW}*"), key=lambda p: p.stat().st_mtime_ns)
    olds = sorted(out_dir.glob(f"{_OLD}*"), key=lambda p: p.stat().st_mtime_ns)
    if not last.exists():
        complete = [p for p in news if (p / CONFIG).is_file()]
        if complete:
            complete[-1].rename(last)
        elif olds:
            olds[-1].rename(last)
    for leftover in [*news, *olds]:
        if leftover.exists():
            shutil.rmtree(leftover, ignore_errors=True)


def read_config(directory: str | os.PathLike) -> dict:
    """The parsed ``config.json`` of a checkpoint, checked for format and version."""
    path = Path(directory) / CONFIG
    if not path.is_file():
        raise JetvizInputError(
            f"{directory}: not a jetviz VAE checkpoint (no {CONFIG}); train one with "
            "`jetviz train` or pick a directory under checkpoints/")
    try:
        payload = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise JetvizInputError(f"{path}: corrupt checkpoint config, not valid JSON ({err}); "
                               "retrain or restore the file") from err
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        found = payload.get("format") if isinstance(payload, dict) else type(payload).__name__
        raise JetvizInputError(f"{path}: expected a {FORMAT!r} config, found format {found!r}")
    if payload.get("version") != VERSION:
        raise JetvizInputError(f"{path}: checkpoint version {payload.get('version')} is not the "
                               f"supported version {VERSION}")
    return payload


def _load_tensors(path: Path) -> dict[str, torch.Tensor]:
    if not path.is_file():
        raise JetvizInputError(f"{path}: weights file missing; the checkpoint is incomplete")
    try:
        return load_file(str(path))
    except (SafetensorError, OSError, ValueError, RuntimeError) as err:
        raise JetvizInputError(f"{path}: corrupt safetensors weights ({err}); retrain or restore "
                               "the file") from err


def load_checkpoint(directory: str | os.PathLike,
                    map_location: str | torch.device = "cpu"
                    ) -> tuple[BetaVAE | PointVAE, VAEConfig, dict]:
    """Rebuild a model from a checkpoint directory (safetensors + JSON only).

    Returns:
        (model in eval mode on ``map_location``, its VAEConfig, the training record with the
        stored per-β scan under ``record["scan"]``).

    Raises:
        JetvizInputError: the directory is not a checkpoint, or a file is missing, corrupt or
        does not match the config.
    """
    directory = Path(directory)
    payload = read_config(directory)
    try:
        config = VAEConfig.from_dict(payload["config"])
    except (KeyError, TypeError) as err:
        raise JetvizInputError(f"{directory / CONFIG}: config section missing or malformed "
                               f"({err})") from err
    model = build_model(config)
    state = _load_tensors(directory / WEIGHTS)
    try:
        model.load_state_dict(state)
    except RuntimeError as err:
        raise JetvizInputError(f"{directory / WEIGHTS}: weights do not match the config "
                               f"({str(err).splitlines()[0]})") from err
    if not all(torch.isfinite(v).all() for v in state.values()):
        raise JetvizInputError(f"{directory / WEIGHTS}: weights contain NaN/inf; this run "
                               "diverged — use an earlier checkpoint or retrain")
    record = dict(payload.get("record") or {})
    record.setdefault("scan", None)
    return model.to(map_location).eval(), config, record


def optimizer_to_tensors(optimizer: torch.optim.Optimizer) -> tuple[dict[str, torch.Tensor], dict]:
    """Adam-style optimizer state as flat tensors plus JSON metadata (param groups)."""
    sd = optimizer.state_dict()
    tensors = {}
    for pid, st in sd["state"].items():
        for key, value in st.items():
            t = value if torch.is_tensor(value) else torch.tensor(float(value))
            tensors[f"{pid}.{key}"] = t
    groups = [{k: v for k, v in g.items()} for g in sd["param_groups"]]
    return tensors, {"param_groups": groups}


def load_optimizer(directory: str | os.PathLike, optimizer: torch.optim.Optimizer) -> None:
    """Restore optimizer state saved by :func:`save_checkpoint` into ``optimizer``."""
    directory = Path(directory)
    payload = read_config(directory)
    if "optimizer" not in payload:
        raise JetvizInputError(f"{directory}: no optimizer state stored; cannot resume from it")
    tensors = _load_tensors(directory / OPTIMIZER)
    state: dict[int, dict[str, torch.Tensor]] = {}
    for name, value in tensors.items():
        pid, key = name.split(".", 1)
        state.setdefault(int(pid), {})[key] = value
    optimizer.load_state_dict({"state": state,
                               "param_groups": payload["optimizer"]["param_groups"]})
