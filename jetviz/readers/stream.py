"""Seeded shuffled batches of a jet file read chunk by chunk: training on files larger than
memory.

Vocabulary
----------
A **chunk** is ``chunk_rows`` consecutive rows of the file (the last one may be shorter),
read with the lazy capped reader of its format: :func:`jetviz.readers.store.read_jets`
(``start``, ``max_rows``) for a jetviz jet file, :func:`jetviz.readers.jetclass.read_jetclass`
(``start``, ``max_jets``: uproot's entry ranges) for a JetClass ROOT file. The whole file is
never read. With ``classes`` a chunk keeps only the jets of those classes (its size is then
counted from the file's labels alone). The **buffer** holds ``buffer_chunks`` chunks at
a time. An **epoch** visits every chunk of the stream once:

1. the chunk order is a permutation drawn from ``(seed, epoch)``;
2. the chunks are taken ``buffer_chunks`` at a time; the rows of those chunks are shuffled
   together (the same generator) and cut into batches of ``batch_size`` rows, the last batch
   of a buffer holding what is left (so at most ``buffer_chunks × chunk_rows`` rows of the
   file are in memory, and each row is seen exactly once per epoch);
3. the buffer is let go before the next one is read.

The batches depend only on the file, the chunking, the seed and the epoch: a resumed run
sees what an uninterrupted one saw. Epoch-based trainers (the β-VAE, the anomaly AE) ask for
:meth:`JetStream.batches` of each epoch; step-based ones (JetCLR, the NAE phase) walk
:meth:`JetStream.endless`, epoch after epoch, and resume from a stored (epoch, batch)
position: the buffers before it are skipped without being read. Every data-parallel process
draws the same batches and keeps its share with :func:`jetviz.device.shard` (rows rank,
rank + world, …): the shares are disjoint and together are the batch.

Batches are :class:`~jetviz.jets.JetSet` s (particles (n, P, 3) = ptrel, etarel, phirel; mask
(n, P); jets (n, 5); labels) as the file stores them, cut to the hardest ``n_particles``.
:meth:`JetStream.holdout` sets aside whole chunks (seeded) as a validation set small enough to
hold in memory. Streaming reads jetviz jet files (kind ``jetviz-jets``, what ``jetviz
generate`` and ``jetviz merge`` write) and JetClass ROOT files (one file per stream).
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterator
from dataclasses import dataclass, replace
from functools import cached_property

import numpy as np

from jetviz.errors import JetvizInputError
from jetviz.jets import JetSet
from jetviz.readers import jetclass, store
from jetviz.readers.detect import detect_format
from jetviz.readers.load import count_jets

CHUNK_ROWS = 8192  # rows per read (≈ 3 MB of particles at P = 30)
BUFFER_CHUNKS = 4  # chunks shuffled together
VAL_ROWS_MAX = 20_000  # validation rows a held-out set keeps in memory at most


STREAMED_FORMATS = ("jetviz", "jetclass")


def stream_format(path: str | os.PathLike) -> str:
    """The format of a file that can be streamed ("jetviz" or "jetclass"), else an error."""
    fmt = detect_format(str(path), want="jets")
    if fmt not in STREAMED_FORMATS:
        raise JetvizInputError(
            f"{path}: streaming reads jetviz jet files (written by `jetviz generate` or "
            f"`jetviz merge`) and JetClass ROOT files, not {fmt} files; load other formats "
            "whole (leave out --stream)")
    return fmt


def count_rows(path: str | os.PathLike) -> int:
    """The rows of a jetviz jet file or the entries of a JetClass file, from the file's
    declared shape (no jet is read)."""
    return count_jets(str(path), fmt=stream_format(path))


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
        classes: keep only the jets of these class names (None: every jet).
    """

    path: str
    batch_size: int
    seed: int = 0
    chunk_rows: int = CHUNK_ROWS
    buffer_chunks: int = BUFFER_CHUNKS
    n_particles: int | None = None
    chunks: tuple[int, ...] | None = None
    classes: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        for name in ("batch_size", "chunk_rows", "buffer_chunks"):
            if getattr(self, name) < 1:
                raise JetvizInputError(f"{name} must be ≥ 1, got {getattr(self, name)}")

    @cached_property
    def format(self) -> str:
        """"jetviz" or "jetclass" (see :func:`stream_format`; sniffed once per stream)."""
        return stream_format(self.path)

    @property
    def class_names(self) -> tuple[str, ...]:
        """The file's class names (what ``labels`` index)."""
        if self.format == "jetclass":
            return jetclass.JETCLASS_CLASSES
        return tuple(json.loads(store.read_layout(self.path, ["jetviz-jets"])[2]["class_names"]))

    def _kept_labels(self) -> np.ndarray:
        """The label indices of ``classes`` (checked to be the file's)."""
        names = self.class_names
        unknown = [c for c in self.classes if c not in names]
        if unknown:
            raise JetvizInputError(f"{self.path}: no class {unknown}; the classes are {names}")
        return np.array([names.index(c) for c in self.classes])

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
        """Rows of each chunk visited (the file's last chunk may be short; with ``classes``
        the rows of those classes, counted from the labels)."""
        if self.classes is not None:
            keep = self._kept_labels()
            return {c: int(np.isin(self._chunk_labels(c), keep).sum()) for c in self.chunk_ids}
        n = self.n_file_rows
        return {c: min(self.chunk_rows, n - c * self.chunk_rows) for c in self.chunk_ids}

    def _chunk_labels(self, chunk: int) -> np.ndarray:
        """The labels of chunk ``chunk`` (every row), read alone."""
        start = chunk * self.chunk_rows
        if self.format == "jetclass":
            return jetclass.read_jetclass_labels(self.path, start, start + self.chunk_rows)
        return store.read_labels(self.path, start, self.chunk_rows)

    def __len__(self) -> int:
        """Rows per epoch."""
        return sum(self.chunk_sizes().values())

    @property
    def buffer_rows(self) -> int:
        """The most rows of the file in memory at once."""
        return self.buffer_chunks * self.chunk_rows

    def read_chunk(self, chunk: int) -> JetSet:
        """The rows of chunk ``chunk``, read from the file (cut to ``n_particles``; every
        class)."""
        start = chunk * self.chunk_rows
        if self.format == "jetclass":
            jets = jetclass.read_jetclass(
                self.path, start=start, max_jets=self.chunk_rows,
                n_particles=self.n_particles or jetclass.MAX_PARTICLES).jets
        else:
            jets = store.read_jets(self.path, max_rows=self.chunk_rows, start=start)
        if self.n_particles is not None and jets.n_particles != self.n_particles:
            jets = jets.truncated(self.n_particles)
        return jets

    def read_chunks(self, chunks: list[int]) -> JetSet | None:
        """The rows of ``chunks`` (in order) that the stream keeps (only the jets of
        ``classes``); None when that is none."""
        jets = _concatenate([self.read_chunk(c) for c in chunks])
        if self.classes is None:
            return jets
        keep = np.isin(jets.labels, self._kept_labels())
        return jets.subset(keep) if keep.any() else None

    def _plan(self, epoch: int) -> tuple[np.random.Generator, list[list[int]]]:
        """The epoch's generator and its buffers (lists of chunk indices), in order."""
        return chunk_plan(self.chunk_ids, self.buffer_chunks, self.seed, epoch)

    def n_batches(self, epoch: int) -> int:
        """Batches of ``epoch`` (each buffer ends with its own, possibly short, batch)."""
        sizes = self.chunk_sizes()
        return sum(math.ceil(sum(sizes[c] for c in buffer) / self.batch_size)
                   for buffer in self._plan(epoch)[1])

    def batches(self, epoch: int, skip: int = 0) -> Iterator[JetSet]:
        """The batches of ``epoch``: every row of the stream's chunks once, shuffled; from
        batch ``skip`` on (the buffers wholly before it are not read)."""
        rng, buffers = self._plan(epoch)
        sizes = self.chunk_sizes() if skip else {}
        for buffer in buffers:
            if skip:
                n = sum(sizes[c] for c in buffer)
                if skip >= math.ceil(n / self.batch_size):
                    if n:  # the generator moves on as if the buffer were read
                        rng.permutation(n)
                    skip -= math.ceil(n / self.batch_size)
                    continue
            jets = self.read_chunks(buffer)
            if jets is None:
                continue
            order = rng.permutation(len(jets))
            for start in range(skip * self.batch_size, len(jets), self.batch_size):
                yield jets.subset(order[start:start + self.batch_size])
            skip = 0
            del jets

    def endless(self, epoch: int = 0, batch: int = 0) -> Iterator[tuple[int, int, JetSet]]:
        """(epoch, batch index, batch), epoch after epoch, from batch ``batch`` of ``epoch``
        on: the batches of step-based trainers, which resume from the position after the
        last batch they trained on.

        Raises:
            JetvizInputError: an epoch without a batch (no jet of ``classes`` in the stream).
        """
        while True:
            index = batch - 1
            for index, jets in enumerate(self.batches(epoch, skip=batch), start=batch):
                yield epoch, index, jets
            if index < 0:
                raise JetvizInputError(
                    f"{self.path}: the streamed chunks hold no jet"
                    + (f" of the classes {list(self.classes)}" if self.classes else ""))
            epoch, batch = epoch + 1, 0

    def holdout_record(self, train_stream: JetStream, fraction: float) -> dict:
        """What a run's record keeps of :meth:`holdout`: the chunking, the fraction and the
        held-out chunks (this stream's chunks that ``train_stream`` lacks)."""
        return {"chunk_rows": self.chunk_rows, "buffer_chunks": self.buffer_chunks,
                "held_out_fraction": fraction,
                "held_out_chunks": sorted(set(self.chunk_ids) - set(train_stream.chunk_ids))}

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
        val = held_out_chunk_ids(ids, fraction, self.seed)
        parts, kept = [], 0
        for c in val:
            if kept >= max_rows:
                break
            part = self.read_chunks([c])
            if part is not None:
                parts.append(part.subset(slice(0, max_rows - kept)))
                kept += len(parts[-1])
        if not parts:
            raise JetvizInputError(f"{self.path}: the held-out chunks hold no jet of the "
                                   f"classes {list(self.classes)}; hold out a larger fraction")
        train = replace(self, chunks=tuple(sorted(set(ids) - set(val))))
        return train, _concatenate(parts)


