"""What a VAE eats: prepared jets (or toy points) as torch tensors.

Preparation of jets (all in the jet's own relative coordinates):
  1. keep the P hardest particles and renormalise ptrel to sum to 1 over them (the decoder's
     softmax sums to 1, so the EMD compares shapes and its |ΣE − ΣE'| term vanishes);
  2. centre on the pT-weighted centroid in (etarel, phirel);
  3. rotate so that the principal axis of the pT-weighted (η, φ) inertia lies along etarel;
  4. flip each axis so that its pT-weighted third moment is ≥ 0.
Translations and rotations in the (η, φ) plane leave EMD distances between jets unchanged
(both jets move together), and jet mass and pT change only at second order in the small
angles, so reconstructions are compared and shown in this prepared frame.
EMD weights are ptrel × jet pT, so distances (and β) are in GeV.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from jetviz.errors import JetvizInputError
from jetviz.jets import JetSet


@dataclass(frozen=True)
class VAEInputs:
    """A batch ready for a model.

    Attributes:
        x: (N, P, 3) float32 prepared particles, or (N, 2) toy points.
        mask: (N, P) bool, True for real particles; None for toy points.
        jet_pt: (N,) float32 jet pT in GeV (EMD weight scale); None for toy points.
        cache: β-independent results per model (the encoder's pooled set features), filled
            by jetviz.vae.scan so that a β-slider move skips the per-particle network.
    """

    x: torch.Tensor
    mask: torch.Tensor | None
    jet_pt: torch.Tensor | None
    cache: dict = field(default_factory=dict, compare=False, repr=False)

    def __len__(self) -> int:
        return int(self.x.shape[0])

    def subset(self, index: torch.Tensor | slice) -> VAEInputs:
        """The examples selected by ``index``."""
        return VAEInputs(
            self.x[index],
            None if self.mask is None else self.mask[index],
            None if self.jet_pt is None else self.jet_pt[index],
        )

    def to(self, device: torch.device | str) -> VAEInputs:
        """The same batch on ``device`` (itself, with its cache, if already there)."""
        if self.x.device == torch.device(device):
            return self
        return VAEInputs(
            self.x.to(device),
            None if self.mask is None else self.mask.to(device),
            None if self.jet_pt is None else self.jet_pt.to(device),
        )


def prepare_particles(particles: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Renormalise, centre, rotate and flip jets (see the module docstring).

    Args:
        particles: (N, P, 3) (ptrel, etarel, phirel), padded rows zero.
        mask: (N, P) True for real particles.

    Returns:
        (N, P, 3) float32 prepared particles, padded rows zero.
    """
    m = mask.astype(np.float64)
    w = particles[..., 0].astype(np.float64) * m
    w = w / np.clip(w.sum(-1, keepdims=True), 1e-12, None)  # (N, P), sums to 1
    xy = particles[..., 1:].astype(np.float64)  # (N, P, 2)
    xy = xy - (w[..., None] * xy).sum(1, keepdims=True)
    cov = np.einsum("np,npi,npj->nij", w, xy, xy)  # (N, 2, 2)
    _, vecs = np.linalg.eigh(cov)  # ascending eigenvalues
    major = vecs[..., :, 1]  # (N, 2)
    angle = np.arctan2(major[:, 1], major[:, 0])
    c, s = np.cos(-angle), np.sin(-angle)
    rot = np.stack([np.stack([c, -s], -1), np.stack([s, c], -1)], -2)  # (N, 2, 2)
    xy = np.einsum("nij,npj->npi", rot, xy)
    third = (w[..., None] * xy**3).sum(1)  # (N, 2)
    xy = xy * np.where(third < 0, -1.0, 1.0)[:, None, :]
    out = np.concatenate([w[..., None], xy], axis=-1) * m[..., None]
    return out.astype(np.float32)


def inputs_from_jets(jets: JetSet, n_particles: int) -> VAEInputs:
    """Prepared inputs for a jet model that takes ``n_particles`` particles per jet."""
    if jets.n_particles < n_particles:
        raise JetvizInputError(
            f"{jets.source}: the model takes {n_particles} particles per jet but the jets have "
            f"only {jets.n_particles}; use a model trained on ≤ {jets.n_particles} particles")
    jets = jets.truncated(n_particles) if jets.n_particles > n_particles else jets
    x = prepare_particles(jets.particles, jets.mask)
    return VAEInputs(torch.from_numpy(x), torch.from_numpy(jets.mask.copy()),
                     torch.from_numpy(jets.jets[:, 0].astype(np.float32)))


def inputs_from_points(points: np.ndarray, dim: int = 2) -> VAEInputs:
    """Inputs for a point model from (N, dim) points."""
    points = np.asarray(points, dtype=np.float32)
    if points.ndim != 2 or points.shape[1] != dim:
        raise JetvizInputError(f"expected points of shape (N, {dim}), got {points.shape}")
    if not np.isfinite(points).all():
        raise JetvizInputError("the points contain NaN or infinite values; remove those rows")
    return VAEInputs(torch.from_numpy(points), None, None)


def as_inputs(data: JetSet | np.ndarray | VAEInputs, config) -> VAEInputs:
    """Whatever the pages hold (a JetSet, toy points, or prepared inputs) as VAEInputs."""
    if isinstance(data, VAEInputs):
        return data
    if config.is_points:
        if isinstance(data, JetSet):
            raise JetvizInputError(f"this is a point model; it takes (N, {config.point_dim}) "
                                   "points, not jets")
        return inputs_from_points(data, config.point_dim)
    if not isinstance(data, JetSet):
        raise JetvizInputError(f"this is a jet model; it takes a JetSet, got {type(data).__name__}")
    return inputs_from_jets(data, config.n_particles_in)
