"""β-conditioned variational autoencoders for jets (talk 000, Collins) and for 2-D toy points.

Vocabulary
----------
A jet enters as particles (B, P, 3) = (ptrel, etarel, phirel) with a mask (B, P) (True for
real particles) — already prepared by :func:`jetviz.vae.inputs.prepare_jets` (ptrel
renormalised to sum to 1, centred, rotated, flipped). The decoder emits (B, P_out, 3)
particles with ptrel ≥ 0 summing to 1 (a softmax), etarel and phirel. A toy point is (B, 2).

β is dimensionful: the same units as the reconstruction distance (GeV for jets, data units
for the toy). The models take log β per example, (B,), and are conditioned on it by FiLM
(feature-wise affine modulation, Perez et al. arXiv:1709.07871) in every hidden layer of the
encoder and decoder, so one network serves every β in [beta_min, beta_max]
(loss-conditional training, Dosovitskiy & Djolonga, ICLR 2020). A model with
``conditioned=False`` has the same layers but is always fed its fixed β.

Both model classes share one interface, so pages can use whatever ``load_checkpoint`` returns
uniformly::

    mu, logvar = model.encode(x, mask, log_beta)   # (B, D), (B, D)
    x_hat = model.decode(z, log_beta)              # (B, P_out, 3) jets | (B, 2) points

with ``x`` (B, P, 3) and ``mask`` (B, P) for jets, ``x`` (B, 2) and ``mask=None`` for points;
``model.config.data`` says which.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
import torch
from torch import nn

from jetviz.checkpoints import config_from_dict
from jetviz.errors import JetvizInputError
from jetviz.vae.gradients import scale_gradient
from jetviz.vae.layers import MLP, FiLMMLP, posterior
from jetviz.vae.whitening import from_frame, principal_frame, to_frame

LOSSES = ("sinkhorn", "exact", "chamfer", "mse", "euclidean")
DATA_KINDS = ("jets", "banana", "points")
WEIGHTINGS = ("balanced", "nats", "gev2")
MAX_POINT_DIM = 64  # widest points a PointVAE takes
# What a new β-conditioned jet model is built with (``jetviz train``, the app's train page),
# where it differs from the VAEConfig defaults (those rebuild older checkpoints and the point
# toys): "balanced" weighting (with "nats" the large-β end lags: conditioned/fixed loss 1.3 and
# 4.0 at 30 and 200 GeV), a 256-wide encoder head and decoder (the per-particle net, most of
# the compute, kept at 128), and log β drawn as u^1.5 (more small β: uniform in log β left
# 5 GeV 1.20× a fixed-β model after 80 epochs, u^1.5 1.07× on two seeds; 30 GeV 1.06–1.08×,
# 200 GeV 1.07–1.16×), and the balanced weighting's floor at 0.25 nat over the second half of
# training (``balance_floor``: the encoder shuts at large β, where the 1-nat floor left a KL
# of 0.002–0.007 nats against the fixed model's 0.000; 200 GeV on seed 1 1.157× → 1.061×).
# Figures: benchmarks/vae_conditioning.py, README "Conditioned vs fixed β".
JET_MODEL = {"weighting": "balanced", "hidden": 256, "particle_hidden": 128, "beta_power": 1.5,
             "balance_floor": 0.25}


@dataclass(frozen=True)
class VAEConfig:
    """Everything needed to rebuild a model (saved inside every checkpoint)."""

    # "jets": particle sets (B, P, 3); "points": toy or user points (B, point_dim), Euclidean;
    # "banana": the 2-D banana toy (points, kept as its own name for the shipped model)
    data: str = "jets"
    n_particles_in: int = 30  # P of the input jets (the model refuses other P)
    n_particles_out: int = 30  # particles the decoder emits per jet
    latent_dim: int = 12  # D, the number of latent dimensions
    hidden: int = 128  # width of the hidden layers (encoder head, decoder; Φ unless below)
    particle_hidden: int = 0  # width of the encoder's per-particle net Φ (0: = hidden)
    depth: int = 3  # linear layers per MLP (encoder per-particle net, encoder head, decoder)
    cond_dim: int = 32  # width of the log β embedding that produces the FiLM scales/shifts
    beta_min: float = 1.0  # lower end of the β range (GeV for jets), the slider's minimum
    beta_max: float = 1000.0  # upper end of the β range (GeV for jets), the slider's maximum
    conditioned: bool = True  # True: one model for every β (log β sampled per example)
    beta_fixed: float = 0.0  # the only β a conditioned=False model is trained at (GeV)
    loss: str = "exact"  # reconstruction distance: exact | sinkhorn | chamfer | mse | euclidean
    radius: float = 0.8  # jet radius R: the EMD ground distance is θ/R
    coord_scale: float = 0.1  # (η, φ) unit inside the networks: prongs of a 1 TeV jet sit at ~0.1
    sinkhorn_eps: float = 0.003  # Sinkhorn ε relative to the pair's largest θ/R (jetviz.emd)
    sinkhorn_iter: int = 32  # Sinkhorn iterations (error vs exact: benchmarks/emd.py)
    chamfer_pt_weight: float = 1.0  # weight of the (pT_jet − p̂T_jet)² term of the Chamfer loss
    chamfer_mass_weight: float = 1.0  # weight of the (m_jet − m̂_jet)² term of the Chamfer loss
    # The same jet pT and mass terms added to the MSE loss (talk 001: "MSE + jet pT and mass
    # terms"); 0 is off, as in every model saved before these fields existed
    mse_pt_weight: float = 0.0
    mse_mass_weight: float = 0.0
    # How examples at different β weigh in a batch (each β's optimum is the same for all):
    # "balanced": d²/(2β²) + KL divided by max(balance_floor, its running mean at similar β)
    # (every β counts about equally); "nats": d²/(2β²) + KL; "gev2": (d²/2 + β²KL)/β_max².
    weighting: str = "nats"
    # nats: the floor of the "balanced" weighting's scale over the second half of training
    # (jetviz.vae.losses.balance_floor; 1 nat before, and for fixed-β models). Below it (large
    # β, where the loss is hundredths of a nat) an example weighs 1/balance_floor of a 1-nat
    # one, so the encoder is pulled to shut there (KL 0), as the optimum does
    balance_floor: float = 1.0
    point_dim: int = 2  # dimension of the points for data="points" (2 for the banana)
    # The networks work in the training data's principal-axis frame, each axis scaled to unit
    # variance (jetviz.vae.whitening), so a thin direction is resolved as precisely as a long
    # one. Points: the points; jets: the few-particle network (jetviz.vae.flat.FlatJetVAE)
    whiten: bool = False
    # The β-conditioned layers' linear skips are modulated by β as well (FiLMMLP); a model
    # saved before this field existed has plain skips (from_dict reads it as False)
    gate_skip: bool = True
    # Training draws log β = log beta_min + (log beta_max − log beta_min)·u^p, u uniform: 1 is
    # uniform in log β; p > 1 puts more of the examples at small β, where there is most to
    # learn (no β's optimum moves). A model saved before this field existed read as 1.
    beta_power: float = 1.0
    # The decoder scales its latent input per dimension by a learnt function of β (FiLMMLP's
    # gate_input), so at large β it can stop reading z and draw the best constant jet; without
    # it the few-particle jet models passed the latent noise on there and kept a tail of KL
    # (jetviz.vae.flat). A model saved before this field existed reads as False.
    gate_latent: bool = False
    # Steepness of the log β embedding's first layer at initialisation (1: PyTorch's default).
    # s > 1 starts its cond_dim ramps (SiLU of w t + b, t = log β mapped to [−1, 1]) with
    # |w| in [s/2, s] and kinks spread evenly over the range, so a latent direction can
    # switch on or off within a few-fold change of β rather than over the whole range.
    embed_sharpness: float = 1.0
    # The encoder's σ is capped at 1 and its μ shrinks with it (jetviz.vae.layers.posterior):
    # log σ² = −softplus(−k r)/k of the network's output r and μ = √(1 − σ²)·m. A latent
    # direction then shuts (σ → 1, μ → 0, KL → 0) where r, a smooth function of log β, crosses
    # 0; with the plain posterior μ and log σ² themselves must bend sharply there, and a
    # β-conditioned network bends them over a several-fold range of β. A model saved before
    # this field existed reads as False.
    capped_posterior: bool = False

    @property
    def is_points(self) -> bool:
        """True for point data (toys, a user's points file): Euclidean distance, no jets."""
        return self.data != "jets"

    def __post_init__(self) -> None:
        if self.data not in DATA_KINDS:
            raise JetvizInputError(f"VAEConfig.data must be one of {DATA_KINDS}, got {self.data!r}")
        if self.loss not in LOSSES:
            raise JetvizInputError(f"VAEConfig.loss must be one of {LOSSES}, got {self.loss!r}")
        if self.is_points and self.loss != "euclidean":
            raise JetvizInputError("point data use loss='euclidean' (points have no EMD)")
        if not 1 <= self.point_dim <= MAX_POINT_DIM or (self.data == "banana"
                                                       and self.point_dim != 2):
            raise JetvizInputError(f"point_dim must be 1–{MAX_POINT_DIM} (2 for the banana), "
                                   f"got {self.point_dim}")
        if self.data == "jets" and self.loss == "euclidean":
            raise JetvizInputError("jets need a set loss: sinkhorn, exact, chamfer or mse")
        if not 0 < self.beta_min < self.beta_max:
            raise JetvizInputError(
                f"need 0 < beta_min < beta_max, got {self.beta_min} and {self.beta_max}")
        if not self.conditioned and not self.beta_min <= self.beta_fixed <= self.beta_max:
            raise JetvizInputError(
                f"a fixed-β model needs beta_min ≤ beta_fixed ≤ beta_max, got {self.beta_fixed}")
        if self.particle_hidden < 0:
            raise JetvizInputError(f"particle_hidden must be ≥ 0, got {self.particle_hidden}")
        if not 0 < self.balance_floor <= 1:
            raise JetvizInputError(
                f"balance_floor must be in (0, 1] nats, got {self.balance_floor}")
        if not self.embed_sharpness > 0:
            raise JetvizInputError(f"embed_sharpness must be positive, got {self.embed_sharpness}")
        if not self.beta_power > 0:
            raise JetvizInputError(f"beta_power must be positive, got {self.beta_power}")
        if min(self.mse_pt_weight, self.mse_mass_weight) < 0:
            raise JetvizInputError("the MSE loss's jet pT and mass weights must be ≥ 0, got "
                                   f"{self.mse_pt_weight} and {self.mse_mass_weight}")
        if self.loss != "mse" and (self.mse_pt_weight or self.mse_mass_weight):
            raise JetvizInputError(f"jet pT and mass weights for the MSE loss need loss='mse', "
                                   f"got loss={self.loss!r}")
        if self.weighting not in WEIGHTINGS:
            raise JetvizInputError(
                f"weighting must be one of {WEIGHTINGS}, got {self.weighting!r}")

    def to_dict(self) -> dict:
        """A JSON-ready dict of every field."""
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> VAEConfig:
        """Rebuild from :meth:`to_dict` output; unknown keys are an error."""
        return config_from_dict(cls, {"gate_skip": False, "beta_power": 1.0, "gate_latent": False,
                                       "embed_sharpness": 1.0, "capped_posterior": False,
                                       **values})

    def log_beta_range(self) -> tuple[float, float]:
        """(log beta_min, log beta_max)."""
        return math.log(self.beta_min), math.log(self.beta_max)


class BetaEmbedding(nn.Module):
    """log β (B,) → condition (B, cond_dim), with log β first mapped to [−1, 1] over the range."""

    def __init__(self, config: VAEConfig):
        super().__init__()
        lo, hi = config.log_beta_range()
        self.centre, self.half = (hi + lo) / 2, max((hi - lo) / 2, 1e-6)
        self.net = nn.Sequential(
            nn.Linear(1, config.cond_dim), nn.SiLU(), nn.Linear(config.cond_dim, config.cond_dim))
        if config.embed_sharpness != 1.0:  # no random draw: other layers start as without it
            with torch.no_grad():
                n, first = config.cond_dim, self.net[0]
                k = torch.arange(n, dtype=torch.float32)
                sign = 1.0 - 2.0 * (k % 2)  # alternate rising and falling ramps
                w = sign * config.embed_sharpness * (0.5 + 0.5 * ((k * 0.618034) % 1.0))
                kinks = -1.0 + 2.0 * (k + 0.5) / n  # t where each ramp turns on, over [−1, 1]
                first.weight.copy_(w[:, None])
                first.bias.copy_(-w * kinks)

    def forward(self, log_beta: torch.Tensor) -> torch.Tensor:
        t = ((log_beta - self.centre) / self.half).unsqueeze(-1)  # (B, 1)
        return self.net(t)  # (B, cond_dim)


class _VAEBase(nn.Module):
    """What both models share: config, latent sampling, the fixed-β rule."""

    config: VAEConfig

    def beta_for(self, log_beta: torch.Tensor) -> torch.Tensor:
        """The log β the networks see: the input for a conditioned model, else the fixed β."""
        if self.config.conditioned:
            return log_beta
        return torch.full_like(log_beta, math.log(self.config.beta_fixed))

    @staticmethod
    def sample(mu: torch.Tensor, logvar: torch.Tensor,
               generator: torch.Generator | None = None) -> torch.Tensor:
        """z = μ + σ·ε with ε ~ N(0, 1) drawn from ``generator`` (reparameterisation)."""
        eps = torch.randn(mu.shape, generator=generator, device=mu.device, dtype=mu.dtype)
        return mu + torch.exp(0.5 * logvar) * eps

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None, log_beta: torch.Tensor,
                noise: torch.Tensor | None = None, generator: torch.Generator | None = None,
                decoder_weight: torch.Tensor | None = None
                ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Encode, z = μ + σ·noise (noise ~ N(0, 1), drawn if None), decode: (x_hat, mu, logvar).
        ``decoder_weight`` (B,) multiplies each example's gradient to the decoder's weights."""
        mu, logvar = self.encode(x, mask, log_beta)
        sigma = torch.exp(0.5 * logvar)
        z = self.sample(mu, logvar, generator) if noise is None else mu + sigma * noise
        if decoder_weight is None:
            return self.decode(z, log_beta), mu, logvar
        x_hat = self.decode(scale_gradient(z, 1 / decoder_weight), log_beta)  # z's: unchanged
        return scale_gradient(x_hat, decoder_weight), mu, logvar


class BetaVAE(_VAEBase):
    """Deep-sets EMD β-VAE for jets (Zaheer et al. arXiv:1703.06114; Collins, talk 000).

    Encoder: a per-particle MLP Φ on (ptrel, log ptrel, etarel/s, phirel/s) with s =
    ``coord_scale`` (so that the substructure is O(1) for the networks), pooled over
    the masked set as Σ_i ptrel_i Φ_i (energy-weighted, as in energy flow networks,
    arXiv:1810.05165) concatenated with the mean of Φ_i, then a FiLM-MLP head to (μ, log σ²).
    Both pools are sums over the set, so the encoder is permutation invariant. Only the head
    sees β: the pooled set features (:meth:`features`) do not depend on β, so a β-slider
    can compute them once per jet sample and re-run only :meth:`encode_features`.
    Decoder: a FiLM-MLP from z to P_out particles; ptrel = softmax (≥ 0, sums to 1).
    """

    def __init__(self, config: VAEConfig):
        super().__init__()
        if config.data != "jets":
            raise JetvizInputError(f"BetaVAE is for jets; use PointVAE for data={config.data!r}")
        self.config = config
        h, d, c = config.hidden, config.latent_dim, config.cond_dim
        self.embed_enc = BetaEmbedding(config)
        self.embed_dec = BetaEmbedding(config)
        p = config.particle_hidden or h  # Φ runs on every particle: most of the compute
        self.phi = MLP(4, p, p, config.depth)
        self.head = FiLMMLP(2 * p, h, 2 * d, config.depth, c, config.gate_skip)
        self.decoder = FiLMMLP(d, h, 3 * config.n_particles_out, config.depth, c,
                               config.gate_skip, config.gate_latent)

    def encode(self, x: torch.Tensor, mask: torch.Tensor | None,
               log_beta: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Posterior q(z | x, β) = N(μ, σ²).

        Args:
            x: (B, P, 3) prepared particles (ptrel, etarel, phirel).
            mask: (B, P) bool, True for real particles (None: all real).
            log_beta: (B,) natural log of β in GeV.

        Returns:
            mu, logvar: each (B, D).
        """
        if x.ndim != 3 or x.shape[-1] != 3:
            raise JetvizInputError(
                f"BetaVAE.encode expects particles (B, P, 3), got {tuple(x.shape)}")
        if x.shape[1] != self.config.n_particles_in:
            raise JetvizInputError(
                f"this model was trained on jets of {self.config.n_particles_in} particles, got "
                f"{x.shape[1]}; truncate or pad the jets to {self.config.n_particles_in}")
        return self.encode_features(self.features(x, mask), log_beta)

    def features(self, x: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        """β-independent pooled set features (B, 2H) of prepared particles (B, P, 3)."""
        if mask is None:
            mask = torch.ones(x.shape[:2], dtype=torch.bool, device=x.device)
        m = mask.to(x.dtype)  # (B, P)
        ptrel = x[..., 0] * m
        r = self.config.coord_scale
        feats = torch.stack(
            [ptrel, torch.log(ptrel.clamp_min(1e-4)), x[..., 1] / r, x[..., 2] / r], dim=-1)
        # Σ_i ptrel_i Φ_i and Σ_i Φ_i over the real particles, as one pooling (B, 2, H)
        pools = self.phi.pooled(feats, torch.stack([ptrel, m], dim=1))
        mean = pools[:, 1] / m.sum(1, keepdim=True).clamp_min(1.0)  # (B, H)
        return torch.cat([pools[:, 0], mean], dim=-1)  # (B, 2H)

    def encode_features(self, pooled: torch.Tensor,
                        log_beta: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(μ, log σ²), each (B, D), from :meth:`features` (B, 2H) at log β (B,)."""
        cond = self.embed_enc(self.beta_for(log_beta))  # (B, C)
        return posterior(self.head(pooled, cond), self.config.capped_posterior)

    def decode(self, z: torch.Tensor, log_beta: torch.Tensor) -> torch.Tensor:
        """Decoded jets (B, P_out, 3): ptrel (softmax, ≥ 0, sums to 1), etarel, phirel."""
        cond = self.embed_dec(self.beta_for(log_beta))
        out = self.decoder(z, cond).view(z.shape[0], self.config.n_particles_out, 3)
        ptrel = torch.softmax(out[..., 0], dim=-1)
        coords = out[..., 1:] * self.config.coord_scale
        return torch.cat([ptrel.unsqueeze(-1), coords], dim=-1)


class PointVAE(_VAEBase):
    """The same FiLM-conditioned VAE for points (B, point_dim): the toys of talk 000, or a
    user's own manifold."""

    def __init__(self, config: VAEConfig):
        super().__init__()
        if not config.is_points:
            raise JetvizInputError(f"PointVAE is for points, not data={config.data!r}")
        self.config = config
        h, d, c = config.hidden, config.latent_dim, config.cond_dim
        self.embed_enc = BetaEmbedding(config)
        self.embed_dec = BetaEmbedding(config)
        self.encoder = FiLMMLP(config.point_dim, h, 2 * d, config.depth, c, config.gate_skip)
        self.decoder = FiLMMLP(d, h, config.point_dim, config.depth, c, config.gate_skip,
                               config.gate_latent)
        if config.whiten:  # identity until fit_whitening; saved with the weights
            n = config.point_dim
            self.register_buffer("centre", torch.zeros(n))
            self.register_buffer("axes", torch.eye(n))  # rows: principal axes
            self.register_buffer("scale", torch.ones(n))  # standard deviation along each

    @torch.no_grad()
    def fit_whitening(self, x: torch.Tensor) -> None:
        """Set the principal-axis frame from training points x (N, point_dim)."""
        if not self.config.whiten:
            raise JetvizInputError("this model was built with whiten=False")
        frame = (self.centre, self.axes, self.scale)
        for buffer, value in zip(frame, principal_frame(x), strict=True):
            buffer.copy_(value)

    def _to_frame(self, x: torch.Tensor) -> torch.Tensor:
        return to_frame(x, self.centre, self.axes, self.scale) if self.config.whiten else x

    def _from_frame(self, y: torch.Tensor) -> torch.Tensor:
        return from_frame(y, self.centre, self.axes, self.scale) if self.config.whiten else y

    def encode(self, x: torch.Tensor, mask: torch.Tensor | None,
               log_beta: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Posterior (μ, log σ²), each (B, D), of points x (B, point_dim); ``mask`` is ignored."""
        if x.ndim != 2 or x.shape[-1] != self.config.point_dim:
            raise JetvizInputError(f"PointVAE.encode expects points (B, {self.config.point_dim}), "
                                   f"got {tuple(x.shape)}")
        cond = self.embed_enc(self.beta_for(log_beta))
        return posterior(self.encoder(self._to_frame(x), cond), self.config.capped_posterior)

    def decode(self, z: torch.Tensor, log_beta: torch.Tensor) -> torch.Tensor:
        """Decoded points (B, point_dim)."""
        return self._from_frame(self.decoder(z, self.embed_dec(self.beta_for(log_beta))))


def build_model(config: VAEConfig) -> BetaVAE | PointVAE:
    """The model class that ``config.data`` calls for."""
    if config.data == "jets" and config.whiten:
        from jetviz.vae.flat import FlatJetVAE
        return FlatJetVAE(config)
    return BetaVAE(config) if config.data == "jets" else PointVAE(config)


def log_beta_column(beta: float, n: int, device: torch.device | str | None = None
                    ) -> torch.Tensor:
    """The (n,) log β column ``encode``/``decode`` take, for n examples at one β (> 0)."""
    if not beta > 0:
        raise JetvizInputError(f"β must be positive, got {beta}")
    return torch.full((n,), math.log(beta), device=device)


def nearest_beta_index(betas, beta: float) -> int:
    """Index of the grid value in ``betas`` nearest to ``beta`` in log β."""
    return int(np.argmin(np.abs(np.log(np.asarray(betas, dtype=float)) - math.log(beta))))
