"""What the mass-MMD fine-tuning (:mod:`jetviz.generation.mass_mmd`) trains on: batches of
training jets to reconstruct, and the masses of real training jets.

Vocabulary
----------
Jets are prepared as the VAE's inputs (:func:`jetviz.generation.generators.prepared_truth`):
particles (n, P, 3), mask (n, P), jet pT (n,) in GeV. A **real mass** is m/pT, the jet mass
over its scalar pT sum (:func:`relative_mass`), kept with the jet's pT (the joint-prior MMD
works in GeV). Two sources give the same things:

- :class:`MemoryJets`: the training jets in memory; each step reconstructs ``batch_size`` of
  them drawn without replacement from the run's generator; the real masses are every jet's.
- :class:`StreamedJets`: the VAE's training chunks read chunk by chunk
  (:func:`jetviz.generation.streamed.vae_training_stream`); each step reconstructs the next
  batch of the stream (:class:`~jetviz.readers.stream.StreamCursor`: every jet once per pass,
  at most the buffer in memory; the position is kept in the run's record, so a resumed run
  reads what an uninterrupted one read); the real masses are a seeded
  :class:`~jetviz.generation.streamed.Reservoir` of ``MASS_SAMPLE`` jets' (every jet's when
  the stream holds no more), so the MMD's real sample, and the median pT, come from a
  uniform sample of the training jets instead of all of them.
"""

from __future__ import annotations

import numpy as np
import torch

from jetviz.device import shard
from jetviz.errors import JetvizInputError
from jetviz.generation.generators import prepared_truth
from jetviz.generation.streamed import Reservoir, chunks_in_order
from jetviz.readers.stream import JetStream, StreamCursor
from jetviz.vae.losses import jet_pt_mass

MASS_SAMPLE = 200_000  # streamed: real jets whose masses the MMD compares with


def relative_mass(particles: torch.Tensor) -> torch.Tensor:
    """Jet mass over the scalar pT sum, (B,), of massless relative particles (B, P, 3)."""
    return jet_pt_mass(particles)[1] / particles[..., 0].sum(-1).clamp_min(1e-12)


def _tensors(particles: np.ndarray, mask: np.ndarray, jet_pt: np.ndarray,
             device: torch.device | str) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    return (torch.from_numpy(np.asarray(particles, np.float32)).to(device),
            torch.from_numpy(np.asarray(mask, bool)).to(device),
            torch.from_numpy(np.asarray(jet_pt, np.float32)).to(device))


def _real_masses(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """m/pT (n,) of prepared jets (padded rows zeroed again, to be safe)."""
    return relative_mass(torch.where(mask[..., None], x, 0.0))


class MemoryJets:
    """Prepared training jets in memory (module docstring).

    Attributes:
        real_mass: (N,) m/pT of every jet; real_pt: (N,) their pT [GeV].
        position: None (nothing to resume from: the generator's state is the run's).
        record: what the run's record keeps of the source (nothing).
    """

    position = None

    def __init__(self, particles: np.ndarray, mask: np.ndarray, jet_pt: np.ndarray,
                 device: torch.device | str) -> None:
        self.x, self.mask, self.pt = _tensors(particles, mask, jet_pt, device)
        self.real_mass, self.real_pt = _real_masses(self.x, self.mask), self.pt
        self.record: dict = {}

    def __len__(self) -> int:
        return len(self.x)

    def seek(self, position: list[int] | None) -> None:
        """Nothing to do (a resumed run restores the generator), unless the stored run was
        streamed."""
        if position is not None:
            raise JetvizInputError("the stored run was streamed; resume it with --stream")

    def batch(self, rng: np.random.Generator, batch_size: int, rank: int, world: int
              ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """This process's share of ``batch_size`` jets drawn without replacement."""
        idx = shard(torch.from_numpy(rng.choice(len(self.x), batch_size, replace=False)),
                    rank, world)
        return self.x[idx], self.mask[idx], self.pt[idx]


class StreamedJets:
    """The VAE's training jets read chunk by chunk (module docstring).

    Args:
        stream: the training stream (its batch size and seed are the run's).
        n_particles: P of the VAE.
        device: where batches and real masses go.
        sample: the most real masses kept (:class:`~jetviz.generation.streamed.Reservoir`,
            seeded with the stream's seed).
    """

    def __init__(self, stream: JetStream, n_particles: int, device: torch.device | str,
                 sample: int = MASS_SAMPLE) -> None:
        self.stream, self.n_particles, self.device = stream, n_particles, device
        self.cursor = StreamCursor(stream)
        kept = Reservoir(sample, stream.seed)
        for chunk, jets in chunks_in_order(stream):  # one chunk in memory at a time
            x, mask, pt = _tensors(*prepared_truth(jets, n_particles), "cpu")
            kept.add(chunk, torch.stack([_real_masses(x, mask), pt], 1).numpy())
        real = torch.from_numpy(kept.values).to(device)
        self.real_mass, self.real_pt = real[:, 0], real[:, 1]
        self.n_jets = kept.seen
        self.record = {"streamed": {"chunk_rows": stream.chunk_rows,
                                    "buffer_chunks": stream.buffer_chunks,
                                    "chunks": list(stream.chunk_ids), "n_jets": kept.seen,
                                    "real_mass_sample": len(real)}}

    def __len__(self) -> int:
        return self.n_jets

    @property
    def position(self) -> list[int]:
        """(epoch, next batch) of the stream: where a resumed run goes on from."""
        return list(self.cursor.position)

    def seek(self, position: list[int] | None) -> None:
        """Go on from ``position`` (a stored :attr:`position`)."""
        if position is None:
            raise JetvizInputError("the stored run was not streamed; resume it without --stream")
        self.cursor.seek(tuple(position))

    def batch(self, rng: np.random.Generator, batch_size: int, rank: int, world: int
              ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """This process's share of the stream's next batch (``rng`` unused: the stream is
        seeded)."""
        jets = self.cursor.next()
        mine = jets.subset(shard(np.arange(len(jets)), rank, world))
        return _tensors(*prepared_truth(mine, self.n_particles), self.device)
