"""The convolutional autoencoder whose reconstruction error is the anomaly score (AE and NAE).

Shapes: images x (B, 1, n, n); latent z (B, d) on the unit sphere when ``spherical``;
energies (B,). No I/O here: :mod:`jetviz.anomaly.checkpoint` stores a model with its config.

The layout follows Dillon et al. (arXiv:2206.14225): a small convolutional encoder and
decoder around a dense bottleneck of a few (3) latent dimensions, PReLU activations, a
sigmoid output, spectral normalisation of every weight. It is smaller than theirs (strided
convolutions instead of same-size convolutions + pooling) so that 10,000 jets score in about
a second on one CPU core.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

import torch
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from jetviz.errors import JetvizInputError
from jetviz.physics.frame import FLIPS


@dataclass(frozen=True)
class AEConfig:
    """Architecture of the autoencoder.

    Attributes:
        n_pixels: image side n (divisible by 4: two stride-2 convolutions).
        latent_dim: bottleneck size d.
        channels: channels after the first and the second convolution.
        hidden: width of the dense layer on each side of the bottleneck.
        spherical: project the latent vector onto the unit sphere (as the paper).
        spectral_norm: spectral normalisation of every weight (bounds the Lipschitz constant,
            which keeps the NAE's energy landscape smooth for the Langevin chains).
        flip: the flip rule of the jets' frame (``jetviz.physics.frame.FLIPS``): the jet-image
            "half-plane" rule, with which the complexity bias shows (see that module).
        smooth: Gaussian blur of the input images, σ in pixels (0: none). The paper's code
            blurs its images (heidelberg-hepml/normalized-autoencoders: the
            ``GaussianFilter`` transform; its shipped models are named ``gf1_…``, σ = 1);
            0 is the default so models saved before this field read as they were trained.
    """

    n_pixels: int = 40
    latent_dim: int = 3
    channels: tuple[int, int] = (8, 16)
    hidden: int = 64
    spherical: bool = True
    spectral_norm: bool = True
    flip: str = "half-plane"
    smooth: float = 0.0

    def __post_init__(self) -> None:
        if self.n_pixels < 8 or self.n_pixels % 4:
            raise JetvizInputError(f"n_pixels must be a multiple of 4 and ≥ 8, got "
                                   f"{self.n_pixels}")
        if self.latent_dim < 1 or self.hidden < 1 or min(self.channels) < 1:
            raise JetvizInputError("latent_dim, hidden and channels must be positive")
        if not 0 <= self.smooth <= self.n_pixels / 4:
            raise JetvizInputError(f"smooth must be in [0, n_pixels/4] pixels, got {self.smooth}")
        if self.flip not in FLIPS:
            raise JetvizInputError(f"flip rule {self.flip!r}: expected one of {FLIPS}")

    def to_dict(self) -> dict:
        d = asdict(self)
        d["channels"] = list(self.channels)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> AEConfig:
        known = {f.name for f in fields(cls)}
        d = {k: v for k, v in d.items() if k in known}
        if "channels" in d:
            d["channels"] = tuple(d["channels"])
        return cls(**d)


OUTPUT_BIAS = -7.0  # sigmoid(−7) ≈ 1/1100, the scale of a mean pixel of a 40 × 40 image


class ConvAE(nn.Module):
    """Encoder → (spherical) latent → decoder; ``energy`` is the per-pixel squared error."""

    def __init__(self, config: AEConfig) -> None:
        super().__init__()
        self.config = config
        c1, c2 = config.channels
        side = config.n_pixels // 4
        sn = spectral_norm if config.spectral_norm else (lambda m: m)
        self.encoder = nn.Sequential(
            sn(nn.Conv2d(1, c1, 4, stride=2, padding=1)), nn.PReLU(),  # (B, c1, n/2, n/2)
            sn(nn.Conv2d(c1, c2, 4, stride=2, padding=1)), nn.PReLU(),  # (B, c2, n/4, n/4)
            nn.Flatten(),
            sn(nn.Linear(c2 * side * side, config.hidden)), nn.PReLU(),
            sn(nn.Linear(config.hidden, config.latent_dim)),
        )
        self.decoder = nn.Sequential(
            sn(nn.Linear(config.latent_dim, config.hidden)), nn.PReLU(),
            sn(nn.Linear(config.hidden, c2 * side * side)), nn.PReLU(),
            nn.Unflatten(1, (c2, side, side)),
            sn(nn.ConvTranspose2d(c2, c1, 4, stride=2, padding=1)), nn.PReLU(),
            sn(nn.ConvTranspose2d(c1, 1, 4, stride=2, padding=1)),
            nn.Sigmoid(),  # (B, 1, n, n) in (0, 1)
        )
        out = self.decoder[-2]
        with torch.no_grad():  # start near an empty image: a pixel holds ~1/n² of the pT
            out.bias.fill_(OUTPUT_BIAS)

    def project(self, z: torch.Tensor) -> torch.Tensor:
        """Onto the unit sphere if the latent space is spherical (else unchanged)."""
        if not self.config.spherical:
            return z
        return z / z.norm(dim=-1, keepdim=True).clamp_min(1e-12)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 1, n, n) → (B, d)."""
        return self.project(self.encoder(x))

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """(B, d) → (B, 1, n, n)."""
        return self.decoder(z)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The reconstruction of x."""
        return self.decode(self.encode(x))

    def energy(self, x: torch.Tensor) -> torch.Tensor:
        """E(x) = Σ_pixels (x − x̂)² / n², (B,): the anomaly score."""
        return (x - self(x)).pow(2).flatten(1).mean(1)


def build_model(config: AEConfig) -> ConvAE:
    return ConvAE(config)
