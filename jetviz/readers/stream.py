"""Seeded shuffled batches of a jet file read chunk by chunk: training on files larger than
memory.

Vocabulary
----------
A **chunk** is ``chunk_rows`` consecutive rows of the file (the last one may be shorter),
read with the lazy capped reader :func:`jetviz.readers.store.read_jets` (``start``,
``max_rows``): the whole file is never read. The **buffer** holds ``buffer_chunks`` chunks at
a time. An **epoch** visits every chunk of the stream once:

1. the chunk order is a permutation drawn from ``(seed, epoch)``;
2. the chunks are taken ``buffer_chunks`` at a time; the rows of those chunks are shuffled
   together (the same generator) and cut into batches of ``batch_size`` rows, the last batch
   of a buffer holding what is left (so at most ``buffer_chunks × chunk_rows`` rows of the
   file are in memory, and each row is seen exactly once per epoch);
3. the buffer is let go before the next one is read.

The batches depend only on the file, the chunking, the seed and the epoch: a resumed run
sees what an uninterrupted one saw. Every data-parallel process draws the same batches and
keeps its share with :func:`jetviz.device.shard` (rows rank, rank + world, …): the shares are
disjoint and together are the batch.

Batches are :class:`~jetviz.jets.JetSet` s (particles (n, P, 3) = ptrel, etarel, phirel; mask
(n, P); jets (n, 5); labels) as the file stores them, cut to the hardest ``n_particles``.
:meth:`JetStream.holdout` sets aside whole chunks (seeded) as a validation set small enough to
hold in memory. Streaming reads jetviz jet files (kind ``jetviz-jets``, what ``jetviz
generate`` and ``jetviz merge`` write).
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from dataclasses import dataclass, replace

import numpy as np

from jetviz.errors import JetvizInputError
from jetviz.jets import JetSet
from jetviz.readers import store
from jetviz.readers.detect import detect_format

CHUNK_ROWS = 8192  # rows per read (≈ 3 MB of particles at P = 30)
BUFFER_CHUNKS = 4  # chunks shuffled together
VAL_ROWS_MAX = 20_000  # validation rows a held-out set keeps in memory at most


def count_rows(path: str | os.PathLike) -> int:
    """The rows of a jetviz jet file, from its declared shape (nothing is read)."""
    if detect_format(str(path), want="jets") != "jetviz":
        raise JetvizInputError(
            f"{path}: streaming reads jetviz jet files (written by `jetviz generate` or "
            "`jetviz merge`); load other formats whole (leave out --stream)")
    return int(store.read_layout(path, ["jetviz-jets"])[1]["particles"][0][0])


@dataclass(frozen=True)
class JetStream:
    """The chunked, seeded, shuffled batches of a jetviz jet file (see the module docstring).

    Attributes:
        path: the jet file.
        batch_size: rows per batch (under DDP: the batch all processes share).
        seed: seeds the chunk order and the shuffling of each buffer.
        chunk_rows: rows per read.
        buffer_chunks: chunks shuffled together (the rows in memory: ≤ this × chunk_rows).
        n_particles: keep the hardest P particles of each jet (None: all the file has).
        chunks: the chunk indices this stream visits (None: all; see :meth:`holdout`).
    """

    path: str
    batch_size: int
    seed: int = 0
    chunk_rows: int = CHUNK_ROWS
    buffer_chunks: int = BUFFER_CHUNKS
    n_particles: int | None = None
    chunks: tuple[int, ...] | None = None

    def __post_init__(self) -> None:
        for name in ("batch_size", "chunk_rows", "buffer_chunks"):
            if getattr(self, name) < 1:
                raise JetvizInputError(f"{name} must be ≥ 1, got {getattr(self, name)}")

    @property
    def n_file_rows(self) -> int:
        """Rows in the file."""
        return count_rows(self.path)

    @property
    def chunk_ids(self) -> tuple[int, ...]:
        """The chunks this stream visits."""
        if self.chunks is not None:
            return self.chunks
        return tuple(range(math.ceil(self.n_file_rows / self.chunk_rows)))

    def chunk_sizes(self) -> dict[int, int]:
        """Rows of each chunk visited (the file's last chunk may be short)."""
        n = self.n_file_rows
        return {c: min(self.chunk_rows, n - c * self.chunk_rows) for c in self.chunk_ids}

    def __len__(self) -> int:
        """Rows per epoch."""
        return sum(self.chunk_sizes().values())

    @property
    def buffer_rows(self) -> int:
        """The most rows of the file in memory at once."""
        return self.buffer_chunks * self.chunk_rows

    def read_chunk(self, chunk: int) -> JetSet:
        """The rows of chunk ``chunk``, read from the file (and cut to ``n_particles``)."""
        jets = store.read_jets(self.path, max_rows=self.chunk_rows,
                               start=chunk * self.chunk_rows)
        if self.n_particles is not None and jets.n_particles != self.n_particles:
            jets = jets.truncated(self.n_particles)
        return jets

    def _plan(self, epoch: int) -> tuple[np.random.Generator, list[list[int]]]:
        """The epoch's generator and its buffers (lists of chunk indices), in order."""
        rng = np.random.default_rng([self.seed, epoch])
        order = [self.chunk_ids[i] for i in rng.permutation(len(self.chunk_ids))]
        return rng, [order[i:i + self.buffer_chunks]
                     for i in range(0, len(order), self.buffer_chunks)]

    def n_batches(self, epoch: int) -> int:
        """Batches of ``epoch`` (each buffer ends with its own, possibly short, batch)."""
        sizes = self.chunk_sizes()
        return sum(math.ceil(sum(sizes[c] for c in buffer) / self.batch_size)
                   for buffer in self._plan(epoch)[1])

    def batches(self, epoch: int) -> Iterator[JetSet]:
        """The batches of ``epoch``: every row of the stream's chunks once, shuffled."""
        rng, buffers = self._plan(epoch)
        for buffer in buffers:
            jets = _concatenate([self.read_chunk(c) for c in buffer])
            order = rng.permutation(len(jets))
            for start in range(0, len(jets), self.batch_size):
                yield jets.subset(order[start:start + self.batch_size])
            del jets

    def holdout(self, fraction: float, max_rows: int = VAL_ROWS_MAX
                ) -> tuple[JetStream, JetSet]:
        """(this stream without a seeded ``fraction`` of its chunks, those chunks' jets).

        At least one chunk is held out and one kept; the held-out jets are read into memory
        up to ``max_rows`` (the first rows of the held-out chunks, in chunk order).

        Raises:
            JetvizInputError: ``fraction`` outside (0, 1), or a file of a single chunk.
        """
        if not 0 < fraction < 1:
            raise JetvizInputError(f"the validation fraction must be in (0, 1), got {fraction}")
        ids = self.chunk_ids
        if len(ids) < 2:
            raise JetvizInputError(
                f"{self.path}: {len(self)} rows make one chunk of {self.chunk_rows}; streaming "
                "holds out whole chunks for validation: use a smaller chunk or load the "
                "file whole (leave out --stream)")
        n_val = min(len(ids) - 1, max(1, round(fraction * len(ids))))
        pick = np.random.default_rng([self.seed, 2**31 - 1]).permutation(len(ids))
        val = sorted(ids[i] for i in pick[:n_val])
        parts, kept = [], 0
        for c in val:
            if kept >= max_rows:
                break
            part = self.read_chunk(c)
            parts.append(part.subset(slice(0, max_rows - kept)))
            kept += len(parts[-1])
        train = replace(self, chunks=tuple(sorted(set(ids) - set(val))))
        return train, _concatenate(parts)


def _concatenate(parts: list[JetSet]) -> JetSet:
    """One JetSet of the rows of ``parts`` (same file, same particle count), in order."""
    if len(parts) == 1:
        return parts[0]
    first = parts[0]
    return JetSet(particles=np.concatenate([p.particles for p in parts]),
                  mask=np.concatenate([p.mask for p in parts]),
                  jets=np.concatenate([p.jets for p in parts]),
                  labels=np.concatenate([p.labels for p in parts]),
                  class_names=first.class_names, source=first.source, attrs=first.attrs,
                  radius=first.radius)
