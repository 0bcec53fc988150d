"""What a VAE eats: prepared jets (or toy points) as torch tensors.

Preparation of jets (all in the jet's own relative coordinates):
  1. keep the P hardest particles and renormalise ptrel to sum to 1 over them (the decoder's
     softmax sums to 1, so the EMD compares shapes and its |ΣE − ΣE'| term vanishes);
  2. put them in THE preprocessing frame, :func:`jetviz.physics.frame.preprocess`: centred on
     the pT centroid, principal axis along +etarel, each axis flipped so that its pT-weighted
     third moment is ≥ 0 (the conventions and their physics are in that module).
Translations, rotations and reflections in the (η, φ) plane leave EMD distances between
jets unchanged (both jets move together), and jet mass and pT change only at second order in
the small angles, so reconstructions are compared and shown in this prepared frame — the
same frame the pages' "aligned" views draw.
EMD weights are ptrel × jet pT, so distances (and β) are in GeV.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import torch

from jetviz.errors import JetvizInputError
from jetviz.jets import JetSet
from jetviz.physics.frame import preprocess
from jetviz.readers.stream import JetStream


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
    """Renormalise ptrel to sum 1, then centre, rotate and flip (see the module docstring).

    Args:
        particles: (N, P, 3) (ptrel, etarel, phirel), padded rows zero.
        mask: (N, P) True for real particles.

    Returns:
        (N, P, 3) float32 prepared particles, padded rows zero.
    """
    mask = np.asarray(mask, dtype=bool)
    w = np.where(mask, particles[..., 0], 0.0).astype(np.float64)  # (N, P)
    w = w / np.clip(w.sum(-1, keepdims=True), 1e-12, None)  # sums to 1
    renormalised = np.concatenate([w[..., None], particles[..., 1:].astype(np.float64)], -1)
    framed, _ = preprocess(renormalised, mask)
    return framed.astype(np.float32)


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


def streamed_inputs(stream: JetStream, config, batch_size: int, seed: int,
                    val_fraction: float) -> tuple[JetStream, VAEInputs]:
    """(the training stream, the validation inputs) of a jet file read chunk by chunk: the
    run's seed, its batch (all processes together) and the model's particle count; seeded
    whole chunks held out for validation (prepared here, in memory)."""
    if config.data != "jets":
        raise JetvizInputError("streaming reads jet files; points are loaded whole")
    stream = replace(stream, batch_size=batch_size, seed=seed,
                     n_particles=config.n_particles_in)
    train_stream, val_jets = stream.holdout(val_fraction)
    return train_stream, inputs_from_jets(val_jets, config.n_particles_in)
