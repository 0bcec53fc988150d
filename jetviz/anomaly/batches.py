"""Where an anomaly model's training images come from: jets held in memory, or a jet file read
chunk by chunk (``jetviz anomaly train --stream``).

Vocabulary (see :mod:`jetviz.anomaly`): an image batch is (B, 1, n, n) float32, made from jets
by :func:`jetviz.anomaly.data.model_images` with the model's size, flip and smoothing.

**In memory** (:func:`memory_data`): the first ``n_train`` background jets of each class (file
order) may be trained on; ``n_val`` of them, shuffled by the run's seed, are the validation
images; the jets from ``n_train`` on of every class are scored: the next ``n_select`` per
class choose the NAE step, the rest are the test jets. An AE epoch is a seeded permutation of
the training images in full batches; an NAE step draws its batch with replacement.

**Streamed** (:func:`streamed_data`): a seeded ``HELD_OUT_CHUNKS`` of the file's chunks is held
out whole (its jets of every class in memory, at most ``VAL_ROWS_MAX``) and plays the part of
the scored file: per class its first ``n_val`` jets (of the background classes) are the
validation images, the next ``n_select`` the selection jets, the rest the test jets. The
model trains on every background jet of the other chunks, made into images batch by batch:
an AE epoch is the stream's epoch (each jet once, the last batch of a buffer possibly short);
the NAE steps walk the stream epoch after epoch from a position kept in the run's record, so
a resumed run draws what an uninterrupted one drew. No more than the stream's buffer of the
file is in memory.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch

from jetviz.anomaly.data import background_classes, held_out_indices, model_images, split_jets
from jetviz.errors import JetvizInputError
from jetviz.jets import JetSet
from jetviz.readers.stream import VAL_ROWS_MAX, JetStream, StreamCursor

HELD_OUT_CHUNKS = 0.2  # streamed: the fraction of the file's chunks held out whole
POSITION = "stream_position"  # streamed: the record's (epoch, next batch) of the NAE steps


class MemoryImages:
    """Training images held in memory; batches drawn with the run's generator."""

    def __init__(self, images: torch.Tensor) -> None:
        self.images = images

    def __len__(self) -> int:
        return len(self.images)

    def epoch(self, epoch: int, batch_size: int, gen: torch.Generator) -> Iterator[torch.Tensor]:
        """The full batches of a seeded permutation (a short tail is left out)."""
        perm = torch.randperm(len(self.images), generator=gen)
        for i in range(0, len(self.images) - batch_size + 1, batch_size):
            yield self.images[perm[i:i + batch_size]]

    def draw(self, batch_size: int, gen: torch.Generator, record: dict) -> torch.Tensor:
        """An NAE step's batch: ``batch_size`` images drawn with replacement."""
        return self.images[torch.randint(len(self.images), (batch_size,), generator=gen)]


class StreamImages:
    """Training images of a stream's jets, made batch by batch (the stream's seed and batch
    size are the run's)."""

    def __init__(self, stream: JetStream, model_config) -> None:
        self.stream, self.model_config = stream, model_config
        self.cursor: StreamCursor | None = None

    def __len__(self) -> int:
        return len(self.stream)

    def images(self, jets: JetSet) -> torch.Tensor:
        return torch.from_numpy(model_images(jets.particles, jets.mask, self.model_config,
                                             jets.radius))

    def epoch(self, epoch: int, batch_size: int, gen: torch.Generator) -> Iterator[torch.Tensor]:
        """Every training jet once, in the stream's seeded batches of ``epoch``."""
        for jets in self.stream.batches(epoch):
            yield self.images(jets)

    def draw(self, batch_size: int, gen: torch.Generator, record: dict) -> torch.Tensor:
        """An NAE step's batch: the stream's next batch from ``record[POSITION]`` (updated)."""
        if self.cursor is None:
            self.cursor = StreamCursor(self.stream, record.get(POSITION, (0, 0)))
        jets = self.cursor.next()
        record[POSITION] = list(self.cursor.position)
        return self.images(jets)


@dataclass
class TrainingData:
    """What a run trains, validates and scores on.

    Attributes:
        fit: the training images (:class:`MemoryImages` or :class:`StreamImages`).
        val: (n_val, 1, n, n) validation images.
        scored: the jets scored: the file in memory, or the held-out chunks when streamed.
        select_start: where the selection jets of each class begin in ``scored`` (the test
            jets follow ``n_select`` later).
        record: the record's description of the data.
    """

    fit: MemoryImages | StreamImages
    val: torch.Tensor
    scored: JetSet
    select_start: int
    record: dict