def chunk_plan(chunk_ids: tuple[int, ...], buffer_chunks: int, seed: int | tuple[int, ...],
               epoch: int) -> tuple[np.random.Generator, list[list[int]]]:
    """(the epoch's generator, its buffers): the chunks in an order drawn from (seed, epoch),
    ``buffer_chunks`` at a time (steps 1–2 of the module docstring); the generator then
    shuffles each buffer's rows in turn."""
    rng = np.random.default_rng([*np.atleast_1d(seed), epoch])
    order = [chunk_ids[i] for i in rng.permutation(len(chunk_ids))]
    return rng, [order[i:i + buffer_chunks] for i in range(0, len(order), buffer_chunks)]


class Moments:
    """Per-column mean and population standard deviation merged chunk by chunk (float64):
    the exact moments of a file read chunk by chunk (Chan et al.'s parallel formula)."""

    def __init__(self) -> None:
        self.n, self.mean, self.m2 = 0, 0.0, 0.0

    def add(self, a: np.ndarray) -> None:
        """Merge the rows of ``a`` (n, D)."""
        a = a.astype(np.float64)
        n_b, mean_b = len(a), a.mean(axis=0)
        m2_b = ((a - mean_b) ** 2).sum(axis=0)
        n = self.n + n_b
        delta = mean_b - self.mean
        self.mean = self.mean + delta * n_b / n
        self.m2 = self.m2 + m2_b + delta ** 2 * self.n * n_b / n
        self.n = n

    @property
    def std(self) -> np.ndarray:
        return np.sqrt(self.m2 / self.n)


