"""The theory map's events read chunk by chunk (``jetviz theorymap train --stream``): an event
file larger than memory trains.

An event file (kind ``jetviz-events``) is sorted by theory, as ``jetviz events`` writes it:
each theory is one row range [a_t, b_t) of the file. Only row ranges are read
(:func:`jetviz.readers.store.read_file_rows`); every theory is cut into its own chunks of
``chunk_rows`` rows, and every training batch takes sets from one stream per theory, read
side by side.

* **split**: a theory that fits in one chunk is split as in memory
  (:func:`jetviz.theorymap.sets.prepare_data`: the same generator, a random ``test_fraction``
  of its rows is the test set); a theory of several chunks holds out whole chunks
  (:func:`jetviz.readers.stream.held_out_chunk_ids`, seeded by (seed, theory)), at least one,
  never all. A file whose every theory fits in one chunk has the in-memory split exactly.
* **scaler**: one pass over the training rows merges the float64 moments of their physics
  features (:class:`jetviz.readers.stream.Moments`): the in-memory ``Scaler.fit`` to rounding.
* **bounded samples** drawn in the same pass (:func:`jetviz.readers.stream.sample_rows`):
  per theory at most ``sample_rows`` training events (what the KDE accuracy and the map embed)
  and at most ``sample_rows`` events of the whole training pool, whose columns are shuffled
  into the unphysical training sample. The test sets are capped at ``test_rows`` per theory
  (the first held-out rows); the unphysical test sample is drawn from them.
* **batches**: each theory's training rows in its chunk order and within-buffer shuffle of
  :func:`jetviz.readers.stream.chunk_plan` (seeded by (seed, theory), ``buffer_chunks`` chunks
  in memory at once): every training event once per epoch of its theory; a step takes the
  next ``sets × N`` rows of every theory's stream (a set may straddle two epochs). The rows a
  step takes depend only on the file, the chunking, the seed and the step, so ``--resume``
  continues exactly as an uninterrupted run.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator

import numpy as np

from jetviz.errors import JetvizInputError
from jetviz.events import EVENT_FEATURES, Theory
from jetviz.readers.store import read_file_rows
from jetviz.readers.stream import (
    BUFFER_CHUNKS,
    CHUNK_ROWS,
    Moments,
    chunk_plan,
    held_out_chunk_ids,
    sample_rows,
)
from jetviz.theorymap.features import Scaler, physics_features
from jetviz.theorymap.sets import UNPHYSICAL, TheoryData, theory_from_dict, unphysical_sample

KIND = "jetviz-events"
SAMPLE_ROWS = 20_000  # training events per theory kept for the accuracy and the map
TEST_ROWS = 20_000  # test events per theory kept in memory
MIN_EVENTS = 10  # a theory with fewer events is left out (as in memory)

# A piece of a theory's rows: (start, stop) of the file and the rows of it kept (None: all).
Piece = tuple[int, int, np.ndarray | None]


def theory_ranges(path: str | os.PathLike, chunk_rows: int
                  ) -> tuple[list[tuple[int, int]], tuple[Theory, ...], dict]:
    """(the row range of each theory of the file's table, the table, the file's attributes),
    from its theory column read chunk by chunk.

    Raises:
        JetvizInputError: not an event file, or a file not sorted by theory.
    """
    arrays, attrs, n_file = read_file_rows(path, KIND, ["features", "theory"], 0, 0, 0)
    if arrays["features"].ndim != 2 or arrays["features"].shape[1] != len(EVENT_FEATURES):
        raise JetvizInputError(f"{path}: features of shape {arrays['features'].shape[1:]}, "
                               f"expected ({len(EVENT_FEATURES)},) per event")
    table = tuple(theory_from_dict(t) for t in json.loads(attrs.pop("theories", "[]")))
    ranges = [(0, 0)] * len(table)
    seen, last = set(), None
    for start in range(0, n_file, chunk_rows):
        stop = min(start + chunk_rows, n_file)
        theory = read_file_rows(path, KIND, ["theory"], start, stop, chunk_rows)[0]["theory"]
        cuts = np.flatnonzero(np.diff(theory)) + 1
        for lo, hi in zip([0, *map(int, cuts)], [*map(int, cuts), len(theory)], strict=True):
            t = int(theory[lo])
            if not 0 <= t < len(table):
                raise JetvizInputError(f"{path}: row {start + lo} has theory {t}; the file's "
                                       f"table has {len(table)} theories")
            if t == last:
                ranges[t] = (ranges[t][0], start + hi)
                continue
            if t in seen:
                raise JetvizInputError(
                    f"{path}: theory {table[t].name!r} comes back at row {start + lo}; "
                    "streaming needs the events sorted by theory (as `jetviz events` writes "
                    "them): sort the file or load it whole (leave out --stream)")
            seen.add(t)
            ranges[t], last = (start + lo, start + hi), t
    return ranges, table, attrs


class StreamedTheories:
    """The theories of an event file read chunk by chunk (see the module docstring).

    Attributes:
        data: the in-memory part — the bounded training samples, the capped test sets, the
            unphysical samples and the streamed scaler — for the accuracy and the map.
        train_rows: per theory (the unphysical sample last), its training events per epoch.
        peak_rows: the most rows of the file read into one buffer so far.
        record: the stream settings a run stores (and a resumed run must match).
    """

    def __init__(self, path: str | os.PathLike, seed: int = 0, test_fraction: float = 0.3,
                 chunk_rows: int = CHUNK_ROWS, buffer_chunks: int = BUFFER_CHUNKS,
                 sample_rows: int = SAMPLE_ROWS, test_rows: int = TEST_ROWS):
        for name, value in (("chunk_rows", chunk_rows), ("buffer_chunks", buffer_chunks),
                            ("sample_rows", sample_rows), ("test_rows", test_rows)):
            if value < 1:
                raise JetvizInputError(f"{name} must be ≥ 1, got {value}")
        if not 0 < test_fraction < 1:
            raise JetvizInputError(f"the test fraction must be in (0, 1), got {test_fraction}")
        self.path, self.seed, self.source = str(path), seed, str(path)
        self.chunk_rows, self.buffer_chunks = chunk_rows, buffer_chunks
        ranges, table, self.attrs = theory_ranges(path, chunk_rows)
        rng = np.random.default_rng(seed)  # the in-memory split's generator
        self.pieces: list[list[Piece]] = []
        theories, tests = [], []
        for t, (a, b) in enumerate(ranges):
            if b - a < MIN_EVENTS:
                continue
            train, test = self._split(len(theories), a, b, test_fraction, rng)
            self.pieces.append(train)
            tests.append(self._read_test(test, test_rows))
            theories.append(table[t])
        if len(theories) < 2:
            counts = {th.name: b - a for th, (a, b) in zip(table, ranges, strict=True)}
            raise JetvizInputError(f"{path}: the theory map needs at least two theories with "
                                   f"≥ {MIN_EVENTS} events, found {counts}")
        self.peak_rows = 0
        scaler, samples, index, source = self._first_pass(sample_rows)
        n_unphysical = int(np.median([self._size(p) for p in self.pieces]))
        unphysical = unphysical_sample(source, min(n_unphysical, len(source)), rng)
        n_test = int(np.median([len(x) for x in tests]))
        tests.append(unphysical_sample(np.concatenate(tests), n_test, rng))
        self.train_rows = [*(int(self._size(p)) for p in self.pieces), len(unphysical)]
        self.unphysical = scaler.transform(unphysical)
        self.data = TheoryData((*theories, UNPHYSICAL), (*samples, unphysical), tuple(tests),
                               (*index, np.full(len(unphysical), -1)), scaler, seed,
                               test_fraction)
        self.record = {"chunk_rows": chunk_rows, "buffer_chunks": buffer_chunks,
                       "sample_rows": sample_rows, "test_rows": test_rows,
                       "train_rows": self.train_rows}

    def _split(self, t: int, a: int, b: int, fraction: float, rng: np.random.Generator
               ) -> tuple[list[Piece], list[Piece]]:
        """(training pieces, test pieces) of the theory of rows [a, b)."""
        starts = range(a, b, self.chunk_rows)
        chunks = [(s, min(s + self.chunk_rows, b)) for s in starts]
        if len(chunks) == 1:  # the in-memory split
            idx = rng.permutation(np.arange(a, b))
            n_test = round(fraction * (b - a))
            return [(a, b, idx[n_test:])], [(a, b, idx[:n_test])]
        held = set(held_out_chunk_ids(tuple(range(len(chunks))), fraction, self.seed + 7919 * t))
        return ([(*c, None) for i, c in enumerate(chunks) if i not in held],
                [(*c, None) for i, c in enumerate(chunks) if i in held])

    def _read_piece(self, piece: Piece) -> np.ndarray:
        """(n, 18) float64 raw events of a piece (its kept rows, in the order kept)."""
        start, stop, keep = piece
        x = read_file_rows(self.path, KIND, ["features"], start, stop,
                           self.chunk_rows)[0]["features"].astype(np.float64)
        return x if keep is None else x[keep - start]

    @staticmethod
    def _size(pieces: list[Piece]) -> int:
        return sum(stop - start if keep is None else len(keep) for start, stop, keep in pieces)

    @staticmethod
    def _rows(piece: Piece) -> np.ndarray:
        start, stop, keep = piece
        return np.arange(start, stop) if keep is None else keep

    def _read_test(self, pieces: list[Piece], cap: int) -> np.ndarray:
        """The first ``cap`` test rows of a theory (in piece order)."""
        parts, kept = [], 0
        for piece in pieces:
            if kept >= cap:
                break
            parts.append(self._read_piece(piece)[:cap - kept])
            kept += len(parts[-1])
        return np.concatenate(parts)

    def _first_pass(self, cap: int):
        """(the scaler, per theory its training sample and their file rows, the unphysical
        sample's source events): one pass over every training row."""
        moments, samples, index, source = Moments(), [], [], []
        pool = sample_rows(sum(map(self._size, self.pieces)), cap, (self.seed, 1))
        offset = 0
        for t, pieces in enumerate(self.pieces):
            keep = sample_rows(self._size(pieces), cap, (self.seed, 2, t))
            parts, rows, done = [], [], 0
            for piece in pieces:
                x = self._read_piece(piece)
                self.peak_rows = max(self.peak_rows, len(x))
                moments.add(physics_features(x))
                pick = _within(keep, done, len(x))
                parts.append(x[pick])
                rows.append(self._rows(piece)[pick])
                source.append(x[_within(pool, offset + done, len(x))])
                done += len(x)
            offset += done
            samples.append(np.concatenate(parts))
            index.append(np.concatenate(rows))
        std = moments.std
        std[std < 1e-6] = 1.0
        scaler = Scaler(tuple(map(float, moments.mean)), tuple(map(float, std)))
        return scaler, samples, index, np.concatenate(source)

    def _buffers(self, t: int, epoch: int) -> Iterator[tuple[int, Callable[[], np.ndarray]]]:
        """(rows, read) of each buffer of theory ``t``'s ``epoch``: ``read()`` gives the
        buffer's standardised rows in their shuffled order (drawn whether read or not)."""
        if t == len(self.pieces):  # the unphysical sample, in memory
            order = np.random.default_rng([self.seed, t, epoch]).permutation(self.train_rows[t])
            yield len(order), lambda: self.unphysical[order]
            return
        pieces = self.pieces[t]
        rng, buffers = chunk_plan(tuple(range(len(pieces))), self.buffer_chunks,
                                  (self.seed, t), epoch)
        for buffer in buffers:
            order = rng.permutation(self._size([pieces[i] for i in buffer]))
            yield len(order), lambda buffer=buffer, order=order: self._read(t, buffer)[order]

    def _read(self, t: int, buffer: list[int]) -> np.ndarray:
        x = np.concatenate([self._read_piece(self.pieces[t][i]) for i in buffer])
        self.peak_rows = max(self.peak_rows, len(x))
        return self.data.scaler.transform(x)

    def file_rows(self, t: int, epoch: int) -> np.ndarray:
        """The file rows theory ``t``'s ``epoch`` visits, in order (what :meth:`walk` reads)."""
        rows = []
        rng, buffers = chunk_plan(tuple(range(len(self.pieces[t]))), self.buffer_chunks,
                                  (self.seed, t), epoch)
        for buffer in buffers:
            here = np.concatenate([self._rows(self.pieces[t][i]) for i in buffer])
            rows.append(here[rng.permutation(len(here))])
        return np.concatenate(rows)

    def walk(self, t: int, done: int = 0) -> Iterator[np.ndarray]:
        """Theory ``t``'s standardised training rows, buffer after buffer and epoch after
        epoch, from its ``done``-th row on (the buffers before it are not read)."""
        epoch, skip = divmod(done, self.train_rows[t])
        while True:
            for size, read in self._buffers(t, epoch):
                if skip >= size:
                    skip -= size
                    continue
                yield read()[skip:]
                skip = 0
            epoch += 1

    def batches(self, sets: int, set_size: int, steps_done: int = 0
                ) -> Iterator[np.ndarray]:
        """(T × sets, N, 18) standardised sets of every step after ``steps_done``: the next
        ``sets × N`` rows of each theory's stream, theory after theory."""
        small = {t.name: n for t, n in zip(self.data.theories, self.train_rows, strict=True)
                 if n < set_size}
        if small:
            raise JetvizInputError(f"{self.path}: theories with fewer training events than a set "
                                   f"of {set_size}: {small}; use smaller sets")
        m = sets * set_size
        walks = [_Taker(self.walk(t, steps_done * m)) for t in range(len(self.train_rows))]
        while True:
            yield np.concatenate([w.take(m).reshape(sets, set_size, -1) for w in walks])


class _Taker:
    """The next ``m`` rows of a walk of row blocks, one block in memory at a time."""

    def __init__(self, walk: Iterator[np.ndarray]):
        self.walk, self.left = walk, np.empty((0, 0), np.float32)

    def take(self, m: int) -> np.ndarray:
        parts = []
        while m > 0:
            if len(self.left) == 0:
                self.left = next(self.walk)
            parts.append(self.left[:m])
            self.left, m = self.left[m:], m - len(parts[-1])
        return np.concatenate(parts)


def _within(keep: np.ndarray | None, start: int, n: int) -> np.ndarray | slice:
    """The positions in [start, start + n) of a sorted sample, relative to ``start`` (every
    position when ``keep`` is None)."""
    if keep is None:
        return slice(None)
    return keep[(keep >= start) & (keep < start + n)] - start

