"""`jetviz unfold train --stream`: the paired file read chunk by chunk with the in-memory
split. The standardisation equals the in-memory one; each epoch visits every training event
once and no validation or test event; the training rows held at once stay within the buffer;
the same seed gives the same weights and a resumed run the uninterrupted one's; on a file of
one chunk the streamed split, standardisation, validation and epoch score are the in-memory
ones; 2 gloo processes give the one-process run; bad input is a clear error."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from jetviz import checkpoints
from jetviz.cli import main
from jetviz.errors import JetvizInputError
from jetviz.unfolding.checkpoint import load_cinn
from jetviz.unfolding.data import read_pair_rows, write_pairs
from jetviz.unfolding.flow import CINNConfig, ConditionalINN
from jetviz.unfolding.representation import model_inputs
from jetviz.unfolding.stream import StreamedEvents
from jetviz.unfolding.summary import read_summary, summarise
from jetviz.unfolding.training import InMemoryEvents, TrainConfig, train_cinn
from tests.support_device import run_two_processes
from tests.support_unfolding import synthetic_pairs

torch.set_num_threads(1)

MODEL = CINNConfig(transforms=2, hidden=8, context=4, summary_hidden=8)
N, N_TEST = 400, 60  # 340 before the test set: 34 validate, 306 train


@pytest.fixture(scope="module")
def pairs(tmp_path_factory):
    path = tmp_path_factory.mktemp("stream") / "pairs.h5"
    events = synthetic_pairs(N, np.random.default_rng(3))
    write_pairs(path, events)
    return path, events


def _stream(path, chunk_rows=50, buffer_chunks=2, **kw):
    kw = {"n_test": N_TEST, "val_fraction": 0.1, "batch_size": 32, "seed": 5, **kw}
    return StreamedEvents(path, kw.pop("n_test"), kw.pop("val_fraction"), kw.pop("batch_size"),
                          kw.pop("seed"), chunk_rows=chunk_rows, buffer_chunks=buffer_chunks,
                          **kw)


def _model(data) -> ConditionalINN:
    torch.manual_seed(0)
    model = ConditionalINN(CINNConfig(**{**MODEL.__dict__, "condition": data.y_val.shape[1],
                                         "features": data.x_val.shape[1]}))
    data.standardise(model)
    return model.eval()


def test_standardisation_split_and_validation_equal_in_memory(pairs):
    path, events = pairs
    streamed = _stream(path)
    memory = InMemoryEvents(events, TrainConfig(n_test=N_TEST, batch_size=32, seed=5))
    assert (streamed.n_train, streamed.n_val) == (memory.n_train, memory.n_val) == (306, 34)
    np.testing.assert_array_equal(streamed.x_val, memory.x_val)
    np.testing.assert_array_equal(streamed.y_val, memory.y_val)
    a, b = _model(streamed), _model(memory)
    for name in ("x_loc", "x_scale", "y_loc", "y_scale"):
        torch.testing.assert_close(getattr(a, name), getattr(b, name), rtol=1e-5, atol=1e-6)


def test_each_epoch_reads_every_training_event_once_and_nothing_else(pairs):
    path, events = pairs
    streamed = _stream(path)
    x_all, y_all, _ = model_inputs(events)
    orders = []
    for epoch in (0, 1):
        rows = list(streamed.file_rows(epoch))
        assert len(rows) == streamed.n_batches(epoch)
        flat = np.concatenate(rows)
        np.testing.assert_array_equal(np.sort(flat), np.arange(streamed.n_train))  # no val/test
        orders.append(flat)
        batches = list(streamed.batches(epoch))
        x, y = (torch.cat([b[i] for b in batches]).numpy() for i in (0, 1))
        np.testing.assert_array_equal(x, x_all[flat])  # the batches hold those rows
        np.testing.assert_array_equal(y, y_all[flat])
    assert not np.array_equal(*orders)  # a new order each epoch
    assert 0 < streamed.peak_rows <= 2 * 50  # buffer_chunks × chunk_rows


def test_the_reference_sample_is_bounded_and_seeded(pairs):
    path, _ = pairs
    a, b = _stream(path, reference_rows=100), _stream(path, reference_rows=100)
    assert a.record["reference_rows"] == 100
    np.testing.assert_array_equal(a.score.reference.truth["m_ll"], b.score.reference.truth["m_ll"])
    assert len(_stream(path).score.reference.truth["m_ll"]) == 306  # all when they fit


def test_one_chunk_stream_scores_a_model_as_in_memory(pairs):
    path, events = pairs
    streamed = _stream(path, chunk_rows=1000, batch_size=64)
    memory = InMemoryEvents(events, TrainConfig(n_test=N_TEST, batch_size=64, seed=5))
    model = _model(memory)
    score_s, ratios_s = streamed.score(model)
    score_m, ratios_m = memory.score(model)
    assert score_s == pytest.approx(score_m, rel=1e-12) and ratios_s == pytest.approx(ratios_m)
    assert streamed.n_batches(0) == memory.n_batches(0) == 5


def test_same_seed_same_weights(pairs, tmp_path):
    path, _ = pairs
    config = TrainConfig(n_test=N_TEST, epochs=2, batch_size=32, lr=0.01, seed=5, select="nll")

    def run(out):
        record = train_cinn(_stream(path), out, config, MODEL, progress=False, device="cpu")
        assert record["stream"]["chunk_rows"] == 50
        return load_cinn(out / checkpoints.LAST)[0].state_dict()

    first, second = run(tmp_path / "a"), run(tmp_path / "b")
    assert all(torch.equal(first[k], second[k]) for k in first)


def test_resume_continues_as_uninterrupted(pairs, tmp_path):
    path, _ = pairs
    config = TrainConfig(n_test=N_TEST, epochs=2, batch_size=32, lr=0.01, seed=5, select="nll")
    train_cinn(_stream(path), tmp_path / "full", config, MODEL, progress=False, device="cpu")
    full = load_cinn(tmp_path / "full" / checkpoints.LAST)[0].state_dict()
    _interrupted_after_one_epoch(path, tmp_path / "part", config)
    train_cinn(_stream(path), tmp_path / "part", config, MODEL, resume=True, progress=False,
               device="cpu")
    resumed = load_cinn(tmp_path / "part" / checkpoints.LAST)[0].state_dict()
    assert all(torch.allclose(full[k], resumed[k], atol=1e-6) for k in full)
    with pytest.raises(JetvizInputError, match="same --stream/--chunk-rows"):
        train_cinn(_stream(path, chunk_rows=40), tmp_path / "part", config, MODEL, resume=True,
                   progress=False, device="cpu")


def _interrupted_after_one_epoch(path, out, config):
    """A 2-epoch run stopped after its first epoch (the stream raises on epoch 1)."""
    data = _stream(path)
    batches = data.batches

    def first_epoch_only(epoch):
        if epoch > 0:
            raise KeyboardInterrupt
        return batches(epoch)

    data.batches = first_epoch_only
    with pytest.raises(KeyboardInterrupt):
        train_cinn(data, out, config, MODEL, progress=False, device="cpu")


def test_bad_input_is_a_clear_error(pairs, tmp_path):
    path, _ = pairs
    with pytest.raises(JetvizInputError, match="need 0 < n_test < 400"):
        _stream(path, n_test=400)
    with pytest.raises(JetvizInputError, match="chunk_rows must be ≥ 1"):
        _stream(path, chunk_rows=0)
    with pytest.raises(JetvizInputError, match="at most 10 are read together"):
        read_pair_rows(path, 0, 11, 10)
    with pytest.raises(JetvizInputError, match="outside the file's 400 rows"):
        read_pair_rows(path, 390, 410, 100)
    other = tmp_path / "not.h5"
    other.write_bytes(b"not hdf5")
    with pytest.raises(JetvizInputError, match="not a readable HDF5 file"):
        _stream(other)


def test_cli_streams(pairs, tmp_path):
    path, events = pairs
    out = tmp_path / "cinn"
    assert main(["unfold", "train", "--data", str(path), "--out", str(out), "--n-test",
                 str(N_TEST), "--epochs", "1", "--batch-size", "64", "--transforms", "2",
                 "--hidden", "8", "--context", "4", "--no-progress", "--stream",
                 "--chunk-rows", "100", "--buffer-chunks", "2"]) == 0
    record = checkpoints.read_config(out, "cinn")["record"]
    assert record["stream"]["chunk_rows"] == 100 and "--stream" in record["commands"][0]
    assert (record["n_train"], record["n_val"]) == (306, 34)
    # the posterior summary reads only the test rows: the in-memory split's test events
    summary = tmp_path / "posterior.h5"
    assert main(["unfold", "posterior", "--data", str(path), "--model", str(out), "--events",
                 "20", "--samples", "10", "--keep", "2", "--seed", "3", "--out",
                 str(summary)]) == 0
    test = events.split(N_TEST)[1].subset(slice(0, 20))
    _, y, phi_ref = model_inputs(test)
    pit, _ = summarise(load_cinn(out)[0], y, phi_ref, test.parton, 10, 2, 3, progress=False)
    np.testing.assert_array_equal(read_summary(summary)[0], pit)


def _ddp_worker(rank: int, root: str) -> None:
    config = TrainConfig(n_test=N_TEST, epochs=1, batch_size=32, lr=0.01, seed=5, select="nll")
    train_cinn(_stream(Path(root) / "pairs.h5"), Path(root) / f"out{rank}", config, MODEL,
               progress=False, device="cpu")


def test_two_gloo_processes_stream_the_one_process_run(pairs, tmp_path):
    path, events = pairs
    write_pairs(tmp_path / "pairs.h5", events)
    run_two_processes(_ddp_worker, str(tmp_path))
    assert not (tmp_path / "out1").exists()  # rank 0 alone writes
    config = TrainConfig(n_test=N_TEST, epochs=1, batch_size=32, lr=0.01, seed=5, select="nll")
    train_cinn(_stream(path), tmp_path / "single", config, MODEL, progress=False, device="cpu")
    ddp, single = (load_cinn(tmp_path / d)[0].state_dict() for d in ("out0", "single"))
    for name, value in single.items():  # the same batches, each split 16/16 (up to rounding)
        torch.testing.assert_close(ddp[name], value, rtol=1e-3, atol=1e-3)