def memory_data(jets: JetSet, cfg, model_config, gen: torch.Generator) -> TrainingData:
    """The training data of jets held in memory (see the module docstring)."""
    split = split_jets(jets, cfg.background, cfg.n_train)
    order = split.train[torch.randperm(len(split.train), generator=gen).numpy()]
    if cfg.n_val >= len(order) // 2:
        raise JetvizInputError(f"n_val = {cfg.n_val} leaves too few training jets "
                               f"({len(order)} in all)")
    images = torch.from_numpy(model_images(jets.particles[order], jets.mask[order],
                                           model_config, jets.radius))
    record = {"source": str(jets.source), "file_name": Path(str(jets.source)).name,
              "n_jets": len(jets), "n_train_per_class": cfg.n_train,
              "n_fit": len(order) - cfg.n_val, "n_val": cfg.n_val,
              "classes": list(background_classes(cfg.background))}
    return TrainingData(MemoryImages(images[cfg.n_val:]), images[:cfg.n_val], jets,
                        cfg.n_train, record)


def streamed_data(stream: JetStream, cfg, model_config) -> TrainingData:
    """The training data of a jet file read chunk by chunk (see the module docstring)."""
    classes = background_classes(cfg.background)
    stream = replace(stream, batch_size=cfg.batch_size, seed=cfg.seed, chunks=None,
                     classes=None)
    train_stream, held = stream.holdout(HELD_OUT_CHUNKS)
    train_stream = replace(train_stream, classes=classes)
    val_idx = held_out_indices(held, 0, cfg.n_val)
    val_idx = val_idx[np.isin(held.labels[val_idx],
                              [held.class_names.index(c) for c in classes])]
    if len(val_idx) == 0:
        raise JetvizInputError(f"{stream.path}: the held-out chunks hold no {classes} jets to "
                               "validate on; shuffle the file's rows or use more jets")
    val = torch.from_numpy(model_images(held.particles[val_idx], held.mask[val_idx],
                                        model_config, held.radius))
    record = {"source": stream.path, "file_name": Path(stream.path).name,
              "n_jets": stream.n_file_rows, "n_fit": len(train_stream), "n_val": len(val),
              "classes": list(classes),
              "streamed": {**stream.holdout_record(train_stream, HELD_OUT_CHUNKS),
                           "n_held_out": len(held)}}
    return TrainingData(StreamImages(train_stream, model_config), val, held, cfg.n_val, record)


def streamed_test_start(train_config: dict) -> int:
    """Where the test jets of each class begin in a streamed run's held-out jets."""
    return int(train_config["n_val"]) + int(train_config.get("n_select", 0))


def held_out_rows(n_rows: int, streamed: dict) -> np.ndarray:
    """The file rows of a streamed run's held-out jets (its ``record["data"]["streamed"]``),
    in the order :meth:`JetStream.holdout` read them."""
    c = int(streamed["chunk_rows"])
    rows = [np.arange(k * c, min((k + 1) * c, n_rows)) for k in streamed["held_out_chunks"]]
    return np.concatenate(rows)[:VAL_ROWS_MAX]


def streamed_scored(path: str | Path, train_config: dict, streamed: dict) -> tuple[JetSet, int]:
    """(the held-out jets of a streamed run, read again from ``path``; where its test jets
    of each class begin): what ``jetviz anomaly score`` scores a streamed model on.

    Raises:
        JetvizInputError: ``path`` does not hold out the chunks the run held out.
    """
    stream = JetStream(str(path), 1, seed=int(train_config["seed"]),
                       chunk_rows=int(streamed["chunk_rows"]),
                       buffer_chunks=int(streamed["buffer_chunks"]))
    train_stream, held = stream.holdout(float(streamed["held_out_fraction"]))
    if sorted(set(stream.chunk_ids) - set(train_stream.chunk_ids)) != streamed["held_out_chunks"]:
        raise JetvizInputError(f"{path}: not the file this model was streamed from (its "
                               "held-out chunks differ); score it on that file")
    return held, streamed_test_start(train_config)
