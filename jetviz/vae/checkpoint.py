"""VAE checkpoints in the one jetviz format (:mod:`jetviz.checkpoints`, kind ``"vae"``).

Vocabulary
----------
A **VAE checkpoint** is a directory::

    config.json         {"format": "jetviz", "version": 2, "kind": "vae",
                         "config": VAEConfig fields, "record": the training record
                         (command, data, per-epoch history, best epoch, throughput,
                         "scan": the per-β scan as jetviz.vae.scan.BetaScan.to_dict() or null,
                         "slider_emd": what slider_emd.safetensors holds, if present)}
    model.safetensors   weights of the best epoch (safetensors; never pickle)
    last/               the last epoch for ``--resume``: the same layout plus
                        optimizer.safetensors (Adam moments), replaced as one unit
                        (:func:`jetviz.checkpoints.save_last`)
    slider_emd.safetensors   optional stored EMDs of the β slider (jetviz.vae.slider_emd)

A **generator** checkpoint (kind ``"generator"``, ``checkpoints/gen_*``) has the same
config/weights layout plus a ``flow/`` sub-checkpoint; :func:`load_checkpoint` reads both
kinds. ``load_checkpoint`` returns ``(model, config, record)`` where ``model`` is a
:class:`~jetviz.vae.model.BetaVAE` (jets) or :class:`~jetviz.vae.model.PointVAE` (points);
both have the same ``encode(x, mask, log_beta)`` / ``decode(z, log_beta)`` interface.

Checkpoints written before the one format (``"format": "jetviz-vae"``, version 1: the same
files with another config.json header) are converted in place by :func:`convert_legacy`
(``jetviz checkpoints convert DIR``), without retraining.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import torch

from jetviz import checkpoints
from jetviz.errors import JetvizInputError
from jetviz.vae.model import BetaVAE, PointVAE, VAEConfig, build_model
from jetviz.vae.slider_emd import convert_legacy_grid

KIND = "vae"
READABLE_KINDS = ("vae", "generator")  # kinds whose config/weights are a VAE
LEGACY_FORMAT = "jetviz-vae"  # config.json "format" of the layout before the one format
LAST = checkpoints.LAST
WEIGHTS_FILE = f"{checkpoints.WEIGHTS}.safetensors"


def save_checkpoint(directory: str | os.PathLike, model: BetaVAE | PointVAE, config: VAEConfig,
                    record: dict, optimizer: torch.optim.Optimizer | None = None, *,
                    kind: str = KIND) -> Path:
    """Write weights and config atomically into ``directory`` (created if missing).

    Args:
        directory: the checkpoint directory.
        model: the model whose ``state_dict`` is saved (a DDP wrapper is unwrapped).
        config: its config.
        record: training record (JSON-ready); a ``scan`` key holds the per-β scan.
        optimizer: when given, its state is saved too (``optimizer.safetensors``; Adam only),
            which is what ``last/`` holds for resuming.
        kind: "vae", or "generator" for a generator's VAE (beside its ``flow/``).

    Returns:
        The directory path.
    """
    return checkpoints.save(directory, kind, config=config.to_dict(), record=record,
                            model=model, optimizer=optimizer)


def save_epoch(out_dir: str | os.PathLike, model: BetaVAE | PointVAE, config: VAEConfig,
               record: dict, optimizer: torch.optim.Optimizer, improved: bool) -> None:
    """Checkpoint one training epoch: the best model (if ``improved`` or none yet), then
    ``last/`` as one unit. A kill before ``last/`` is swapped makes a resume redo this
    epoch, which rewrites the same best model (training is deterministic)."""
    out_dir = Path(out_dir)
    if improved or not (out_dir / WEIGHTS_FILE).exists():
        save_checkpoint(out_dir, model, config, record)
    checkpoints.save_last(out_dir, KIND, config=config.to_dict(), record=record, model=model,
                          optimizer=optimizer)


def read_config(directory: str | os.PathLike) -> dict:
    """The parsed config.json of a VAE (or generator) checkpoint, format-checked."""
    payload = checkpoints.read_config(directory)
    if payload.get("kind") not in READABLE_KINDS:
        raise JetvizInputError(f"{directory}: this is a {payload.get('kind')!r} checkpoint, "
                               "not a VAE; pick a vae_* folder or train one with `jetviz train`")
    return payload


def load_checkpoint(directory: str | os.PathLike,
                    map_location: str | torch.device = "cpu"
                    ) -> tuple[BetaVAE | PointVAE, VAEConfig, dict]:
    """Rebuild a model from a checkpoint directory (safetensors + JSON only).

    Returns:
        (model in eval mode on ``map_location``, its VAEConfig, the training record with the
        stored per-β scan under ``record["scan"]``).

    Raises:
        JetvizInputError: the directory is not a VAE checkpoint, or a file is missing,
        corrupt or does not match the config.
    """
    directory = Path(directory)
    payload = read_config(directory)
    try:
        config = VAEConfig.from_dict(payload["config"])
    except (KeyError, TypeError) as err:
        raise JetvizInputError(f"{directory / checkpoints.CONFIG}: config section missing or "
                               f"malformed ({err})") from err
    model = checkpoints.load_weights(directory, build_model(config))
    record = dict(payload.get("record") or {})
    record.setdefault("scan", None)
    return model.to(map_location).eval(), config, record


def load_training_state(directory: str | os.PathLike, model: BetaVAE | PointVAE,
                        optimizer: torch.optim.Optimizer) -> None:
    """Load the weights and optimizer state of ``directory`` (a ``last/``) for a resume."""
    checkpoints.load_weights(directory, model)
    checkpoints.load_optimizer(directory, optimizer)


# ------------------------------------------------------------- the layout before version 2


def _legacy_payload(directory: Path) -> dict | None:
    path = directory / checkpoints.CONFIG
    try:
        payload = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError, UnicodeDecodeError):
        return None
    return payload if isinstance(payload, dict) and payload.get("format") == LEGACY_FORMAT \
        else None


def _convert_one(directory: Path, payload: dict) -> None:
    if payload.get("version") != 1:
        raise JetvizInputError(f"{directory}: {LEGACY_FORMAT!r} version "
                               f"{payload.get('version')} is unknown; expected version 1")
    rest = {k: v for k, v in payload.items() if k not in ("format", "version", "kind")}
    checkpoints.write_json(directory / checkpoints.CONFIG,
                           {"format": checkpoints.FORMAT, "version": checkpoints.VERSION,
                            "kind": KIND, **rest})


def convert_legacy(directory: str | os.PathLike) -> list[Path]:
    """Convert every old ``"jetviz-vae"`` checkpoint under ``directory`` (itself included)
    to kind ``"vae"`` of the one format, in place; returns the converted directories.

    Only config.json headers change (weights, optimizer and the ``last/`` layout were
    already the one format's), except a stored ``slider_emd.safetensors`` whose text
    metadata moves into ``record["slider_emd"]`` (:mod:`jetviz.vae.slider_emd`). Folders
    with a ``flow/`` sub-checkpoint are generators, converted by the generation package.
    The ``last/`` folder is converted before its parent, whose config.json (written last)
    marks the conversion complete.
    """
    done: list[Path] = []
    for config_path in sorted(Path(directory).rglob(checkpoints.CONFIG), key=lambda p:
                              -len(p.parts)):
        ck = config_path.parent
        if any((parent / "flow").is_dir() for parent in (ck, ck.parent)):
            continue  # a generator (or its last/): the generation package converts those
        payload = _legacy_payload(ck)
        if payload is None:
            continue
        if ck.name != LAST:
            convert_legacy_grid(ck, payload.setdefault("record", {}))
        _convert_one(ck, payload)
        done.append(ck)
    return done
