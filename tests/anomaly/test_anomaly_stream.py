"""The anomaly AE / NAE on a jet file read chunk by chunk (``jetviz anomaly train --stream``):
no more than the buffer of the file is in memory, an AE epoch trains on every background jet
of the training chunks once and on no held-out one, the same seed gives the same weights, a
resumed streamed run (AE epochs, NAE steps) ends as an uninterrupted one, and a tiny streamed
AE on real jets is scored on the chunks it held out (by the command and by the page)."""

from __future__ import annotations

import dataclasses
import sys

import numpy as np
import torch

from jetviz import checkpoints
from jetviz.anomaly import batches
from jetviz.anomaly import checkpoint as ckpt
from jetviz.anomaly.batches import streamed_scored
from jetviz.anomaly.data import held_out_indices
from jetviz.anomaly.explore import score_file
from jetviz.anomaly.model import AEConfig
from jetviz.anomaly.nae import SamplerConfig
from jetviz.anomaly.train import TrainConfig, train
from jetviz.cli import main as cli_main
from jetviz.readers import store
from jetviz.readers.stream import JetStream
from tests.support_stream import ReadLog, jet_file, rows_of

torch.set_num_threads(1)

TINY = AEConfig(n_pixels=8, latent_dim=2, channels=(2, 3), hidden=5, spectral_norm=False)
CFG = TrainConfig(background="qcd", method="ae", n_val=2, n_select=3, ae_epochs=1,
                  batch_size=4, seed=3)


def _stream(tmp_path) -> JetStream:
    return JetStream(str(jet_file(tmp_path / "jets.h5")), batch_size=1, chunk_rows=8,
                     buffer_chunks=2)


def _train(stream, out, cfg=CFG, **kwargs):
    torch.manual_seed(0)  # the initial weights
    return train(stream, out, cfg, TINY, progress=False, **kwargs)


def _weights(directory) -> dict[str, torch.Tensor]:
    return ckpt.load(directory)[0].state_dict()


def test_an_epoch_trains_on_every_background_jet_of_the_training_chunks_once(
        tmp_path, monkeypatch):
    stream = _stream(tmp_path)
    every = store.read_jets(stream.path)
    log = ReadLog(monkeypatch)
    trained: list[int] = []
    resident: list[int] = []
    made, read = batches.StreamImages.images, JetStream.read_chunks

    def watched_images(self, jets):
        trained.extend(rows_of(jets))
        return made(self, jets)

    def watched_read(self, chunks):
        resident.append(len(chunks) * self.chunk_rows)  # rows read at once
        return read(self, chunks)

    monkeypatch.setattr(batches.StreamImages, "images", watched_images)
    monkeypatch.setattr(JetStream, "read_chunks", watched_read)
    _train(stream, tmp_path / "ae")
    record = ckpt.load(tmp_path / "ae")[2]
    held = record["data"]["streamed"]["held_out_chunks"]
    qcd = np.isin(every.labels, [every.class_names.index(c) for c in ("g", "q")])
    rows = np.arange(len(every))
    wanted = rows[qcd & ~np.isin(rows // 8, held)].tolist()
    assert sorted(trained) == wanted  # each once; no held-out jet, no signal jet
    assert max(resident) <= stream.buffer_rows and max(log.calls) <= stream.chunk_rows
    assert record["data"]["n_fit"] == len(wanted) and len(held) == 3
    assert 0.0 <= record["evaluation"]["signals"]["top"]["auc"] <= 1.0  # scored held-out jets


def test_streamed_runs_are_seeded_and_resume_exactly(tmp_path):
    stream = _stream(tmp_path)
    two = dataclasses.replace(CFG, ae_epochs=2)
    _train(stream, tmp_path / "full", two)
    _train(stream, tmp_path / "again", two)
    _train(stream, tmp_path / "cut", CFG)
    _train(stream, tmp_path / "cut", two, resume=True)
    full = _weights(tmp_path / "full" / checkpoints.LAST)
    for other in ("again", "cut"):
        for name, value in _weights(tmp_path / other / checkpoints.LAST).items():
            torch.testing.assert_close(value, full[name], rtol=0, atol=0)
    nae = dataclasses.replace(CFG, method="nae", init=str(tmp_path / "full"), nae_steps=30,
                              negatives=3, sampler=SamplerConfig(z_steps=2, x_steps=2))
    _train(stream, tmp_path / "nae", nae)  # 30 steps of 4 jets: past an epoch of the stream
    _train(stream, tmp_path / "nae_cut", dataclasses.replace(nae, nae_steps=17))
    _train(stream, tmp_path / "nae_cut", nae, resume=True)
    position = checkpoints.read_config(tmp_path / "nae" / "last", "anomaly")["record"][
        batches.POSITION]
    assert position[0] >= 1  # the steps walked into the stream's next epoch
    want = _weights(tmp_path / "nae" / checkpoints.LAST)
    for name, value in _weights(tmp_path / "nae_cut" / checkpoints.LAST).items():
        torch.testing.assert_close(value, want[name], rtol=0, atol=0)


def test_a_streamed_ae_on_real_jets_is_scored_on_its_held_out_chunks(tmp_path, monkeypatch,
                                                                      capsys):
    from jetviz.paths import DEFAULT_JETS
    from jetviz.readers import load_jets

    jets = load_jets(str(DEFAULT_JETS))
    pick = np.random.default_rng(1).choice(len(jets), 500, replace=False)  # classes mixed
    path = tmp_path / "jets.h5"
    store.write_jets(path, jets.subset(pick))
    out = tmp_path / "ae"
    argv = ["anomaly", "train", "--jets", str(path), "--out", str(out), "--stream",
            "--chunk-rows", "25", "--buffer-chunks", "2", "--n-val", "10", "--n-select", "5",
            "--ae-epochs", "1", "--batch-size", "32", "--threads", "1", "--no-progress"]
    monkeypatch.setattr(sys, "argv", ["jetviz", *argv])
    assert cli_main(argv) == 0
    record = ckpt.load(out)[2]
    assert record["data"]["streamed"]["n_held_out"] == 100  # 4 of 20 chunks of 25
    signals = record["evaluation"]["signals"]
    assert set(signals) == {"top", "W", "Z"}
    assert all(0.0 <= s["auc"] <= 1.0 for s in signals.values())
    assert cli_main(["anomaly", "score", "--model", str(out)]) == 0
    printed = capsys.readouterr().out
    for name in ("top", "W", "Z"):  # the same held-out test jets
        assert f"'signal': '{name}', 'AUC ours': {round(signals[name]['auc'], 3)}" in printed
    model, config, _ = ckpt.load(out)
    scored = score_file(model, config["train"], record, jets.subset(pick), str(path))
    held = record["data"]["streamed"]["held_out_chunks"]
    assert scored.held_out and set(np.unique(scored.index // 25)) <= set(held)  # the page
    again, start = streamed_scored(str(path), config["train"], record["data"]["streamed"])
    tested = again.subset(held_out_indices(again, start))
    np.testing.assert_array_equal(jets.subset(pick).jets[scored.index], tested.jets)
    other = tmp_path / "other.h5"
    store.write_jets(other, jets.subset(pick[:300]))
    assert cli_main(["anomaly", "score", "--model", str(out), "--jets", str(other)]) == 2
