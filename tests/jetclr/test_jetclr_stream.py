"""JetCLR on a jet file read chunk by chunk (``jetviz jetclr ablation --stream``): the rows in
memory stay within the buffer, a run of one epoch's steps trains on every row once, the same
seed gives the same weights, an interrupted streamed run resumes to the uninterrupted
weights, 2 gloo processes keep identical replicas (the supervised one equal to one process's),
and a tiny streamed ablation on real jets gives encoders whose held-out jets no
training saw."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file

import jetviz.jetclr.train as jetclr_train
from jetviz.cli import main as cli_main
from jetviz.jetclr.checkpoint import load_encoder
from jetviz.jetclr.model import EncoderConfig, represent
from jetviz.jetclr.train import TrainConfig, train_streamed
from jetviz.readers import store
from jetviz.readers.stream import JetStream
from tests.support_device import run_two_processes
from tests.support_stream import N_ROWS, ReadLog, jet_file

torch.set_num_threads(1)

TINY = EncoderConfig(width=16, layers=1, heads=2, rep_dim=12, proj_dim=8)


class Interrupted(Exception):
    """Stands for a kill between two steps."""


def _stream(tmp_path) -> JetStream:
    return JetStream(str(jet_file(tmp_path / "jets.h5")), batch_size=1, chunk_rows=8,
                     buffer_chunks=2)


@pytest.mark.parametrize("augmentations", ["all", "supervised"])
def test_one_epoch_of_steps_trains_on_every_row_once_within_the_buffer(
        tmp_path, monkeypatch, augmentations):
    stream = _stream(tmp_path)
    steps = dataclasses.replace(stream, batch_size=16).n_batches(0)  # one epoch
    log = ReadLog(monkeypatch)
    trained: list[int] = []
    take = jetclr_train._StreamBatches.next

    def watched(self):
        batch = take(self)
        trained.extend((batch.jet_pt - 1000).astype(int).tolist())
        assert log.rows - len(trained) <= stream.buffer_rows  # read, not yet trained on
        return batch

    monkeypatch.setattr(jetclr_train._StreamBatches, "next", watched)
    config = TrainConfig(augmentations=augmentations, steps=steps, batch_size=16, encoder=TINY)
    model, record = train_streamed(stream, config, device="cpu")
    assert sorted(trained) == list(range(N_ROWS))
    assert max(log.calls) <= stream.chunk_rows and log.rows == N_ROWS  # each chunk once
    assert record["n_train_jets"] == N_ROWS and np.isfinite(record["loss_end"])
    assert all(torch.isfinite(p).all() for p in model.parameters())


def test_a_streamed_run_is_seeded_and_resumes_exactly(tmp_path, monkeypatch):
    stream = _stream(tmp_path)
    config = TrainConfig(augmentations="all", steps=11, batch_size=16, encoder=TINY)

    def run(out, **kwargs):
        return train_streamed(stream, config, device="cpu", out=tmp_path / out, save_every=3,
                              **kwargs)

    full, full_record = run("full")
    again, _ = run("again")
    monkeypatch.setattr(jetclr_train, "LOG_EVERY", 1)

    def kill(step: int, loss: float) -> None:
        if step == 9:  # in the 2nd epoch (7 batches each); the last state saved is after step 9
            raise Interrupted

    with pytest.raises(Interrupted):
        run("cut", progress=kill)
    steps: list[int] = []
    resumed, record = run("cut", resume=True, progress=lambda step, loss: steps.append(step))
    assert steps == [9, 10]
    for name, value in full.state_dict().items():
        torch.testing.assert_close(again.state_dict()[name], value, rtol=0, atol=0)
        torch.testing.assert_close(resumed.state_dict()[name], value, rtol=0, atol=0)
    assert record["loss_curve"] == full_record["loss_curve"]


def test_a_streamed_ablation_on_real_jets_scores_jets_no_training_saw(tmp_path, capsys):
    from jetviz.paths import DEFAULT_JETS
    from jetviz.readers import load_jets
    from jetviz.readers.store import write_jets

    jets = load_jets(str(DEFAULT_JETS))
    pick = np.random.default_rng(0).choice(len(jets), 600, replace=False)  # classes mixed
    path = tmp_path / "jets.h5"
    write_jets(path, jets.subset(pick))
    out = tmp_path / "ablation"
    common = ["jetclr", "ablation", "--jets", str(path), "--out", str(out), "--stream",
              "--chunk-rows", "30", "--buffer-chunks", "2", "--batch-size", "32",
              "--width", "16", "--layers", "1", "--rep-dim", "12"]
    assert cli_main([*common, "--steps", "6", "--supervised-steps", "6",
                     "--only", "all", "supervised"]) == 0
    table = json.loads((out / "ablation.json").read_text())
    for row in (table["runs"]["all"], table["supervised"]):
        assert 0.0 <= row["auc"] <= 1.0
    model, _, probe, info = load_encoder(out / "all")
    streamed = info["split"]["streamed"]
    assert len(streamed["held_out_chunks"]) == 4  # 20% of 20 chunks, held out whole
    trained_on = info["record"]["n_train_jets"]
    held = JetStream(str(path), 1, chunk_rows=30, classes=("t", "g", "q"),
                     chunks=tuple(streamed["held_out_chunks"]))
    every = JetStream(str(path), 1, chunk_rows=30, classes=("t", "g", "q"))
    assert trained_on + len(held) == len(every)  # trained + held out = the file's t, g, q
    x = jets.subset(pick[:20])
    assert np.isfinite(probe.scores(represent(model, x.particles, x.mask))).all()
    assert not (out / "all" / "last").exists()  # a finished entry drops its resume state
    assert cli_main([*common, "--max-per-class", "10"]) == 2
    assert "--max-per-class" in capsys.readouterr().err


def _ddp_worker(rank: int, out: str) -> None:
    stream = JetStream(str(Path(out) / "jets.h5"), batch_size=1, chunk_rows=8,
                       buffer_chunks=2)
    for augmentations in ("supervised", "all"):
        config = TrainConfig(augmentations=augmentations, steps=5, batch_size=16,
                             encoder=TINY)
        model, _ = train_streamed(stream, config, device="cpu")
        save_file({k: v.contiguous() for k, v in model.state_dict().items()},
                  str(Path(out) / f"{augmentations}{rank}.safetensors"))


def test_two_processes_stream_their_shares_and_keep_identical_replicas(tmp_path):
    path = jet_file(tmp_path / "jets.h5", n=96)  # 12 chunks of 8: every batch holds 16 jets
    run_two_processes(_ddp_worker, str(tmp_path))
    for augmentations in ("supervised", "all"):
        a = load_file(str(tmp_path / f"{augmentations}0.safetensors"))
        b = load_file(str(tmp_path / f"{augmentations}1.safetensors"))
        config = TrainConfig(augmentations=augmentations, steps=5, batch_size=16, encoder=TINY)
        single, _ = train_streamed(JetStream(str(path), 1, chunk_rows=8, buffer_chunks=2),
                                   config, device="cpu")
        for name, value in single.state_dict().items():
            torch.testing.assert_close(a[name], b[name], rtol=0, atol=0)
            if augmentations == "supervised":  # BCE is a mean over jets: the same run
                torch.testing.assert_close(a[name], value, rtol=1e-4, atol=1e-5)


def test_a_streamed_state_and_an_in_memory_state_do_not_resume_each_other(tmp_path):
    from jetviz.errors import JetvizInputError
    from jetviz.jetclr.train import train

    stream = _stream(tmp_path)
    config = TrainConfig(augmentations="all", steps=2, batch_size=16, encoder=TINY)
    train_streamed(stream, config, device="cpu", out=tmp_path / "streamed")
    jets = store.read_jets(stream.path)
    with pytest.raises(JetvizInputError, match="with --stream"):
        train(jets.particles, jets.mask, config, jet_pt=jets.jets[:, 0], device="cpu",
              out=tmp_path / "streamed", resume=True)
    train(jets.particles, jets.mask, config, jet_pt=jets.jets[:, 0], device="cpu",
          out=tmp_path / "memory")
    with pytest.raises(JetvizInputError, match="without --stream"):
        train_streamed(stream, config, device="cpu", out=tmp_path / "memory", resume=True)
