"""The JetCLR encoder and its contrastive loss (Dillon et al., arXiv:2108.04253).

Vocabulary: the encoder reads a batch of jets ``x`` (B, P, 3) = (ptrel, etarel, phirel) with
a boolean ``mask`` (B, P), True for real particles, and is invariant under any permutation of
the P rows. It returns a representation ``h`` (B, D) (what the linear probe and the 2-D map
use) and, through the projection head, ``z`` (B, D_z) (what the NT-Xent loss sees; SimCLR,
arXiv:2002.05709, found the layer before the head keeps more for downstream tasks).

Two encoders share one interface: a transformer without positional encoding (as JetCLR)
and a deep set / particle-flow network (Komiske, Metodiev, Thaler, arXiv:1810.05165), both
pooling with a masked sum. No I/O here: jetviz.jetclr.train trains, jetviz.jetclr.checkpoint
saves and loads.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F


@dataclass(frozen=True)
class EncoderConfig:
    """Shape of a JetCLR encoder; saved in every checkpoint to rebuild the model."""

    kind: str = "transformer"  # "transformer" (self-attention) or "deepsets" (particle flow)
    width: int = 64  # per-particle embedding width
    layers: int = 2  # attention blocks (transformer) or per-particle MLP layers (deepsets)
    heads: int = 4  # attention heads (transformer only)
    rep_dim: int = 128  # representation size D (linear probe and maps)
    proj_dim: int = 64  # projection-head output size D_z (NT-Xent)
    radius: float = 0.8  # jet radius R: etarel, phirel are divided by it
    pair_bias: bool = False  # transformer: attention bias from pairwise (ΔR, kT, z, m²)

    def to_dict(self) -> dict:
        """The config as a JSON-able dict."""
        return asdict(self)


def particle_features(x: torch.Tensor, mask: torch.Tensor, radius: float) -> torch.Tensor:
    """Per-particle network inputs (B, P, 4): ptrel, log ptrel, etarel/R, phirel/R.

    log ptrel is shifted by +4 (≈ a 20 GeV particle of a 1 TeV jet sits at 0); padded rows
    are zero.
    """
    pt = x[..., 0].clamp_min(1e-8)
    feats = torch.stack(
        [x[..., 0] * 10.0, (torch.log(pt) + 4.0) / 2.0, x[..., 1] / radius, x[..., 2] / radius],
        dim=-1)
    return feats * mask[..., None]


def pair_features(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Pairwise inputs (B, P, P, 4): ln ΔR, ln kT, ln z, ln m² of every particle pair.

    As the interaction features of the Particle Transformer (Qu, Li, Qian,
    arXiv:2202.03772), with kT = min(pT_i, pT_j)·ΔR, z = min(pT_i, pT_j)/(pT_i + pT_j) and
    m² = 2 pT_i pT_j (cosh Δη − cos Δφ) in units of pT_jet. They depend on differences of
    η and φ only, so a translation leaves them unchanged; zero for padded pairs.
    """
    pt = x[..., 0].clamp_min(1e-8)
    eta, phi = x[..., 1], x[..., 2]
    deta = eta[..., :, None] - eta[..., None, :]  # (B, P, P)
    dphi = torch.remainder(phi[..., :, None] - phi[..., None, :] + math.pi, 2 * math.pi) - math.pi
    dr = torch.sqrt(deta**2 + dphi**2).clamp_min(1e-4)
    ptmin = torch.minimum(pt[..., :, None], pt[..., None, :])
    ptsum = pt[..., :, None] + pt[..., None, :]
    m2 = (2 * pt[..., :, None] * pt[..., None, :] * (torch.cosh(deta) - torch.cos(dphi)))
    feats = torch.stack([torch.log(dr), torch.log(ptmin * dr), torch.log(ptmin / ptsum),
                         torch.log(m2.clamp_min(1e-10))], -1)
    scale = torch.tensor([0.5, 0.25, 0.5, 0.2], dtype=x.dtype)  # roughly unit width
    pair = mask[..., :, None] & mask[..., None, :]
    return feats * scale * pair[..., None]


class _Block(nn.Module):
    """Pre-norm self-attention block that ignores padded particles."""

    def __init__(self, width: int, heads: int) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(width)
        self.attn = nn.MultiheadAttention(width, heads, batch_first=True)
        self.norm2 = nn.LayerNorm(width)
        self.ff = nn.Sequential(nn.Linear(width, 2 * width), nn.GELU(), nn.Linear(2 * width, width))

    def forward(self, h: torch.Tensor, pad: torch.Tensor,
                bias: torch.Tensor | None = None) -> torch.Tensor:
        a = self.norm1(h)
        if bias is None:
            h = h + self.attn(a, a, a, key_padding_mask=pad, need_weights=False)[0]
        else:  # bias (B·heads, P, P) already holds −inf at padded keys
            h = h + self.attn(a, a, a, attn_mask=bias, need_weights=False)[0]
        return h + self.ff(self.norm2(h))


