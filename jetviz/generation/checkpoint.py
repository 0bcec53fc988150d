"""Generator and flow-prior checkpoints, in the one format of :mod:`jetviz.checkpoints`.

Layout of a generator (a directory, e.g. ``checkpoints/gen_g_emd/``)::

    config.json          kind "generator": "config" = the VAE's VAEConfig, "record" = its
                         training record (plus "mass_mmd" and "tuned_from" when its decoder
                         was fine-tuned) — the layout of a "vae" checkpoint
    model.safetensors    the VAE's weights
    flow/config.json     kind "flow-prior": "config" = FlowPriorConfig, "record" = the fit
                         record: β [GeV], classes, loss, the training jets' pT quantiles, the
                         VAE it was fitted to, fit history
    flow/model.safetensors   the flow's weights, loc and scale

The flow is written first and the generator's config.json last, so a directory the registry
lists as a "generator" is complete.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch

from jetviz import checkpoints
from jetviz.errors import JetvizInputError
from jetviz.generation.prior import FlowPrior, FlowPriorConfig
from jetviz.vae.checkpoint import load_checkpoint
from jetviz.vae.model import BetaVAE, PointVAE, VAEConfig

KIND = "generator"
PRIOR_KIND = "flow-prior"
FLOW_DIR = "flow"  # the flow prior's sub-checkpoint inside a generator


def save_prior(directory: str | os.PathLike, prior: FlowPrior, record: dict) -> Path:
    """Write a "flow-prior" checkpoint: its config, the fit ``record`` and its weights."""
    return checkpoints.save(directory, PRIOR_KIND, config=asdict(prior.config), record=record,
                            model=prior)


def prior_record(directory: str | os.PathLike) -> dict:
    """The fit record of a flow-prior checkpoint (β, classes, pT quantiles, history, ...)."""
    return dict(checkpoints.read_config(directory, PRIOR_KIND).get("record") or {})


def _rebuild(directory: str | os.PathLike, kind: str, from_dict: Callable[[dict], Any],
             build: Callable[[Any], torch.nn.Module]) -> tuple[torch.nn.Module, Any, dict]:
    """(model in eval mode, config, record) of a checkpoint of ``kind``: the config rebuilt by
    ``from_dict``, the model by ``build(config)``, its weights loaded."""
    payload = checkpoints.read_config(directory, kind)
    try:
        config = from_dict(payload["config"])
    except (KeyError, TypeError) as err:
        raise JetvizInputError(f"{directory}: {kind} config missing or malformed "
                               f"({err})") from err
    model = checkpoints.load_weights(directory, build(config))
    return model.eval(), config, dict(payload.get("record") or {})


def load_prior(directory: str | os.PathLike) -> tuple[FlowPrior, dict]:
    """Rebuild a flow prior from its checkpoint: (prior in eval mode, fit record)."""
    prior, _, record = _rebuild(directory, PRIOR_KIND, FlowPriorConfig.from_dict, FlowPrior)
    return prior, record


def save_generator(directory: str | os.PathLike, model: BetaVAE, config: VAEConfig,
                   record: dict, prior: FlowPrior, fit_record: dict) -> Path:
    """Write a generator: its flow prior into ``<directory>/flow``, then the VAE."""
    directory = Path(directory)
    save_prior(directory / FLOW_DIR, prior, fit_record)
    return checkpoints.save(directory, KIND, config=config.to_dict(), record=record,
                            model=model)


def load_vae(directory: str | os.PathLike) -> tuple[BetaVAE | PointVAE, VAEConfig, dict]:
    """(model in eval mode, config, record) of a generator's VAE, or of a VAE checkpoint
    (the folders ``--vae`` names): :func:`jetviz.vae.checkpoint.load_checkpoint` reads both."""
    return load_checkpoint(directory)
