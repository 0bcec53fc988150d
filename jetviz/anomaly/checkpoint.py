"""Anomaly models in the one checkpoint format (:mod:`jetviz.checkpoints`, kind "anomaly").

Layout (on top of the format's config.json and model.safetensors)::

    config.json           "config": {"model": AEConfig, "train": TrainConfig},
                          "record": {commands, data, history, evaluation, ...}
    samples.safetensors   (NAE) negative samples of the step kept: "x" (M, 1, n, n) after
                          the pixel chain, "x0" the decoded latent end points, "z" (M, d)
    last/                 for --resume (:func:`jetviz.checkpoints.save_last`): model,
                          optimizer (Adam moments), state.safetensors ("generator" state and
                          the replay "buffer") and the step reached in the record

Checkpoints written before the one format (``"format": "jetviz-anomaly"``, the same files)
are converted in place by :func:`convert_legacy` (``jetviz checkpoints convert DIR``).
"""

from __future__ import annotations

import os
from pathlib import Path

import torch

from jetviz import checkpoints
from jetviz.anomaly.model import AEConfig, ConvAE, build_model
from jetviz.errors import JetvizInputError

KIND = "anomaly"
LEGACY_FORMAT = "jetviz-anomaly"
SAMPLES, STATE = "samples", "state"  # part names (<part>.safetensors)


def load(directory: str | os.PathLike, device: str | torch.device = "cpu"
         ) -> tuple[ConvAE, dict, dict]:
    """Rebuild a model: (model in eval mode, config {"model", "train"}, record).

    Raises:
        JetvizInputError: missing or corrupt files, or weights that do not fit the config.
    """
    directory = Path(directory)
    payload = checkpoints.read_config(directory, KIND)
    try:
        model_config = AEConfig.from_dict(payload["config"]["model"])
    except (KeyError, TypeError) as err:
        raise JetvizInputError(f"{directory / checkpoints.CONFIG}: model config missing or "
                               f"malformed ({err})") from err
    model = checkpoints.load_weights(directory, build_model(model_config))
    return model.to(device).eval(), payload["config"], dict(payload.get("record") or {})


def load_samples(directory: str | os.PathLike) -> dict[str, torch.Tensor] | None:
    """The stored negative samples of an NAE checkpoint, or None for an AE."""
    if not checkpoints.has_part(directory, SAMPLES):
        return None
    return checkpoints.read_tensors(directory, SAMPLES)


def convert_legacy(directory: str | os.PathLike) -> list[Path]:
    """Rewrite every "jetviz-anomaly" checkpoint under ``directory`` in the one format.

    The old layout already had the one format's files (model, samples, optimizer, state
    safetensors); only config.json's header changes, so the weights are untouched.
    """
    return checkpoints.relabel_legacy(directory, LEGACY_FORMAT, KIND)


def modified_ns(directory: str | os.PathLike) -> int:
    """When the weights of a checkpoint last changed (ns; 0 when missing): a cache key."""
    path = Path(directory) / f"{checkpoints.WEIGHTS}.safetensors"
    return path.stat().st_mtime_ns if path.is_file() else 0
