"""The conditional INN: Gaussian noise → parton event, conditioned on the detector event.

Talk 004 (Bellagente et al., arXiv:2006.06685) unfolds with a conditional invertible network:
a bijection x = g(ε; c) between noise ε ~ N(0, 1) and parton-level events x, whose parameters
depend on the detector-level event y through a summary network c = s(y). The change of
variables gives the exact conditional density

    log p(x | y) = log N(g⁻¹(x; c); 0, 1) + log |det ∂g⁻¹/∂x|,

so the network is trained by maximum likelihood on paired events, and drawing ε and applying
g samples the posterior p(x | y) of one detector event — as many parton events as wanted.

Here g is zuko's conditional neural spline flow (``NSF``: rational-quadratic splines in masked
autoregressive transforms, Durkan et al. arXiv:1906.04032) with ``passes = 2`` (coupling
transforms, fast to invert), acting on standardised parton coordinates
u = (x − loc)/scale (``jetviz.unfolding.representation``), and s is an MLP on standardised
detector features. Vocabulary: x (B, 10) parton coordinates, y (B, F) detector features,
c (B, context) the summary.

A checkpoint is a directory: ``model.safetensors`` (weights and the standardisation buffers)
and ``config.json`` {"format": "jetviz-cinn", "version": 1, "config": CINNConfig,
"record": training record with the command}; ``last/`` adds the optimizer for --resume.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import numpy as np
import torch
import zuko
from torch import nn

from jetviz.errors import JetvizInputError
from jetviz.vae.checkpoint import _json_ready, _load_tensors, _write_json, _write_tensors

FORMAT = "jetviz-cinn"
VERSION = 1
WEIGHTS = "model.safetensors"
CONFIG = "config.json"


@dataclass(frozen=True)
class CINNConfig:
    """Everything needed to rebuild the cINN (saved in ``config.json``)."""

    features: int = 10  # D, parton coordinates (representation.PARTON_COORDS)
    condition: int = 38  # F, detector features (representation.condition_from_detector)
    context: int = 32  # size of the summary network's output
    summary_hidden: int = 128  # width of the summary MLP's two hidden layers
    transforms: int = 8  # spline transforms (feature orders alternate)
    hidden: int = 128  # width of each transform's two hidden layers
    bins: int = 8  # spline bins
    passes: int = 2  # sequential passes to invert each transform (2 = coupling)

    def __post_init__(self) -> None:
        sizes = (self.features, self.condition, self.context, self.summary_hidden,
                 self.transforms, self.hidden, self.bins, self.passes)
        if min(sizes) < 1:
            raise JetvizInputError(f"cINN sizes must be ≥ 1, got {self}")

    @classmethod
    def from_dict(cls, values: dict) -> CINNConfig:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise JetvizInputError(f"unknown CINNConfig fields {unknown}; known {sorted(known)}")
        return cls(**values)


class ConditionalINN(nn.Module):
    """p(x | y): a conditional spline flow over parton coordinates, context from an MLP."""

    def __init__(self, config: CINNConfig):
        super().__init__()
        self.config = config
        h = config.summary_hidden
        self.summary = nn.Sequential(
            nn.Linear(config.condition, h), nn.SiLU(), nn.Linear(h, h), nn.SiLU(),
            nn.Linear(h, config.context))
        self.flow = zuko.flows.NSF(config.features, context=config.context,
                                   transforms=config.transforms, bins=config.bins,
                                   hidden_features=[config.hidden] * 2, passes=config.passes)
        for name, size in (("x_loc", config.features), ("y_loc", config.condition)):
            self.register_buffer(name, torch.zeros(size))
        for name, size in (("x_scale", config.features), ("y_scale", config.condition)):
            self.register_buffer(name, torch.ones(size))

    def set_standardisation(self, x: np.ndarray, y: np.ndarray) -> None:
        """Fix loc/scale of parton coordinates and detector features from training arrays."""
        for prefix, a in (("x", x), ("y", y)):
            loc, scale = a.mean(axis=0), a.std(axis=0)
            getattr(self, f"{prefix}_loc").copy_(torch.as_tensor(loc, dtype=torch.float32))
            getattr(self, f"{prefix}_scale").copy_(
                torch.as_tensor(np.where(scale > 1e-6, scale, 1.0), dtype=torch.float32))

    def _check(self, x: torch.Tensor | None, y: torch.Tensor) -> None:
        if y.ndim != 2 or y.shape[1] != self.config.condition:
            raise JetvizInputError(
                f"expected detector features (B, {self.config.condition}), got {tuple(y.shape)}")
        if x is not None and (x.shape != (y.shape[0], self.config.features)):
            raise JetvizInputError(
                f"expected parton coordinates ({y.shape[0]}, {self.config.features}), "
                f"got {tuple(x.shape)}")

    def context(self, y: torch.Tensor) -> torch.Tensor:
        """Summary c = s(y) of detector events (B, F) → (B, context)."""
        self._check(None, y)
        return self.summary((y - self.y_loc) / self.y_scale)

    def log_prob(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """log p(x | y) in the units of the coordinates x (B,)."""
        self._check(x, y)
        u = (x - self.x_loc) / self.x_scale
        return self.flow(self.context(y)).log_prob(u) - torch.log(self.x_scale).sum()

    def forward_noise(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """ε = g⁻¹(x; y): the noise that maps to x (B, D)."""
        self._check(x, y)
        return self.flow(self.context(y)).transform((x - self.x_loc) / self.x_scale)

    def from_noise(self, eps: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """x = g(ε; y) for noise (B, D) and detector events (B, F)."""
        self._check(None, y)
        u = self.flow(self.context(y)).transform.inv(eps)
        return u * self.x_scale + self.x_loc

    @torch.no_grad()
    def sample(self, y: torch.Tensor, n: int, generator: torch.Generator | None = None
               ) -> torch.Tensor:
        """n posterior samples per detector event: (n, B, D), ε drawn from ``generator``."""
        self._check(None, y)
        b = y.shape[0]
        eps = torch.randn((n * b, self.config.features), generator=generator,
                          device="cpu").to(y.device)
        ctx = self.context(y).repeat(n, 1)  # (n·B, context), event index fastest
        u = self.flow(ctx).transform.inv(eps)
        return (u * self.x_scale + self.x_loc).reshape(n, b, self.config.features)


def save_cinn(directory: str | os.PathLike, model: ConditionalINN, record: dict,
              optimizer: torch.optim.Optimizer | None = None) -> Path:
    """Write weights (+ optimizer state) and config.json atomically into ``directory``."""
    from jetviz.vae.checkpoint import OPTIMIZER, optimizer_to_tensors

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    _write_tensors(directory / WEIGHTS, model.state_dict())
    extra = {}
    if optimizer is not None:
        tensors, meta = optimizer_to_tensors(optimizer)
        _write_tensors(directory / OPTIMIZER, tensors)
        extra["optimizer"] = meta
    _write_json(directory / CONFIG, {"format": FORMAT, "version": VERSION,
                                     "config": asdict(model.config),
                                     "record": _json_ready(record), **extra})
    return directory


def read_cinn_json(directory: str | os.PathLike) -> dict:
    """The checked ``config.json`` of a cINN checkpoint."""
    path = Path(directory) / CONFIG
    if not path.is_file():
        raise JetvizInputError(f"{directory}: no {CONFIG}; train a model with "
                               "`jetviz unfold train` or use checkpoints/unfolding/cinn")
    try:
        payload = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise JetvizInputError(f"{path}: not valid JSON ({err})") from err
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise JetvizInputError(f"{path}: expected a {FORMAT!r} config")
    if payload.get("version") != VERSION:
        raise JetvizInputError(f"{path}: version {payload.get('version')} is not {VERSION}")
    return payload


def load_cinn(directory: str | os.PathLike, map_location: str | torch.device = "cpu"
              ) -> tuple[ConditionalINN, dict]:
    """Rebuild a cINN from its directory (safetensors + JSON): (model in eval mode, record)."""
    payload = read_cinn_json(directory)
    model = ConditionalINN(CINNConfig.from_dict(payload["config"]))
    state = _load_tensors(Path(directory) / WEIGHTS)
    try:
        model.load_state_dict(state)
    except RuntimeError as err:
        raise JetvizInputError(f"{directory}: weights do not match the config "
                               f"({str(err).splitlines()[0]})") from err
    return model.to(map_location).eval(), dict(payload.get("record") or {})


def load_cinn_optimizer(directory: str | os.PathLike, optimizer: torch.optim.Optimizer) -> None:
    """Restore the optimizer state saved beside a cINN (``last/``) for --resume."""
    from jetviz.vae.checkpoint import OPTIMIZER

    payload = read_cinn_json(directory)
    if "optimizer" not in payload:
        raise JetvizInputError(f"{directory}: no optimizer state stored; cannot resume from it")
    state: dict[int, dict[str, torch.Tensor]] = {}
    for name, value in _load_tensors(Path(directory) / OPTIMIZER).items():
        pid, key = name.split(".", 1)
        state.setdefault(int(pid), {})[key] = value
    optimizer.load_state_dict({"state": state,
                               "param_groups": payload["optimizer"]["param_groups"]})
