"""A VAE's training jets read chunk by chunk, for the generator trainers (``jetviz gen prior
--stream``, ``jetviz gen mmd --stream``): a file larger than memory makes a generator.

Vocabulary
----------
A VAE trained with ``jetviz train --stream`` held out whole chunks of its file for validation
(:func:`jetviz.readers.stream.held_out_chunk_ids`, from its seed and validation fraction). Its
**training stream** (:func:`vae_training_stream`) is a :class:`~jetviz.readers.stream.JetStream`
over the other chunks, in the VAE's chunking: the jets the generator trainers fit to, the
same ones :func:`jetviz.generation.generators.vae_training_jets` selects from the file in
memory. At most the stream's buffer of the file is in memory at a time.

What a trainer needs of *every* training jet is kept bounded:

- :func:`chunks_in_order` walks the stream's chunks one at a time, in file order (one chunk
  in memory), for passes that only add things up (moments, minima, maxima);
- a :class:`Reservoir` keeps a seeded uniform sample of at most ``size`` rows of per-jet
  numbers: row r of chunk c draws the key u ~ U(0, 1) from the generator (seed, c) and the
  ``size`` smallest keys are kept (bottom-k sampling), so the sample depends on the seed and
  the file alone (not on the order chunks are read in), and it is every row, in file order,
  when the stream holds no more than ``size``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import numpy as np

from jetviz.errors import JetvizInputError
from jetviz.jets import JetSet
from jetviz.readers.stream import JetStream, held_out_chunk_ids


def vae_training_stream(stream: JetStream, vae_record: dict, classes: list[str] | None,
                        n_particles: int) -> JetStream:
    """The training chunks of the VAE of ``vae_record`` (trained with ``--stream`` on
    ``stream.path``), keeping the jets of ``classes`` (None: every jet), cut to the VAE's
    ``n_particles``; ``stream`` gives the file, the chunking and the buffer.

    Raises:
        JetvizInputError: a VAE trained on jets in memory (its validation jets are rows, not
            chunks), another chunking than the VAE's, or another file (another row count).
    """
    streamed = vae_record.get("streamed")
    if not streamed:
        raise JetvizInputError(
            "--stream walks the training chunks of a VAE trained with `jetviz train --stream`; "
            "this VAE was trained on jets in memory (it held out single jets, not chunks): "
            "leave out --stream")
    chunk_rows = int(streamed["chunk_rows"])
    if stream.chunk_rows != chunk_rows:
        raise JetvizInputError(f"the VAE was streamed in chunks of {chunk_rows} jets; pass "
                               f"--chunk-rows {chunk_rows} so its held-out chunks stay out")
    whole = replace(stream, chunks=None, classes=None, n_particles=n_particles)
    if whole.n_file_rows != vae_record.get("n_jets"):
        raise JetvizInputError(f"{stream.path} has {whole.n_file_rows} jets, the VAE was "
                               f"streamed from a file of {vae_record.get('n_jets')}: pass its file")
    tc = vae_record.get("train_config") or {}
    held = held_out_chunk_ids(whole.chunk_ids, float(tc.get("val_fraction", 0.1)),
                              int(tc.get("seed", 0)))
    kept = tuple(c for c in whole.chunk_ids if c not in held)
    every = classes is None or set(classes) == set(whole.class_names)
    return replace(whole, chunks=kept, classes=None if every else tuple(classes))


def chunks_in_order(stream: JetStream) -> Iterator[tuple[int, JetSet]]:
    """(chunk index, its kept jets) of every chunk of ``stream``, in file order, one chunk
    read at a time (chunks without a jet of the stream's classes are passed over)."""
    for chunk in sorted(stream.chunk_ids):
        jets = stream.read_chunks([chunk])
        if jets is not None:
            yield chunk, jets


class Reservoir:
    """A seeded uniform sample of at most ``size`` rows of per-jet values (module docstring).

    Attributes:
        size: the most rows kept.
        seed: seeds the keys (with the chunk index).
        seen: rows offered so far.
    """

    def __init__(self, size: int, seed: int) -> None:
        if size < 1:
            raise JetvizInputError(f"a reservoir keeps ≥ 1 row, got {size}")
        self.size, self.seed, self.seen = size, seed, 0
        self._keys = np.empty(0)
        self._where = np.empty((0, 2), np.int64)  # (chunk, row) of each kept row
        self._values: np.ndarray | None = None

    def add(self, chunk: int, values: np.ndarray) -> None:
        """Offer the rows ``values`` (n, ...) of chunk ``chunk`` (each chunk once)."""
        values = np.asarray(values)
        keys = np.random.default_rng([self.seed, chunk]).random(len(values))
        where = np.stack([np.full(len(values), chunk), np.arange(len(values))], 1)
        self.seen += len(values)
        if self._values is None:
            self._values = values[:0]
        self._keys = np.concatenate([self._keys, keys])
        self._where = np.concatenate([self._where, where])
        self._values = np.concatenate([self._values, values])
        if len(self._keys) > self.size:
            keep = np.argpartition(self._keys, self.size - 1)[:self.size]
            self._keys, self._where, self._values = (self._keys[keep], self._where[keep],
                                                     self._values[keep])

    @property
    def values(self) -> np.ndarray:
        """The kept rows, in file order (chunk, then row)."""
        if self._values is None:
            raise JetvizInputError("the reservoir was offered no row: the stream holds no jet")
        order = np.lexsort((self._where[:, 1], self._where[:, 0]))
        return self._values[order]
