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
detector features (with dropout in training when ``summary_dropout`` > 0). Vocabulary:
x (B, 10) parton coordinates, y (B, F) detector features, c (B, context) the summary.

No I/O here: :mod:`jetviz.unfolding.checkpoint` stores a model with its config.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import zuko
from torch import nn

from jetviz.checkpoints import config_from_dict
from jetviz.errors import JetvizInputError


@dataclass(frozen=True)
class CINNConfig:
    """Everything needed to rebuild the cINN (saved in ``config.json``)."""

    features: int = 10  # D, parton coordinates (representation.PARTON_COORDS)
    condition: int = 97  # F, detector features (representation.condition_from_detector)
    context: int = 32  # size of the summary network's output
    summary_hidden: int = 128  # width of the summary MLP's two hidden layers
    summary_dropout: float = 0.0  # dropout after each hidden layer of the summary (training)
    transforms: int = 8  # spline transforms (feature orders alternate)
    hidden: int = 128  # width of each transform's two hidden layers
    bins: int = 8  # spline bins
    passes: int = 2  # sequential passes to invert each transform (2 = coupling)

    def __post_init__(self) -> None:
        sizes = (self.features, self.condition, self.context, self.summary_hidden,
                 self.transforms, self.hidden, self.bins, self.passes)
        if min(sizes) < 1:
            raise JetvizInputError(f"cINN sizes must be ≥ 1, got {self}")
        if not 0.0 <= self.summary_dropout < 1.0:
            raise JetvizInputError(f"summary_dropout must be in [0, 1), got {self.summary_dropout}")

    @classmethod
    def from_dict(cls, values: dict) -> CINNConfig:
        return config_from_dict(cls, values)


class ConditionalINN(nn.Module):
    """p(x | y): a conditional spline flow over parton coordinates, context from an MLP."""

    def __init__(self, config: CINNConfig):
        super().__init__()
        self.config = config
        h, p = config.summary_hidden, config.summary_dropout
        drop = [nn.Dropout(p)] if p > 0 else []  # none: the weights' names stay as without
        self.summary = nn.Sequential(
            nn.Linear(config.condition, h), nn.SiLU(), *drop, nn.Linear(h, h), nn.SiLU(), *drop,
            nn.Linear(h, config.context))
        self.flow = zuko.flows.NSF(config.features, context=config.context,
                                   transforms=config.transforms, bins=config.bins,
                                   hidden_features=[config.hidden] * 2, passes=config.passes)
        for name, size in (("x_loc", config.features), ("y_loc", config.condition)):
            self.register_buffer(name, torch.zeros(size))
        for name, size in (("x_scale", config.features), ("y_scale", config.condition)):
            self.register_buffer(name, torch.ones(size))

    def set_standardisation(self, x: np.ndarray, y: np.ndarray) -> None:
        """Fix loc/scale of parton coordinates and detector features from training arrays
        (moments in float64: a constant column's float32 rounding is no spread)."""
        x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
        self.set_moments(x.mean(axis=0), x.std(axis=0), y.mean(axis=0), y.std(axis=0))

    def set_moments(self, x_mean: np.ndarray, x_std: np.ndarray, y_mean: np.ndarray,
                    y_std: np.ndarray) -> None:
        """Fix loc/scale from the training arrays' per-column means and standard deviations
        (a column of std ≤ 1e-6 keeps scale 1)."""
        for prefix, loc, scale in (("x", x_mean, x_std), ("y", y_mean, y_std)):
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
