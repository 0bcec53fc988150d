"""The unfolding cINN in the one checkpoint format (:mod:`jetviz.checkpoints`, kind "cinn").

    config.json         "config": :class:`~jetviz.unfolding.flow.CINNConfig`,
                        "record": the training record (commands, train settings, history,
                        best epoch, n_test, ...)
    model.safetensors   the weights and the standardisation buffers (x_loc, x_scale, ...)
    last/               for --resume (:func:`jetviz.checkpoints.save_last`): the latest
                        epoch with its optimizer

Checkpoints written before the one format (``"format": "jetviz-cinn"``, the same files) are
converted in place by :func:`convert_legacy` (``jetviz checkpoints convert DIR``).
"""

from __future__ import annotations

import os
from dataclasses import asdict
from pathlib import Path

import torch

from jetviz import checkpoints
from jetviz.errors import JetvizInputError
from jetviz.unfolding.flow import CINNConfig, ConditionalINN

KIND = "cinn"
LEGACY_FORMAT = "jetviz-cinn"


def save_cinn(directory: str | os.PathLike, model: ConditionalINN, record: dict) -> Path:
    """Write the model (weights + config) and its training record into ``directory``."""
    return checkpoints.save(directory, KIND, config=asdict(model.config), record=record,
                            model=model)


def save_last(out: str | os.PathLike, model: ConditionalINN, record: dict,
              optimizer: torch.optim.Optimizer) -> Path:
    """Replace ``out/last`` (the resume state: weights, record, optimizer) as one unit."""
    return checkpoints.save_last(out, KIND, config=asdict(model.config), record=record,
                                 model=model, optimizer=optimizer)


def load_cinn(directory: str | os.PathLike, map_location: str | torch.device = "cpu"
              ) -> tuple[ConditionalINN, dict]:
    """Rebuild a cINN from its checkpoint: (model in eval mode, record)."""
    payload = checkpoints.read_config(directory, KIND)
    try:
        config = CINNConfig.from_dict(payload["config"])
    except (KeyError, TypeError) as err:
        raise JetvizInputError(f"{directory}: cINN config missing or malformed ({err})") from err
    model = checkpoints.load_weights(directory, ConditionalINN(config))
    return model.to(map_location).eval(), dict(payload.get("record") or {})


def convert_legacy(directory: str | os.PathLike) -> list[Path]:
    """Rewrite every "jetviz-cinn" checkpoint under ``directory`` in the one format.

    The old layout had the one format's files (model.safetensors, optimizer.safetensors in
    last/); only config.json's header changes, so the weights are untouched.
    """
    return checkpoints.relabel_legacy(directory, LEGACY_FORMAT, KIND)