class JetEncoder(nn.Module):
    """Permutation-invariant jet encoder: particles → representation h → projection z."""

    def __init__(self, config: EncoderConfig) -> None:
        super().__init__()
        if config.kind not in ("transformer", "deepsets"):
            raise ValueError(f"encoder kind must be 'transformer' or 'deepsets', "
                             f"got {config.kind!r}")
        self.config = config
        w = config.width
        self.embed = nn.Sequential(nn.Linear(4, w), nn.GELU(), nn.Linear(w, w))
        if config.kind == "transformer":
            self.blocks = nn.ModuleList(_Block(w, config.heads) for _ in range(config.layers))
            if config.pair_bias:
                self.pair_embed = nn.Sequential(nn.Linear(4, 16), nn.GELU(),
                                                nn.Linear(16, config.heads))
        else:
            self.blocks = nn.ModuleList(
                nn.Sequential(nn.GELU(), nn.Linear(w, w)) for _ in range(config.layers))
        self.head = nn.Sequential(
            nn.Linear(w, config.rep_dim), nn.GELU(), nn.Linear(config.rep_dim, config.rep_dim))
        self.projector = nn.Sequential(
            nn.GELU(), nn.Linear(config.rep_dim, config.rep_dim), nn.GELU(),
            nn.Linear(config.rep_dim, config.proj_dim))

    def represent(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """The representation h (B, rep_dim) of jets x (B, P, 3) with mask (B, P)."""
        m = mask.to(x.dtype)
        h = self.embed(particle_features(x, mask, self.config.radius))  # (B, P, W)
        pad = ~mask.bool()
        bias = None
        if self.config.kind == "transformer" and self.config.pair_bias:
            b, p = mask.shape
            u = self.pair_embed(pair_features(x, mask.bool()))  # (B, P, P, heads)
            u = u.masked_fill(pad[:, None, :, None], float("-inf"))
            bias = u.permute(0, 3, 1, 2).reshape(b * self.config.heads, p, p)
        for block in self.blocks:
            h = block(h, pad, bias) if self.config.kind == "transformer" else h + block(h)
        pooled = (h * m[..., None]).sum(1) / 10.0  # (B, W) masked sum: order-free
        return self.head(pooled)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(h, z): representation (B, rep_dim) and projection (B, proj_dim)."""
        h = self.represent(x, mask)
        return h, self.projector(h)


def nt_xent(z1: torch.Tensor, z2: torch.Tensor, temperature: float = 0.1) -> torch.Tensor:
    """NT-Xent loss of two views (SimCLR, arXiv:2002.05709; JetCLR, arXiv:2108.04253).

    With s(a, b) = a·b / (|a||b|), for the 2B projections of a batch and the positive partner
    i⁺ of each (the other view of the same jet):

        L = −(1/2B) Σ_i log[ exp(s(z_i, z_i⁺)/τ) / Σ_{k ≠ i} exp(s(z_i, z_k)/τ) ]

    Symmetric in the two views; smallest when each jet's two views align and different jets
    spread over the sphere.

    Args:
        z1, z2: (B, D) projections of the two views, row i of each from the same jet.
        temperature: τ.

    Returns:
        The scalar loss.
    """
    if z1.shape != z2.shape or z1.ndim != 2:
        raise ValueError(f"nt_xent: expected two (B, D) tensors of one shape, "
                         f"got {tuple(z1.shape)} and {tuple(z2.shape)}")
    b = z1.shape[0]
    z = F.normalize(torch.cat([z1, z2], 0), dim=1)  # (2B, D)
    sim = z @ z.T / temperature  # (2B, 2B)
    sim = sim.masked_fill(torch.eye(2 * b, dtype=torch.bool, device=z.device), float("-inf"))
    target = torch.cat([torch.arange(b, 2 * b), torch.arange(0, b)]).to(z.device)
    return F.cross_entropy(sim, target)


class JetClassifier(nn.Module):
    """The same encoder with a logistic output: the supervised ceiling of the linear probe."""

    def __init__(self, config: EncoderConfig) -> None:
        super().__init__()
        self.encoder = JetEncoder(config)
        self.out = nn.Linear(config.rep_dim, 1)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Logits (B,) for 'signal' (top)."""
        return self.out(F.gelu(self.encoder.represent(x, mask))).squeeze(-1)


@torch.no_grad()
def represent(model: JetEncoder, particles: np.ndarray, mask: np.ndarray,
              batch_size: int = 1024) -> np.ndarray:
    """The representation h (N, D) of jets (N, P, 3), computed in batches."""
    model.eval()
    out = [model.represent(torch.from_numpy(particles[i:i + batch_size].astype(np.float32)),
                           torch.from_numpy(mask[i:i + batch_size])).numpy()
           for i in range(0, len(particles), batch_size)]
    return np.concatenate(out).astype(np.float64)


@torch.no_grad()
def classifier_scores(model: JetClassifier, particles: np.ndarray, mask: np.ndarray,
                      batch_size: int = 1024) -> np.ndarray:
    """Logits (N,) of the supervised classifier."""
    model.eval()
    out = [model(torch.from_numpy(particles[i:i + batch_size].astype(np.float32)),
                 torch.from_numpy(mask[i:i + batch_size])).numpy()
           for i in range(0, len(particles), batch_size)]
    return np.concatenate(out).astype(np.float64)
