"""β-VAE training on a file read chunk by chunk (``jetviz train --stream``): an epoch never
holds more of the file than the buffer, trains on every training row exactly once, the same
seed gives the same weights, a resumed streamed run ends as an uninterrupted one, 2 gloo
processes keep identical replicas, the CLI refuses flags that would need the whole file
and streams a JetClass ROOT file too."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file

import jetviz.vae.train as vae_train
from jetviz.cli import main as cli_main
from jetviz.readers.stream import JetStream
from jetviz.vae.model import VAEConfig
from jetviz.vae.train import TrainConfig, train
from tests.support_device import run_two_processes
from tests.support_stream import N_ROWS, ReadLog, jet_file, rows_of

torch.set_num_threads(1)

CONFIG = VAEConfig(n_particles_in=12, n_particles_out=8, latent_dim=3, hidden=16, cond_dim=8,
                   beta_min=5.0, beta_max=500.0, loss="chamfer")
TRAIN = TrainConfig(epochs=2, batch_size=8, kl_warmup_epochs=1, scan_points=0, seed=3,
                    val_fraction=0.2)


def _stream(tmp_path) -> JetStream:
    path = tmp_path / "jets.h5"
    if not path.exists():
        jet_file(path)
    return JetStream(str(path), batch_size=1, chunk_rows=8, buffer_chunks=2)


def test_a_streamed_epoch_trains_on_every_row_once_within_the_buffer(tmp_path, monkeypatch):
    stream = _stream(tmp_path)
    log = ReadLog(monkeypatch)
    trained: list[int] = []
    batches = vae_train.stream_batches

    def watched(*args):
        for batch in batches(*args):
            trained.extend((batch.jet_pt - 1000).round().int().tolist())
            assert log.rows - len(trained) - record_val[0] <= stream.buffer_rows
            yield batch

    record_val = [0]
    original = vae_train.streamed_inputs

    def split(*args):  # the held-out chunks are read (and kept) before training starts
        train_stream, val = original(*args)
        record_val[0] = len(val)
        return train_stream, val

    monkeypatch.setattr(vae_train, "stream_batches", watched)
    monkeypatch.setattr(vae_train, "streamed_inputs", split)
    one_epoch = TrainConfig(**{**TRAIN.to_dict(), "epochs": 1})
    _, record = train(CONFIG, stream, one_epoch, out_dir=tmp_path / "vae", device="cpu")
    assert record["n_train"] + record["n_val"] == N_ROWS
    assert len(trained) == len(set(trained)) == record["n_train"]  # each row once
    assert max(log.calls) <= stream.chunk_rows
    held_out = dataclasses.replace(stream, seed=TRAIN.seed).holdout(TRAIN.val_fraction)[1]
    assert not set(trained) & set(rows_of(held_out))


def test_streamed_runs_are_seeded_and_resume_exactly(tmp_path):
    stream = _stream(tmp_path)
    train(CONFIG, stream, TRAIN, out_dir=tmp_path / "full", device="cpu")
    train(CONFIG, stream, TRAIN, out_dir=tmp_path / "again", device="cpu")
    _, part = train(CONFIG, stream, TRAIN, out_dir=tmp_path / "cut", device="cpu",
                    callback=lambda epoch, record: False)  # stopped after epoch 1
    assert part["stopped"] == "callback"
    train(CONFIG, stream, TRAIN, out_dir=tmp_path / "cut", device="cpu", resume=True)
    full = load_file(str(tmp_path / "full" / "last" / "model.safetensors"))
    for other in ("again", "cut"):
        weights = load_file(str(tmp_path / other / "last" / "model.safetensors"))
        for name, value in full.items():
            torch.testing.assert_close(weights[name], value, rtol=0, atol=0)


def test_cli_streams_a_jet_file_and_refuses_whole_file_flags(tmp_path, capsys):
    path = str(jet_file(tmp_path / "jets.h5"))
    out = tmp_path / "vae"
    code = cli_main(["train", "--data", path, "--stream", "--chunk-rows", "16",
                     "--buffer-chunks", "2", "--particles", "12", "--latent-dim", "3",
                     "--hidden", "16", "--loss", "chamfer", "--epochs", "1",
                     "--batch-size", "16", "--scan-points", "0", "--out", str(out),
                     "--no-progress"])
    assert code == 0
    record = json.loads((out / "config.json").read_text())["record"]
    assert record["streamed"] == {"chunk_rows": 16, "buffer_chunks": 2}
    assert record["n_train"] + record["n_val"] == N_ROWS
    capsys.readouterr()
    assert cli_main(["train", "--data", path, "--stream", "--max-jets", "10",
                     "--out", str(tmp_path / "x")]) == 2
    assert "does not combine with --max-jets" in capsys.readouterr().err


def test_validation_is_whole_held_out_chunks(tmp_path):
    stream = _stream(tmp_path)
    train_stream, val = stream.holdout(0.5)
    assert len(val) % stream.chunk_rows in (0, 7)  # whole chunks (the last one has 7 rows)
    assert len(train_stream) + len(val) == N_ROWS


def _ddp_worker(rank: int, out: str) -> None:
    stream = JetStream(str(Path(out) / "jets.h5"), batch_size=1, chunk_rows=8, buffer_chunks=2)
    model, _ = train(CONFIG, stream, TrainConfig(**{**TRAIN.to_dict(), "epochs": 1}),
                     out_dir=Path(out) / "ck", device="cpu")
    save_file({k: v.contiguous() for k, v in model.state_dict().items()},
              str(Path(out) / f"rank{rank}.safetensors"))


def test_two_processes_stream_their_shares_and_keep_identical_replicas(tmp_path):
    jet_file(tmp_path / "jets.h5")
    run_two_processes(_ddp_worker, str(tmp_path))
    a = load_file(str(tmp_path / "rank0.safetensors"))
    b = load_file(str(tmp_path / "rank1.safetensors"))
    for name in a:
        torch.testing.assert_close(a[name], b[name], rtol=0, atol=0)
    record = json.loads((tmp_path / "ck" / "config.json").read_text())["record"]
    assert record["world_size"] == 2 and record["n_train"] + record["n_val"] == N_ROWS


def test_cli_streams_a_jetclass_root_file(tmp_path):
    pytest.importorskip("uproot")
    from tests.readers.test_jetclass import _jets, _write

    particles, labels = _jets(60, seed=8)
    path = str(_write(tmp_path / "ZJetsToNuNu_000.root", particles, labels))
    out = tmp_path / "vae"
    assert cli_main(["train", "--data", path, "--stream", "--chunk-rows", "10",
                     "--buffer-chunks", "2", "--particles", "4", "--latent-dim", "3",
                     "--hidden", "16", "--loss", "chamfer", "--epochs", "1",
                     "--batch-size", "16", "--scan-points", "0", "--out", str(out),
                     "--no-progress"]) == 0
    record = json.loads((out / "config.json").read_text())["record"]
    assert record["n_train"] + record["n_val"] == 60 and record["n_val"] == 10  # one chunk
    assert np.isfinite(record["history"][0]["val_loss"])
