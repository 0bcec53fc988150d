"""Networks and losses of the theory map (talk 003, von Schwartz, Kasieczka, Shih).

Vocabulary
----------
A **set** is N standardised events of one theory, a tensor (B, N, F) for a batch of B sets
(N = 1 is a single event; F = 18 features, see ``jetviz.theorymap.features``).
The **encoder** is a deep set (Zaheer et al., arXiv:1703.06114): a per-event MLP, a mean over
the N events of the set, then an MLP to a latent vector z (B, D) — invariant under any
permutation of the events in a set. The **decoder** maps z back to the set's summary
(its events' mean features, and for N > 1 also their standard deviations), which is what the
MSE autoencoder baseline reconstructs: a set has no event order to reconstruct event by event.

Pair losses act on every pair (i < j) of a batch:

* contrastive (Hadsell, Chopra, LeCun 2006): ``(1 − Y)·½D² + Y·½·max(0, m − D)²`` with
  ``D = |z_i − z_j|``, Y = 1 for different theories and margin m;
* Neural Embedding (Park et al., arXiv:2208.05484): ``|D − d_X(l_i, l_j)|`` with d_X a
  distance between the theory labels.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

METHODS: tuple[str, ...] = ("autoencoder", "neural_embedding", "contrastive")
METHOD_LABELS: dict[str, str] = {
    "autoencoder": "autoencoder (MSE)",
    "neural_embedding": "Neural Embedding",
    "contrastive": "contrastive",
}


@dataclass(frozen=True)
class EncoderConfig:
    """Shape of a theory-map encoder; saved in every checkpoint to rebuild it."""

    n_features: int = 18  # standardised event features F
    hidden: int = 128  # width of the per-event and set-level MLPs
    latent: int = 8  # dimension D of the latent space the map is made from
    set_size: int = 1  # N events per set (1 = single events)


def _mlp(n_in: int, hidden: int, n_out: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(n_in, hidden), nn.SiLU(), nn.Linear(hidden, hidden), nn.SiLU(),
                         nn.Linear(hidden, n_out))


def summary_size(config: EncoderConfig) -> int:
    """Length of the reconstruction target: the set's mean features (+ their std for N > 1)."""
    return config.n_features * (1 if config.set_size == 1 else 2)


class SetEncoder(nn.Module):
    """Deep-set encoder (B, N, F) → (B, D) with a decoder (B, D) → set summary.

    Args:
        config: the encoder's shape.
    """

    def __init__(self, config: EncoderConfig) -> None:
        super().__init__()
        self.config = config
        self.phi = _mlp(config.n_features, config.hidden, config.hidden)  # per event
        self.rho = _mlp(config.hidden, config.hidden, config.latent)  # per set
        self.decoder = _mlp(config.latent, config.hidden, summary_size(config))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Latent vectors of a batch of sets.

        Args:
            x: (B, N, F) standardised events, N events of one theory per set.

        Returns:
            (B, D) latent vectors.
        """
        if x.ndim != 3 or x.shape[-1] != self.config.n_features:
            raise ValueError(
                f"expected sets (B, N, {self.config.n_features}), got {tuple(x.shape)}")
        return self.rho(self.phi(x).mean(dim=1))  # mean over the set → permutation invariant

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """(B, D) latent → (B, summary_size) reconstructed set summary."""
        return self.decoder(z)


def set_summary(x: torch.Tensor) -> torch.Tensor:
    """What the autoencoder reconstructs: (B, N, F) → (B, F) mean, or (B, 2F) mean and std."""
    if x.shape[1] == 1:
        return x[:, 0]
    return torch.cat([x.mean(dim=1), x.std(dim=1, unbiased=False)], dim=-1)


def _pair_distances(z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Squared and plain distances over the pairs i < j of a batch, and the pair indices."""
    i, j = torch.triu_indices(len(z), len(z), offset=1, device=z.device)
    d2 = (z[i] - z[j]).pow(2).sum(-1)  # (pairs,)
    # clamp keeps the gradient of sqrt finite at D = 0; coincident points get D = 0 exactly
    d = torch.where(d2 > 0, d2.clamp_min(1e-12).sqrt(), torch.zeros_like(d2))
    return d2, d, torch.stack([i, j])


def contrastive_pair_loss(d: torch.Tensor, different: torch.Tensor, margin: float) -> torch.Tensor:
    """Hadsell et al. (2006) per pair: ``(1 − Y)·½D² + Y·½·max(0, m − D)²``.

    Args:
        d: (pairs,) latent distances D.
        different: (pairs,) Y, 1.0 for pairs from different theories, 0.0 for the same theory.
        margin: m; different-theory pairs further apart than m cost nothing.

    Returns:
        (pairs,) the loss of each pair.
    """
    y = different.to(d.dtype)
    return (1 - y) * 0.5 * d.pow(2) + y * 0.5 * torch.relu(margin - d).pow(2)


def contrastive_loss(z: torch.Tensor, labels: torch.Tensor, margin: float = 1.0) -> torch.Tensor:
    """Mean contrastive loss over all pairs of a batch, same- and different-theory pairs
    weighted equally (with T theories only ≈ 1/T of the pairs are same-theory pairs).

    Args:
        z: (B, D) latent vectors.
        labels: (B,) theory index of each set.
        margin: the margin m of Hadsell et al.

    Returns:
        Scalar loss; 0 when same-theory pairs coincide and different ones are ≥ m apart.
    """
    _, d, (i, j) = _pair_distances(z)
    different = labels[i] != labels[j]
    per_pair = contrastive_pair_loss(d, different.float(), margin)
    terms = [per_pair[mask].mean() for mask in (different, ~different) if mask.any()]
    return torch.stack(terms).mean()


def neural_embedding_loss(z: torch.Tensor, labels: torch.Tensor,
                          label_distance: torch.Tensor) -> torch.Tensor:
    """Neural Embedding loss (arXiv:2208.05484): mean over pairs of ``|D − d_X(l_i, l_j)|``.

    Args:
        z: (B, D) latent vectors.
        labels: (B,) theory index of each set.
        label_distance: (T, T) distances d_X between theory labels (zero diagonal).

    Returns:
        Scalar loss; 0 when every latent distance equals its label distance.
    """
    _, d, (i, j) = _pair_distances(z)
    target = label_distance[labels[i], labels[j]].to(d.dtype)
    return (d - target).abs().mean()


def reconstruction_loss(model: SetEncoder, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
    """MSE between the decoded latent and the set summary of ``x`` (the autoencoder loss)."""
    return (model.decode(z) - set_summary(x)).pow(2).mean()


@torch.no_grad()
def encode(model: SetEncoder, sets: np.ndarray, batch: int = 4096) -> np.ndarray:
    """(S, N, 18) standardised sets → (S, D) float32 latent vectors."""
    x = torch.as_tensor(sets, dtype=torch.float32)
    return torch.cat([model(x[i:i + batch]) for i in range(0, len(x), batch)]).numpy()
