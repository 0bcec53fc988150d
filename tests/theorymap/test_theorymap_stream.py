"""``jetviz theorymap train --stream``: the event file read chunk by chunk, one stream per
theory (jetviz/theorymap/stream.py), on a tiny synthetic event file sorted by theory."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
import torch

import jetviz.theorymap.train as theorymap_train
from jetviz.cli import main as cli_main
from jetviz.errors import JetvizInputError
from jetviz.events import EventSet
from jetviz.readers.store import read_events, write_events
from jetviz.theorymap.features import Scaler
from jetviz.theorymap.model import EncoderConfig
from jetviz.theorymap.sets import prepare_data
from jetviz.theorymap.stream import StreamedTheories
from jetviz.theorymap.train import TrainConfig, run_training, train_encoder
from tests.support_resume import Killed, kill_after_saves
from tests.support_theorymap import cheap_reduce, make_events

SMALL = {"chunk_rows": 32, "buffer_chunks": 2, "sample_rows": 50, "test_rows": 20}


@pytest.fixture(scope="module")
def event_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("events") / "events.h5"
    write_events(path, make_events(150, seed=1))  # 4 theories × 150, sorted by theory
    return path


def _rows_of(features: np.ndarray, events: np.ndarray) -> np.ndarray:
    """The file rows of ``events`` (each row of the synthetic file is unique)."""
    lookup = {row.tobytes(): i for i, row in enumerate(features.astype(np.float64))}
    return np.array([lookup[row.tobytes()] for row in events])


def test_a_file_whose_theories_fit_one_chunk_gives_the_in_memory_split_and_scaler(event_file):
    stream = StreamedTheories(event_file, seed=3, chunk_rows=200)
    memory = prepare_data(read_events(event_file), seed=3)
    assert [t.name for t in stream.data.theories] == [t.name for t in memory.theories]
    for field in ("train_raw", "test_raw", "train_index"):
        for a, b in zip(getattr(stream.data, field), getattr(memory, field), strict=True):
            np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(stream.data.scaler.mean, memory.scaler.mean, rtol=1e-12)
    np.testing.assert_allclose(stream.data.scaler.std, memory.scaler.std, rtol=1e-12)


def test_streamed_scaler_split_epochs_and_memory(event_file):
    stream = StreamedTheories(event_file, seed=5, **SMALL)
    features = read_events(event_file).features
    n_real = len(stream.train_rows) - 1
    train_rows = [stream.file_rows(t, 0) for t in range(n_real)]
    # the scaler: the in-memory fit on exactly the training rows
    fit = Scaler.fit(features[np.concatenate(train_rows)].astype(np.float64))
    np.testing.assert_allclose(stream.data.scaler.mean, fit.mean, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(stream.data.scaler.std, fit.std, rtol=1e-10)
    for t in range(n_real):
        theory_rows = np.arange(150 * t, 150 * (t + 1))
        for epoch in (0, 1):  # every training row once per epoch, in another order
            rows = stream.file_rows(t, epoch)
            assert len(rows) == stream.train_rows[t] == len(np.unique(rows))
            assert set(rows) == set(train_rows[t]) and set(rows) <= set(theory_rows)
        assert not np.array_equal(stream.file_rows(t, 0), stream.file_rows(t, 1))
        held = _rows_of(features, stream.data.test_raw[t])  # none of them trains
        assert set(held) <= set(theory_rows) and not set(held) & set(train_rows[t])
        assert 0 < len(held) <= SMALL["test_rows"]
        # the walk reads what file_rows names, across the epoch boundary
        walked = np.concatenate([b for b, _ in zip(stream.walk(t), range(20), strict=False)])
        want = np.concatenate([stream.file_rows(t, 0), stream.file_rows(t, 1)])
        np.testing.assert_array_equal(walked[:len(want)],
                                      stream.data.scaler.transform(features[want]))
        assert len(stream.data.train_raw[t]) <= SMALL["sample_rows"]
    assert stream.peak_rows <= SMALL["buffer_chunks"] * SMALL["chunk_rows"]
    # a batch after k steps is the (k + 1)-th batch of a fresh walk: resume is exact
    walk = stream.batches(sets=3, set_size=4)
    first = [next(walk) for _ in range(30)]
    assert first[0].shape == (3 * len(stream.train_rows), 4, 18)
    np.testing.assert_array_equal(next(stream.batches(3, 4, steps_done=29)), first[29])


def test_the_same_seed_trains_the_same_weights(event_file, tmp_path):
    config = TrainConfig(steps=6, sets_per_theory=3, seed=2)
    encoder = EncoderConfig(set_size=4, hidden=16)
    states = []
    for _ in range(2):
        stream = StreamedTheories(event_file, seed=2, **SMALL)
        model, _ = train_encoder(stream.data, encoder, config, device="cpu", stream=stream)
        states.append(model.state_dict())
    for name in states[0]:
        torch.testing.assert_close(states[0][name], states[1][name], rtol=0, atol=0)


def test_an_interrupted_streamed_encoder_resumes_to_the_uninterrupted_weights(
        event_file, tmp_path, monkeypatch):
    stream = StreamedTheories(event_file, seed=1, **SMALL)
    config = TrainConfig(steps=7, sets_per_theory=3, seed=1)
    encoder = EncoderConfig(set_size=4, hidden=16)

    def run(out, **kwargs):
        return train_encoder(stream.data, encoder, config, device="cpu", out=tmp_path / out,
                             save_every=2, stream=stream, **kwargs)

    full, full_record = run("full")
    with monkeypatch.context() as m:
        kill_after_saves(m, theorymap_train, 2)  # killed after step 4
        with pytest.raises(Killed):
            run("cut")
    resumed, record = run("cut", resume=True)
    for name, value in full.state_dict().items():
        torch.testing.assert_close(resumed.state_dict()[name], value, rtol=0, atol=0)
    assert record["loss_history"] == full_record["loss_history"]


def test_a_streamed_run_trains_evaluates_maps_and_records_its_stream(event_file, tmp_path):
    stream = StreamedTheories(event_file, seed=0, **SMALL)
    summary = run_training(stream, tmp_path, (1, 4), methods=("contrastive",),
                           encoder=EncoderConfig(hidden=16),
                           train=TrainConfig(steps=4, sets_per_theory=3),
                           progress=False, reduce=cheap_reduce, device="cpu")
    assert summary["stream"] == stream.record and summary["train_events"] == stream.train_rows
    assert 0 <= summary["table"]["contrastive"]["4"]["accuracy"] <= 1
    with pytest.raises(JetvizInputError, match="other settings"):  # resume: same stream only
        run_training(StreamedTheories(event_file, seed=0, **{**SMALL, "buffer_chunks": 1}),
                     tmp_path, (4,), methods=("contrastive",), encoder=EncoderConfig(hidden=16),
                     train=TrainConfig(steps=4, sets_per_theory=3), progress=False,
                     reduce=cheap_reduce, device="cpu", resume=True)
    with pytest.raises(JetvizInputError, match="seed"):
        run_training(stream, tmp_path, (1,), train=TrainConfig(seed=1), progress=False)


def test_bad_input_gets_a_clear_error(event_file, tmp_path, capsys):
    events = read_events(event_file)
    shuffled = tmp_path / "shuffled.h5"
    order = np.random.default_rng(0).permutation(len(events.features))
    write_events(shuffled, dataclasses.replace(events, features=events.features[order],
                                               theory=events.theory[order]))
    with pytest.raises(JetvizInputError, match="sorted by theory"):
        StreamedTheories(shuffled, chunk_rows=64)
    single = tmp_path / "single.h5"
    write_events(single, EventSet(events.features[:150], events.theory[:150], events.theories))
    with pytest.raises(JetvizInputError, match="at least two theories"):
        StreamedTheories(single, chunk_rows=64)
    with pytest.raises(JetvizInputError, match="chunk_rows must be"):
        StreamedTheories(event_file, chunk_rows=0)
    with pytest.raises(JetvizInputError, match="fewer training events than a set"):
        next(StreamedTheories(event_file, seed=0, **SMALL).batches(sets=2, set_size=200))
    with pytest.raises(JetvizInputError, match="test fraction"):
        StreamedTheories(event_file, test_fraction=1.0)
    assert cli_main(["theorymap", "train", "--events", str(shuffled), "--stream",
                     "--out", str(tmp_path / "out"), "--device", "cpu"]) == 2
    assert "sorted by theory" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
    bad = tmp_path / "jets.h5"
    bad.write_text(json.dumps({"not": "hdf5"}))
    with pytest.raises(JetvizInputError):
        StreamedTheories(bad)


def _worker(rank: int, path: str, root: str) -> None:
    from safetensors.torch import save_file

    torch.set_num_threads(1)
    stream = StreamedTheories(path, seed=0, **SMALL)
    model, record = train_encoder(stream.data, EncoderConfig(set_size=4, hidden=16),
                                  TrainConfig(steps=4, sets_per_theory=4), device="cpu",
                                  stream=stream)
    assert record["world_size"] == 2
    save_file({k: v.contiguous() for k, v in model.state_dict().items()},
              f"{root}/rank{rank}.safetensors")


def test_two_gloo_processes_train_identical_streamed_encoders(event_file, tmp_path):
    from safetensors.torch import load_file

    from tests.support_device import run_two_processes

    run_two_processes(_worker, str(event_file), str(tmp_path))
    a, b = (load_file(str(tmp_path / f"rank{r}.safetensors")) for r in (0, 1))
    for name in a:
        torch.testing.assert_close(a[name], b[name], rtol=0, atol=0)
