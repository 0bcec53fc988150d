"""A normalizing-flow prior over a VAE's latent space, fitted to its aggregate posterior.

Talk 001 found that generating jets with z ~ N(0, 1) is poor and proposed a normalizing-flow
prior (Rezende & Mohamed arXiv:1505.05770; for jets, talk 004). The reason: the decoder was
trained on z drawn from the posteriors q(z | x) of the training jets, and their mixture, the
**aggregate posterior** q(z) = ⟨q(z | x)⟩_x, is not N(0, 1) — the less the KL is weighted
(small β), the farther from it. A flow p_ψ(z) fitted by maximum likelihood to samples
z = μ(x) + σ(x) ε of q(z) gives the decoder the latents it knows.

The flow is zuko's neural spline flow (``NSF``: monotonic rational-quadratic splines in
masked autoregressive transforms, Durkan et al. arXiv:1906.04032) or ``MAF`` (affine,
Papamakarios et al. arXiv:1705.07057), applied to standardised latents
u = (z − loc)/scale so that the splines' domain [−5, 5] covers the data:

    log p(z) = log p_flow((z − loc)/scale) − Σ_d log scale_d.

Sampling draws ε ~ N(0, 1) from a passed ``torch.Generator`` and inverts the flow, so a seed
fixes the sample.

**Joint prior** (``joint_pt``): the flow is over (z, log pT) with pT the jet pT in GeV, fitted
to the training jets' (z ~ q(z | x), log pT(x)) pairs. A VAE decoder works in relative
coordinates and knows nothing of the jet pT, so a generator that draws pT independently of z
makes every jet's mass m = (m/pT)(z) · pT as if m/pT and pT were independent; for a resonance
m ≈ const, so m/pT falls as 1/pT and the independent draw smears the mass peak in GeV. The
joint flow keeps that correlation. Its samples are restricted to the training jets' log-pT
range (rows outside are drawn again: the data have hard pT cuts that a flow only smears).

This module holds the model only: :mod:`jetviz.generation.prior_train` fits it, and
:mod:`jetviz.generation.checkpoint` stores it as a ``"flow-prior"`` checkpoint
(:mod:`jetviz.checkpoints`: ``config.json`` with the FlowPriorConfig and the fit record,
``model.safetensors`` with the flow weights, loc and scale).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import zuko
from torch import nn

from jetviz.checkpoints import config_from_dict
from jetviz.errors import JetvizInputError

KINDS = ("nsf", "maf")


@dataclass(frozen=True)
class FlowPriorConfig:
    """Everything needed to rebuild the flow (saved in its checkpoint's config.json)."""

    features: int  # D, the latent dimension of the VAE
    kind: str = "nsf"  # "nsf" (rational-quadratic splines) or "maf" (affine)
    transforms: int = 4  # autoregressive transforms (orders alternate)
    hidden: int = 64  # width of the hidden layers of each transform's MADE
    depth: int = 2  # hidden layers per MADE
    bins: int = 8  # spline bins (nsf only)
    # Sequential passes of each transform's inverse, i.e. of sampling: None = one per
    # feature (fully autoregressive, slowest to sample); 2 = a coupling transform, which
    # samples D/2 times faster for a little less flexibility per transform.
    passes: int | None = None
    # True: one more flow feature after the D latents, log(jet pT / GeV), fitted jointly
    # with them; the generator then draws the jet pT from the flow, not the pT quantiles.
    joint_pt: bool = False

    @property
    def dims(self) -> int:
        """Features of the flow: D, plus 1 for log pT when ``joint_pt``."""
        return self.features + int(self.joint_pt)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise JetvizInputError(f"flow kind must be one of {KINDS}, got {self.kind!r}")
        if self.features < 1 or self.transforms < 1 or self.hidden < 1 or self.depth < 1:
            raise JetvizInputError(f"flow sizes must be ≥ 1, got {self}")
        if self.passes is not None and self.passes < 1:
            raise JetvizInputError(f"flow passes must be ≥ 1 or None, got {self.passes}")

    @classmethod
    def from_dict(cls, values: dict) -> FlowPriorConfig:
        return config_from_dict(cls, values)


class FlowPrior(nn.Module):
    """p(z) — or p(z, log pT) when ``config.joint_pt`` — by a zuko flow on standardised
    features. ``log_prob(x)`` (B,); ``sample(n, gen)`` latents; ``sample_joint(n, gen)``
    latents and log pT."""

    def __init__(self, config: FlowPriorConfig):
        super().__init__()
        self.config = config
        hidden = (config.hidden,) * config.depth
        if config.kind == "nsf":
            self.flow = zuko.flows.NSF(features=config.dims, context=0,
                                       transforms=config.transforms, hidden_features=hidden,
                                       bins=config.bins, passes=config.passes)
        else:
            self.flow = zuko.flows.MAF(features=config.dims, context=0,
                                       transforms=config.transforms, hidden_features=hidden,
                                       passes=config.passes)
        self.register_buffer("loc", torch.zeros(config.dims))
        self.register_buffer("scale", torch.ones(config.dims))
        if config.joint_pt:  # [min, max] of the training jets' log(pT / GeV)
            self.register_buffer("log_pt_range", torch.tensor([-math.inf, math.inf]))

    def _check(self, x: torch.Tensor) -> None:
        if x.ndim != 2 or x.shape[1] != self.config.dims:
            what = (f"{self.config.features} latent dimensions and log pT" if self.config.joint_pt
                    else f"{self.config.features} latent dimensions")
            raise JetvizInputError(f"the flow prior is over {what}; got an input of shape "
                                   f"{tuple(x.shape)}")

    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        """log p in nats, (B,), of latents z (B, D), or of (z, log pT) rows (B, D + 1) for a
        joint prior."""
        self._check(x)
        u = (x - self.loc) / self.scale
        return self.flow().log_prob(u) - torch.log(self.scale).sum()

    def _draw(self, n: int, generator: torch.Generator | None,
              temperature: float = 1.0) -> torch.Tensor:
        eps = torch.randn((n, self.config.dims), generator=generator, dtype=self.loc.dtype)
        eps = eps * temperature
        # The base of zuko's flows is a standard normal; sampling = inverse transform of ε.
        u = self.flow().transform.inv(eps.to(self.loc.device))
        return u * self.scale + self.loc

    @torch.no_grad()
    def sample_joint(self, n: int, generator: torch.Generator | None = None,
                     max_rounds: int = 20, temperature: float = 1.0
                     ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """n draws: latents (n, D) and, for a joint prior, log(pT / GeV) (n,) (else None).

        Rows of a joint prior whose log pT falls outside the training range are drawn again
        (up to ``max_rounds`` times, then clamped into it): the flow restricted to that range.
        ``temperature`` T scales the base draws, ε ~ N(0, T²): T < 1 concentrates the sample
        on the flow's densest latents, T > 1 spreads it beyond the fitted q(z).
        """
        check_temperature(temperature)
        x = self._draw(n, generator, temperature)
        if not self.config.joint_pt:
            return x, None
        low, high = (float(v) for v in self.log_pt_range)
        for _ in range(max_rounds):
            outside = (x[:, -1] < low) | (x[:, -1] > high)
            if not outside.any():
                break
            x[outside] = self._draw(int(outside.sum()), generator, temperature)
        return x[:, :-1], x[:, -1].clamp(low, high)

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """n latents (n, D) drawn from the prior (ε from ``generator``, then the inverse flow)."""
        return self.sample_joint(n, generator)[0]


def check_temperature(temperature: float) -> None:
    """Raise unless ``temperature`` is a finite number ≥ 0 (the scale of the base draws)."""
    if not (math.isfinite(temperature) and temperature >= 0):
        raise JetvizInputError(f"sampling temperature must be a finite number ≥ 0, got "
                               f"{temperature}")


def gaussian_log_prob(z: torch.Tensor) -> torch.Tensor:
    """log N(z; 0, 1) in nats, (B,): the standard VAE prior, for comparison."""
    return -0.5 * (z.square().sum(-1) + z.shape[-1] * math.log(2 * math.pi))