def sample_rows(n: int, cap: int, seed: int | tuple[int, ...]) -> np.ndarray | None:
    """A seeded bounded sample: ``cap`` of the rows 0 … n − 1 without replacement, sorted (to
    pick chunk by chunk in file order); None when ``n ≤ cap`` (every row is kept)."""
    if n <= cap:
        return None
    rng = np.random.default_rng([*np.atleast_1d(seed), 2**31 - 2])
    return np.sort(rng.choice(n, cap, replace=False))


def held_out_chunk_ids(ids: tuple[int, ...], fraction: float, seed: int) -> list[int]:
    """The chunks of ``ids`` that :meth:`JetStream.holdout` sets aside (sorted): a seeded
    ``fraction`` of them, at least one, never all; a function of the ids, fraction and seed
    alone (no file is read), so a run's record names its held-out chunks."""
    n_val = min(len(ids) - 1, max(1, round(fraction * len(ids))))
    pick = np.random.default_rng([seed, 2**31 - 1]).permutation(len(ids))
    return sorted(ids[i] for i in pick[:n_val])


class StreamCursor:
    """The batches of a stream one at a time, epoch after epoch (:meth:`JetStream.endless`),
    and the position (epoch, next batch) a step-based trainer stores to resume from."""

    def __init__(self, stream: JetStream, position: tuple[int, int] = (0, 0)) -> None:
        self.stream = stream
        self.seek(position)

    def seek(self, position: tuple[int, int]) -> None:
        """Go to ``position``: the next batch is batch ``position[1]`` of epoch
        ``position[0]`` (nothing is read until it is asked for)."""
        self.position = (int(position[0]), int(position[1]))
        self._walk: Iterator[tuple[int, int, JetSet]] | None = None

    def next(self) -> JetSet:
        """The next batch (the position moves past it)."""
        if self._walk is None:
            self._walk = self.stream.endless(*self.position)
        epoch, index, jets = next(self._walk)
        self.position = (epoch, index + 1)
        return jets


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
