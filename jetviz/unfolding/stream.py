"""The cINN's training events read chunk by chunk (``jetviz unfold train --stream``): a
paired-event file larger than memory trains, with the in-memory split.

The split is the in-memory one (:class:`jetviz.unfolding.training.InMemoryEvents`), by row
ranges of the file of N events: the last ``n_test`` events are the test set (never read
here), the last ``round(val_fraction × (N − n_test))`` (at least 1) of the rest validate,
and the rows [0, n_train) before them train. Only row ranges are read
(:func:`jetviz.unfolding.data.read_pair_rows`):

* **standardisation**: one pass over the training rows, chunk by chunk, merges per-chunk
  float64 means and squared deviations (Chan et al.'s parallel formula): the exact mean and
  (population) standard deviation of the model inputs, equal to the in-memory
  ``mean``/``std`` to float32 precision;
* **the reference of the epoch choice** (:class:`~jetviz.unfolding.selection.MarginalScore`
  builds IBU's response and prior and the truth-vs-truth draws from training events): kept
  in the same pass as a **seeded bounded sample** of ``reference_rows`` training events,
  in file order; when the training rows are no more than that, it is every training event
  and the score is the in-memory one exactly;
* **validation** rows are read whole by their range (at most ``VAL_EVENTS_MAX``: the
  epoch choice samples the posterior of each of them every epoch); the test rows are not read;
* **batches**: the training rows in chunks of ``chunk_rows`` with the chunk order and the
  within-buffer shuffle of :func:`jetviz.readers.stream.chunk_plan` (seeded by (seed, epoch),
  ``buffer_chunks`` chunks in memory at once, every training event once per epoch). An epoch
  depends only on the file, the chunking, the seed and its index, so ``--resume`` (which
  restarts at an epoch boundary) continues exactly as an uninterrupted run.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator

import numpy as np
import torch

from jetviz.errors import JetvizInputError
from jetviz.readers.stream import BUFFER_CHUNKS, CHUNK_ROWS, Moments, chunk_plan, sample_rows
from jetviz.unfolding.data import PairedEvents, read_pair_rows
from jetviz.unfolding.representation import model_inputs
from jetviz.unfolding.selection import MarginalScore

VAL_EVENTS_MAX = 500_000  # validation events read into memory at most
REFERENCE_ROWS = 200_000  # training events kept for the epoch choice's IBU and baseline


class StreamedEvents:
    """The training data of :func:`~jetviz.unfolding.training.train_cinn` read from a paired
    file chunk by chunk (see the module docstring); ``peak_rows`` is the most training rows
    held at once so far."""

    def __init__(self, path: str | os.PathLike, n_test: int, val_fraction: float,
                 batch_size: int, seed: int, samples: int = 4,
                 chunk_rows: int = CHUNK_ROWS, buffer_chunks: int = BUFFER_CHUNKS,
                 reference_rows: int = REFERENCE_ROWS):
        for name, value in (("batch_size", batch_size), ("chunk_rows", chunk_rows),
                            ("buffer_chunks", buffer_chunks), ("reference_rows", reference_rows)):
            if value < 1:
                raise JetvizInputError(f"{name} must be ≥ 1, got {value}")
        self.path, self.batch_size, self.seed = str(path), batch_size, seed
        self.chunk_rows, self.buffer_chunks = chunk_rows, buffer_chunks
        _, n_file = read_pair_rows(path, 0, 0, 0)
        if not 0 < n_test < n_file:
            raise JetvizInputError(f"n_test = {n_test}: need 0 < n_test < {n_file} events")
        n_part = n_file - n_test
        self.n_val = max(1, round(val_fraction * n_part))
        self.n_train = n_part - self.n_val
        if self.n_train < 1:
            raise JetvizInputError(f"{path}: {n_part} events before the test set leave none "
                                   "to train on after validation")
        if self.n_val > VAL_EVENTS_MAX:
            raise JetvizInputError(
                f"{path}: the validation part ({self.n_val} events) is read whole and may hold "
                f"at most {VAL_EVENTS_MAX}; use a file of fewer events")
        validation, _ = read_pair_rows(path, self.n_train, n_part, self.n_val)
        self.command = validation.attrs.get("command", "")
        x_val, y_val, phi_val = model_inputs(validation)
        self.x_val, self.y_val = x_val, y_val
        self.peak_rows = 0
        moments, reference = self._first_pass(reference_rows)
        self.moments = moments
        self.score = MarginalScore(validation, y_val, phi_val, reference, samples=samples,
                                   seed=seed)
        self.record = {"chunk_rows": chunk_rows, "buffer_chunks": buffer_chunks,
                       "reference_rows": len(reference)}

    @property
    def chunk_ids(self) -> tuple[int, ...]:
        return tuple(range(math.ceil(self.n_train / self.chunk_rows)))

    def _rows(self, chunk: int) -> tuple[int, int]:
        start = chunk * self.chunk_rows
        return start, min(start + self.chunk_rows, self.n_train)

    def _size(self, chunks: list[int]) -> int:
        """Training rows in ``chunks``."""
        return sum(stop - start for start, stop in map(self._rows, chunks))

    def _read(self, chunks: list[int]) -> tuple[np.ndarray, np.ndarray]:
        """(x, y) of the training rows of ``chunks``, in order."""
        parts = [model_inputs(read_pair_rows(self.path, *self._rows(c), self.chunk_rows)[0])
                 for c in chunks]
        self.peak_rows = max(self.peak_rows, sum(len(p[0]) for p in parts))
        return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])

    def _first_pass(self, reference_rows: int) -> tuple[tuple[Moments, Moments], PairedEvents]:
        """The moments of x and y over the training rows and the reference sample."""
        keep = sample_rows(self.n_train, reference_rows, self.seed)
        moments, parts = (Moments(), Moments()), []
        for chunk in self.chunk_ids:
            start, stop = self._rows(chunk)
            events, _ = read_pair_rows(self.path, start, stop, self.chunk_rows)
            x, y, _ = model_inputs(events)
            self.peak_rows = max(self.peak_rows, len(x))
            moments[0].add(x)
            moments[1].add(y)
            if keep is None:
                parts.append(events)
            else:
                picked = keep[(keep >= start) & (keep < stop)] - start
                parts.append(events.subset(picked))
        reference = PairedEvents(*(np.concatenate([getattr(p, name) for p in parts])
                                   for name in ("parton", "parton_id", "leptons", "jets",
                                                "n_jets")), parts[0].attrs)
        return moments, reference

    def standardise(self, model) -> None:
        """Fix the model's loc/scale from the training rows' moments."""
        x, y = self.moments
        model.set_moments(x.mean, x.std, y.mean, y.std)

    def resume(self, n_history: int) -> None:
        """Nothing to restore: an epoch's batches depend on its index alone."""

    def n_batches(self, epoch: int) -> int:
        """Batches of ``epoch`` (each buffer ends with its own, possibly short, batch)."""
        return sum(math.ceil(self._size(buffer) / self.batch_size)
                   for buffer in chunk_plan(self.chunk_ids, self.buffer_chunks, self.seed,
                                            epoch)[1])

    def row_batches(self, epoch: int) -> Iterator[tuple[list[int], np.ndarray]]:
        """(the buffer's chunks, the buffer-local row order) of each buffer of ``epoch``."""
        rng, buffers = chunk_plan(self.chunk_ids, self.buffer_chunks, self.seed, epoch)
        for buffer in buffers:
            yield buffer, rng.permutation(self._size(buffer))

    def file_rows(self, epoch: int) -> Iterator[np.ndarray]:
        """The file rows of each batch of ``epoch`` (what :meth:`batches` reads)."""
        for buffer, order in self.row_batches(epoch):
            rows = np.concatenate([np.arange(*self._rows(c)) for c in buffer])[order]
            for start in range(0, len(rows), self.batch_size):
                yield rows[start:start + self.batch_size]

    def batches(self, epoch: int) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """(x, y) batches of ``epoch``: every training event once, shuffled in buffers."""
        for buffer, order in self.row_batches(epoch):
            x, y = self._read(buffer)
            x, y = torch.as_tensor(x[order]), torch.as_tensor(y[order])
            for start in range(0, len(x), self.batch_size):
                yield x[start:start + self.batch_size], y[start:start + self.batch_size]
            del x, y
