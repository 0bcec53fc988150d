"""The β-VAE for jets of a few particles: one whitened vector per jet (``VAEConfig.whiten``).

A jet of P ≤ ``FEW_PARTICLES`` prepared particles (B, P, 3) (:mod:`jetviz.vae.inputs`) is
read as one vector (B, 3P): its particles ordered by decreasing ptrel (padding, ptrel 0,
last), flattened, then put in the training jets' principal-axis frame scaled to unit variance
(:mod:`jetviz.vae.whitening`). The encoder head and the decoder are the deep-sets model's
FiLM-MLPs (:class:`~jetviz.vae.model.BetaVAE`) on that vector; the decoder's output vector
is mapped back to P particles, ptrel clipped at 0 and renormalised to sum to 1, and compared
with the input by the config's loss (exact EMD by default).

Why: D1 cannot count a direction whose EMD spread is below the model's reconstruction floor,
and the deep-sets network's floor on a family of three-particle jets is a percent or so of
the family's largest spread. In the whitened frame a direction that moves the jet by 0.1 %
of the largest spread is as large, to the networks, as the largest one. The floors of both
networks on the same families are printed by ``benchmarks/d1_jet_family.py --deep-sets``
(figures in the README, "D1 on jet families").
The β-independent features of :meth:`features` are the whitened vector, so the β slider's
cache (:func:`jetviz.vae.scan.encode_decode`) works as for the deep-sets model.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from jetviz.errors import JetvizInputError
from jetviz.jets import JetSet
from jetviz.vae.model import BetaEmbedding, BetaVAE, FiLMMLP, VAEConfig
from jetviz.vae.whitening import from_frame, principal_frame, to_frame

FEW_PARTICLES = 4  # jets with at most this many particles train with this network by default
# smallest standard deviation of a whitened axis, relative to the largest: float32 particles
# carry ~1e-7 of their largest spread as rounding noise, which must not be magnified
SCALE_FLOOR = 1e-5


class FlatJetVAE(BetaVAE):
    """Few-particle jets as whitened vectors (see the module docstring); BetaVAE's interface."""

    def __init__(self, config: VAEConfig):
        nn.Module.__init__(self)
        if config.data != "jets" or not config.whiten:
            raise JetvizInputError("FlatJetVAE is the jet model with whiten=True")
        if config.n_particles_out != config.n_particles_in:
            raise JetvizInputError(
                f"a whitened jet model emits as many particles as it reads; got "
                f"{config.n_particles_in} in, {config.n_particles_out} out")
        self.config = config
        h, d, c = config.hidden, config.latent_dim, config.cond_dim
        n = 3 * config.n_particles_in
        self.embed_enc = BetaEmbedding(config)
        self.embed_dec = BetaEmbedding(config)
        self.head = FiLMMLP(n, h, 2 * d, config.depth, c, config.gate_skip)
        self.decoder = FiLMMLP(d, h, n, config.depth, c, config.gate_skip, config.gate_latent)
        self.register_buffer("centre", torch.zeros(n))  # identity until fit_whitening
        self.register_buffer("axes", torch.eye(n))  # rows: principal axes
        self.register_buffer("scale", torch.ones(n))  # standard deviation along each

    @staticmethod
    def flat(x: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        """(B, 3P) the particles (B, P, 3) by decreasing ptrel (padding zeroed, last), flattened."""
        if mask is not None:
            x = torch.where(mask[..., None], x, torch.zeros_like(x))
        order = torch.argsort(x[..., 0], dim=-1, descending=True, stable=True)
        return torch.gather(x, 1, order[..., None].expand_as(x)).flatten(1)

    @torch.no_grad()
    def fit_whitening(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> None:
        """Set the principal-axis frame from training jets x (N, P, 3)."""
        frame = (self.centre, self.axes, self.scale)
        fitted = principal_frame(self.flat(x, mask), SCALE_FLOOR)
        for buffer, value in zip(frame, fitted, strict=True):
            buffer.copy_(value)

    def features(self, x: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        """The whitened jet vectors (B, 3P) of prepared particles (B, P, 3)."""
        return to_frame(self.flat(x, mask), self.centre, self.axes, self.scale)

    def decode(self, z: torch.Tensor, log_beta: torch.Tensor) -> torch.Tensor:
        """Decoded jets (B, P, 3): ptrel (≥ 0, sums to 1), etarel, phirel."""
        y = self.decoder(z, self.embed_dec(self.beta_for(log_beta)))
        out = from_frame(y, self.centre, self.axes, self.scale).view(
            z.shape[0], self.config.n_particles_out, 3)
        ptrel = out[..., 0].clamp_min(0.0)
        ptrel = ptrel / ptrel.sum(-1, keepdim=True).clamp_min(1e-12)
        return torch.cat([ptrel.unsqueeze(-1), out[..., 1:]], dim=-1)


def latent_dim_of_jets(n_particles: int) -> int:
    """3P − 4 (at least 1): the dimension of prepared P-particle jets — 3 numbers per particle
    less the ptrel sum (1), the centring on the pT centroid (2) and the rotation of the
    principal axis onto η (1). D1 of a model with this latent size cannot exceed it."""
    return max(1, 3 * n_particles - 4)


EXTENT_JETS = 300  # jets sampled to measure a few-particle data set's EMD extent
BETA_RANGE = (3e-5, 30.0)  # default β range of a few-particle jet model, × that extent


def is_few_particle(jets: JetSet) -> bool:
    """True when no jet of ``jets`` has more than FEW_PARTICLES particles."""
    return int(jets.mask.sum(1).max(initial=0)) <= FEW_PARTICLES


def emd_extent(jets: JetSet, rng: np.random.Generator, n: int = EXTENT_JETS) -> float:
    """The largest exact EMD (GeV) among ``n`` jets drawn from ``jets``, prepared as the VAE
    compares them (:func:`jetviz.vae.inputs.prepare_particles`): the data's largest scale.

    Raises:
        JetvizInputError: the jets are all the same (nothing to learn).
    """
    from jetviz.emd.exact import pairwise_emds
    from jetviz.vae.inputs import prepare_particles

    pick = np.sort(rng.choice(len(jets), min(n, len(jets)), replace=False))
    sample = jets.subset(pick)
    x = prepare_particles(sample.particles, sample.mask).astype(np.float64)
    events = np.concatenate([x[..., :1] * sample.jets[:, :1, None], x[..., 1:]], -1)
    extent = float(pairwise_emds(events, R=jets.radius, n_jobs=1).max())
    if not extent > 0:
        raise JetvizInputError(f"{jets.source}: every jet is the same; nothing to learn")
    return extent


# How `jetviz train` trains a few-particle jet model unless told otherwise: for a time budget,
# the learning rate's cosine decay spread over it (a precise decoder needs the small steps at
# its end), no early stopping, every β weighing alike ("balanced": with "nats" the smallest β
# dominate and the largest are left unconverged, D1 < 0 there)
TRAINING_DEFAULTS = {"epochs": 100_000, "patience": 100_000, "max_minutes": 12.0,
                     "schedule_by_time": True}
WEIGHTING = "balanced"
# Steepness of the log β embedding at initialisation (VAEConfig.embed_sharpness). With the
# default (1) the largest direction of a jet family switched off over a 30-fold range of β
# (D1 at β = 0.58 / 1 × its scale well above the strip toy's, benchmarks/d1_jet_family.py):
# the conditioned model kept a tail of KL there that a model trained at that β alone drops
# at once, and more conditioned training did not remove it. The FiLM layers see log β
# through ramps that start as wide as the whole range (here 10⁶ in β); steeper ones let a
# direction switch off within a few-fold change of β. Much steeper (8) switched off as fast
# as the strip but put bumps into D1 at small β. Figures: README "D1 on jet families".
EMBED_SHARPNESS = 2.5
# Few-particle jet models cap the encoder's σ at 1 and shrink μ with it
# (VAEConfig.capped_posterior), so a direction shuts where a smooth function of log β crosses
# 0. Family A (benchmarks/d1_jet_family.py, one seed, 121-point scans, ≈ 1,450 epochs): median
# D1 3.10 / 1.96 / 0.95 / 0.00 in the four windows and excess 0.07 with it, 2.92 / 1.74 / 0.91 /
# −0.00 and 0.23 without; D1 at β = 0.18 / 0.33 × s_max 1.00 / 0.30 against 0.94 / 0.24.
CAPPED_POSTERIOR = True
