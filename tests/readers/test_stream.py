"""The chunked reader: a file with more rows than the buffer is read a chunk at a time, every
row comes once per epoch, the batches are a function of the seed and the epoch, held-out
chunks and process shares are disjoint and cover the rows, other formats are refused."""

from __future__ import annotations

import numpy as np
import pytest

from jetviz.device import shard
from jetviz.errors import JetvizInputError
from jetviz.readers import store
from jetviz.readers.stream import JetStream, StreamCursor
from tests.support_stream import N_ROWS, ReadLog, jet_file, rows_of


def test_an_epoch_reads_a_buffer_at_a_time_and_sees_every_row_once(tmp_path, monkeypatch):
    stream = JetStream(str(jet_file(tmp_path / "jets.h5")), batch_size=5, seed=1,
                       chunk_rows=8, buffer_chunks=2)
    assert stream.buffer_rows == 16 < N_ROWS
    log = ReadLog(monkeypatch)
    seen: list[int] = []
    n_batches = 0
    for batch in stream.batches(epoch=0):
        seen += rows_of(batch)
        n_batches += 1
        assert log.rows - len(seen) <= stream.buffer_rows  # rows read, not yet handed out
        assert len(batch) <= 5
    assert sorted(seen) == list(range(N_ROWS))  # every row exactly once
    assert seen != sorted(seen)  # shuffled
    assert max(log.calls) <= 8 and log.rows == N_ROWS  # chunk reads only, each chunk once
    assert n_batches == stream.n_batches(0)


def test_the_batches_are_a_function_of_the_seed_and_the_epoch(tmp_path):
    path = str(jet_file(tmp_path / "jets.h5"))

    def batches(seed: int, epoch: int) -> list[list[int]]:
        stream = JetStream(path, batch_size=6, seed=seed, chunk_rows=8, buffer_chunks=3)
        return [rows_of(b) for b in stream.batches(epoch)]

    assert batches(7, 2) == batches(7, 2)
    assert batches(7, 2) != batches(7, 3)
    assert batches(7, 2) != batches(8, 2)


def test_held_out_chunks_and_process_shares_are_disjoint_and_cover(tmp_path):
    stream = JetStream(str(jet_file(tmp_path / "jets.h5")), batch_size=6, seed=2,
                       chunk_rows=8, buffer_chunks=2)
    train, val = stream.holdout(0.2)
    val_rows = rows_of(val)
    assert len(train.chunk_ids) == 13 - 3 and len(val_rows) in (23, 24)
    trained = [r for b in train.batches(0) for r in rows_of(b)]
    assert len(train) == len(trained)
    assert sorted(trained + val_rows) == list(range(N_ROWS))
    shares: list[list[int]] = [[], []]
    for batch in train.batches(0):  # what each of 2 DDP processes keeps
        for rank in (0, 1):
            shares[rank] += rows_of(batch.subset(shard(np.arange(len(batch)), rank, 2)))
    assert not set(shares[0]) & set(shares[1])
    assert sorted(shares[0] + shares[1]) == sorted(trained)
    capped = stream.holdout(0.2, max_rows=10)[1]
    assert len(capped) == 10


def test_bad_streams_are_clear_errors(tmp_path):
    path = str(jet_file(tmp_path / "jets.h5", n=20))
    with pytest.raises(JetvizInputError, match="one chunk"):
        JetStream(path, batch_size=4, chunk_rows=32).holdout(0.1)
    with pytest.raises(JetvizInputError, match="batch_size must be"):
        JetStream(path, batch_size=0)
    with pytest.raises(JetvizInputError, match="outside the file's 20 rows"):
        store.read_jets(path, max_rows=8, start=20)
    assert rows_of(store.read_jets(path, max_rows=8, start=16)) == [16, 17, 18, 19]
    points = tmp_path / "points.npy"
    np.save(points, np.zeros((10, 2)))
    with pytest.raises(JetvizInputError, match="not an HDF5 file"):
        len(JetStream(str(points), batch_size=4))


def test_a_resumed_position_gives_the_rest_of_the_epoch_and_skips_unread_buffers(
        tmp_path, monkeypatch):
    stream = JetStream(str(jet_file(tmp_path / "jets.h5")), batch_size=5, seed=3,
                       chunk_rows=8, buffer_chunks=2)
    whole = [rows_of(b) for b in stream.batches(1)]
    log = ReadLog(monkeypatch)
    rest = [rows_of(b) for b in stream.batches(1, skip=7)]  # the first buffers hold 4 + 4
    assert rest == whole[7:]
    assert log.rows <= N_ROWS - 16  # the first buffer (16 rows, 4 batches) was not read
    cursor = StreamCursor(stream, (1, len(whole) - 1))  # before the epoch's last batch
    assert rows_of(cursor.next()) == whole[-1] and cursor.position == (1, len(whole))
    assert rows_of(cursor.next()) == rows_of(next(stream.batches(2)))  # epoch 2 begins
    assert cursor.position == (2, 1)
    cursor.seek((1, 7))
    assert rows_of(cursor.next()) == whole[7]


def test_a_class_filter_keeps_those_classes_every_row_once(tmp_path):
    path = str(jet_file(tmp_path / "jets.h5"))
    every = store.read_jets(path)
    stream = JetStream(path, batch_size=4, seed=0, chunk_rows=8, buffer_chunks=2,
                       classes=(every.class_names[0],))
    wanted = np.flatnonzero(every.labels == 0).tolist()
    seen = [r for b in stream.batches(0) for r in rows_of(b)]
    assert sorted(seen) == wanted and len(stream) == len(wanted)
    assert stream.n_batches(0) == sum(1 for _ in stream.batches(0))
    with pytest.raises(JetvizInputError, match="no class"):
        len(JetStream(path, batch_size=4, classes=("nope",)))


def test_a_jetclass_root_file_streams_by_entry_ranges(tmp_path, monkeypatch):
    pytest.importorskip("uproot")
    from jetviz.readers import jetclass
    from tests.readers.test_jetclass import _jets, _write

    particles, labels = _jets(45, seed=5)
    path = str(_write(tmp_path / "TTBar_000.root", particles, labels))
    whole = jetclass.read_jetclass(path).jets
    read = jetclass.read_jetclass
    ranges: list[tuple[int, int]] = []

    def logged(*args, **kwargs):
        ranges.append((kwargs["start"], kwargs["max_jets"]))
        return read(*args, **kwargs)

    monkeypatch.setattr(jetclass, "read_jetclass", logged)
    stream = JetStream(path, batch_size=6, seed=1, chunk_rows=8, buffer_chunks=2)
    assert len(stream) == 45 and stream.class_names == jetclass.JETCLASS_CLASSES
    pts = [pt for b in stream.batches(0) for pt in b.jets[:, 0].tolist()]
    assert sorted(pts) == sorted(whole.jets[:, 0].tolist())  # every entry once
    assert sorted(ranges) == [(8 * c, 8) for c in range(6)]  # one range read per chunk
    kept = JetStream(path, batch_size=6, chunk_rows=8, classes=("QCD", "Tbqq"))
    assert len(kept) == int(np.isin(labels, [0, 8]).sum())
    assert {int(x) for b in kept.batches(0) for x in b.labels} <= {0, 8}
