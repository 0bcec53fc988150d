"""The generator trainers on a file read chunk by chunk (``jetviz gen prior|mmd --stream``),
for a VAE trained with ``jetviz train --stream``: each epoch of the flow fit encodes every
training jet of the VAE once, reading no more than a chunk at a time and never the VAE's
held-out chunks; what the streamed and the in-memory runs share agrees (the training jets, the
posterior mixture's mean, the pT quantiles, the real masses); the same seed gives the same
weights and a resumed run ends as an uninterrupted one; 2 gloo processes keep identical
replicas; bad input is a clear error."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file

import jetviz.generation.mass_mmd as mass_mmd
import jetviz.generation.prior_train as prior_train
from jetviz.cli import main as cli_main
from jetviz.errors import JetvizInputError
from jetviz.generation.checkpoint import load_vae
from jetviz.generation.generators import (
    encode_jets,
    prepared_truth,
    vae_training_jets,
    vae_training_split,
)
from jetviz.generation.mass_mmd import MmdConfig, tune_with_mass_mmd
from jetviz.generation.mmd_data import MemoryJets, StreamedJets
from jetviz.generation.prior import FlowPriorConfig
from jetviz.generation.prior_train import (
    FitConfig,
    fit_flow_prior_streamed,
    fit_generator_prior,
)
from jetviz.generation.streamed import Reservoir, vae_training_stream
from jetviz.readers import load_jets
from jetviz.readers.stream import JetStream
from tests.support_device import run_two_processes
from tests.support_generation import tiny_gen_root
from tests.support_resume import Killed, kill_after_saves
from tests.support_stream import N_ROWS, ReadLog, jet_file, rows_of

torch.set_num_threads(1)

BETA = 10.0
CHUNK = 8  # rows per chunk: 13 chunks, the last of 7 rows
FLOW = {"transforms": 1, "hidden": 8}
FIT = FitConfig(epochs=2, batch_size=16, seed=1)


@pytest.fixture(scope="module")
def streamed_vae(tmp_path_factory):
    """(the jet file, a VAE trained on it with --stream in chunks of CHUNK rows)."""
    root = tmp_path_factory.mktemp("streamed_vae")
    path = str(jet_file(root / "jets.h5"))
    assert cli_main(["train", "--data", path, "--stream", "--chunk-rows", str(CHUNK),
                     "--buffer-chunks", "2", "--particles", "12", "--latent-dim", "3",
                     "--hidden", "16", "--loss", "chamfer", "--epochs", "1", "--seed", "3",
                     "--batch-size", "16", "--scan-points", "0", "--out", str(root / "vae"),
                     "--no-progress", "--threads", "1"]) == 0
    return path, root / "vae"


def _stream(path: str, **kwargs) -> JetStream:
    return JetStream(path, 1, chunk_rows=kwargs.pop("chunk_rows", CHUNK), buffer_chunks=2,
                     **kwargs)


def _prior(path, vae, out, jets=None, **kwargs) -> dict:
    return fit_generator_prior(vae, BETA, out, jets=jets or _stream(path), flow_config=FLOW,
                               fit=kwargs.pop("fit", FIT), device="cpu", **kwargs)


def test_a_streamed_prior_epoch_encodes_each_training_jet_once_chunk_by_chunk(
        streamed_vae, tmp_path, monkeypatch):
    path, vae = streamed_vae
    record = load_vae(vae)[2]
    vae_train, vae_val = vae_training_split(N_ROWS, record)
    log = ReadLog(monkeypatch)
    epochs: list[list[int]] = []
    batches = JetStream.batches

    def watched(self, epoch, skip=0):
        rows: list[int] = []
        epochs.append(rows)
        for batch in batches(self, epoch, skip):
            rows.extend(rows_of(batch))
            yield batch

    monkeypatch.setattr(JetStream, "batches", watched)
    fit = _prior(path, vae, tmp_path / "gen")
    assert max(log.calls) <= CHUNK  # never more than a chunk per read
    held = fit["streamed"]["held_out_chunks"]
    flow_val = {r for c in held for r in range(c * CHUNK, (c + 1) * CHUNK)}
    trained = sorted(set(vae_train) - flow_val)
    assert len(epochs) == FIT.epochs and fit["n_train"] == len(trained)
    for rows in epochs:  # every training jet once per epoch, no held-out jet of the VAE
        assert sorted(rows) == trained
        assert not set(rows) & set(vae_val.tolist())
    assert fit["n_jets"] == len(vae_train) == fit["n_train"] + fit["n_val"]


def test_streamed_and_in_memory_priors_fit_the_same_jets(streamed_vae, tmp_path):
    path, vae = streamed_vae
    streamed = _prior(path, vae, tmp_path / "streamed")
    memory = _prior(path, vae, tmp_path / "memory", jets=load_jets(path, n_particles=12))
    assert streamed["n_jets"] == memory["n_jets"]  # the VAE's training chunks, both ways
    assert streamed["pt_quantiles"] == pytest.approx(memory["pt_quantiles"], rel=1e-6)
    # the flow's standardisation is the exact mean of the posterior means of those jets
    model, _, record = load_vae(vae)
    jets = vae_training_jets(load_jets(path), list(load_jets(path).class_names), record)
    mu, _ = encode_jets(model, *prepared_truth(jets, 12)[:2], BETA)
    loc = load_file(str(tmp_path / "streamed" / "flow" / "model.safetensors"))["loc"]
    np.testing.assert_allclose(loc.numpy(), mu.mean(0), rtol=1e-4, atol=1e-5)


def test_streamed_prior_fits_are_seeded_and_resume_exactly(streamed_vae, tmp_path, monkeypatch):
    path, vae = streamed_vae
    fit = FitConfig(epochs=3, batch_size=16, seed=1)
    full = _prior(path, vae, tmp_path / "full", fit=fit)
    _prior(path, vae, tmp_path / "again", fit=fit)
    with monkeypatch.context() as m:
        kill_after_saves(m, prior_train, 1)
        with pytest.raises(Killed):
            _prior(path, vae, tmp_path / "cut", fit=fit)
    resumed = _prior(path, vae, tmp_path / "cut", fit=fit, resume=True)
    assert resumed["history"] == full["history"]
    weights = load_file(str(tmp_path / "full" / "flow" / "model.safetensors"))
    for other in ("again", "cut"):
        again = load_file(str(tmp_path / other / "flow" / "model.safetensors"))
        for name, value in weights.items():
            torch.testing.assert_close(again[name], value, rtol=0, atol=0)
    with pytest.raises(JetvizInputError, match="fitted to other jets"):  # not in memory
        _prior(path, vae, tmp_path / "cut", jets=load_jets(path, n_particles=12), fit=fit,
               resume=True)


def test_streaming_refuses_a_vae_trained_in_memory_or_another_chunking_or_file(
        streamed_vae, tmp_path):
    path, vae = streamed_vae
    with pytest.raises(JetvizInputError, match="pass --chunk-rows 8"):
        _prior(path, vae, tmp_path / "a", jets=_stream(path, chunk_rows=16))
    other = str(jet_file(tmp_path / "other.h5", n=50))
    with pytest.raises(JetvizInputError, match="pass its file"):
        _prior(other, vae, tmp_path / "b")
    memory_root = tiny_gen_root(tmp_path / "memory")
    with pytest.raises(JetvizInputError, match="trained on jets in memory"):
        _prior(str(memory_root / "jets.h5"), memory_root / "gen_tiny", tmp_path / "c",
               classes=["g"])
    with pytest.raises(JetvizInputError, match="pass that file with all its classes"):
        vae_training_split(N_ROWS - 1, load_vae(vae)[2])


def test_a_reservoir_keeps_every_row_in_file_order_or_a_seeded_uniform_sample():
    rng = np.random.default_rng(0)
    chunks = {c: rng.normal(size=(7, 2)) for c in (4, 0, 2)}
    everything = Reservoir(100, seed=3)
    for c, values in chunks.items():  # any order of the chunks
        everything.add(c, values)
    np.testing.assert_array_equal(everything.values, np.concatenate([chunks[c] for c in (0, 2, 4)]))
    samples = []
    for order in ((4, 0, 2), (0, 2, 4)):
        some = Reservoir(5, seed=3)
        for c in order:
            some.add(c, chunks[c])
        samples.append(some.values)
        assert len(some.values) == 5 and some.seen == 21
    np.testing.assert_array_equal(*samples)  # the seed and the file fix the sample
    with pytest.raises(JetvizInputError, match="≥ 1 row"):
        Reservoir(0, seed=1)


@pytest.fixture(scope="module")
def streamed_gen(streamed_vae, tmp_path_factory):
    """A generator with a flow prior fitted --stream to the streamed VAE."""
    path, vae = streamed_vae
    out = tmp_path_factory.mktemp("streamed_gen") / "gen"
    _prior(path, vae, out)
    return path, out


def test_streamed_mmd_batches_walk_the_training_chunks_and_real_masses_agree(streamed_gen):
    path, gen = streamed_gen
    record = load_vae(gen)[2]
    classes = list(load_jets(path).class_names)
    stream = dataclasses.replace(vae_training_stream(_stream(path), record, classes, 12),
                                 batch_size=16, seed=5)
    streamed = StreamedJets(stream, 12, "cpu")
    memory = MemoryJets(*prepared_truth(vae_training_jets(load_jets(path), classes, record), 12),
                        "cpu")
    torch.testing.assert_close(streamed.real_mass, memory.real_mass)  # every jet, file order
    torch.testing.assert_close(streamed.real_pt, memory.real_pt)
    rows: list[int] = []
    rng = np.random.default_rng(0)
    for _ in range(stream.n_batches(0)):
        rows.extend((streamed.batch(rng, 16, 0, 1)[2] - 1000).round().int().tolist())
    assert sorted(rows) == sorted((memory.real_pt - 1000).round().int().tolist())
    assert streamed.position == [0, stream.n_batches(0)]  # one pass, each jet once
    sample = StreamedJets(stream, 12, "cpu", sample=20)
    assert len(sample.real_mass) == 20 and sample.record["streamed"]["real_mass_sample"] == 20
    assert set(sample.real_pt.tolist()) <= set(memory.real_pt.tolist())


def test_streamed_mmd_resumes_exactly_and_runs_from_the_cli(streamed_gen, tmp_path,
                                                           monkeypatch, capsys):
    path, gen = streamed_gen
    config = MmdConfig(steps=5, batch_size=16, latent_pool=64)
    monkeypatch.setattr(mass_mmd, "SAVE_EVERY", 2)

    def tune(out, **kwargs):
        return tune_with_mass_mmd(gen, tmp_path / out, jets=_stream(path), config=config,
                                  device="cpu", **kwargs)

    full = tune("full")
    n_train = len(vae_training_split(N_ROWS, load_vae(gen)[2])[0])
    assert full["mass_mmd"]["streamed"]["n_jets"] == n_train
    with monkeypatch.context() as m:
        kill_after_saves(m, mass_mmd, 1)  # killed after step 2
        with pytest.raises(Killed):
            tune("cut")
    tune("cut", resume=True)
    weights = load_file(str(tmp_path / "full" / "model.safetensors"))
    cut = load_file(str(tmp_path / "cut" / "model.safetensors"))
    for name, value in weights.items():
        torch.testing.assert_close(cut[name], value, rtol=0, atol=0)
    with pytest.raises(JetvizInputError, match="resume it with --stream"):
        tune_with_mass_mmd(gen, tmp_path / "cut", jets=load_jets(path), config=config,
                           device="cpu", resume=True)
    out = tmp_path / "cli"
    assert cli_main(["gen", "mmd", "--gen", str(gen), "--out", str(out), "--data", path,
                     "--stream", "--chunk-rows", str(CHUNK), "--steps", "2",
                     "--threads", "1", "--device", "cpu"]) == 2  # < the batch of 256 jets
    assert "needs ≥ 256 training jets" in capsys.readouterr().err


def test_cli_fits_a_streamed_prior(streamed_vae, tmp_path, capsys):
    path, vae = streamed_vae
    out = tmp_path / "gen"
    assert cli_main(["gen", "prior", "--vae", str(vae), "--beta", str(BETA), "--out", str(out),
                     "--data", path, "--stream", "--chunk-rows", str(CHUNK),
                     "--transforms", "1", "--hidden", "8", "--epochs", "1", "--threads", "1",
                     "--device", "cpu"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["n_jets"] == len(vae_training_split(N_ROWS, load_vae(vae)[2])[0])
    record = json.loads((out / "flow" / "config.json").read_text())["record"]
    assert record["streamed"]["chunk_rows"] == CHUNK and record["data_source"] == path
    for command in ("prior", "mmd"):  # the help of --stream prints
        with pytest.raises(SystemExit) as done:
            cli_main(["gen", command, "--help"])
        assert done.value.code == 0 and "--stream" in capsys.readouterr().out


def _ddp_prior(rank: int, path: str, vae: str, out: str) -> None:
    model, _, record = load_vae(vae)
    stream = vae_training_stream(_stream(path), record, None, 12)
    prior, fit = fit_flow_prior_streamed(model, BETA, stream, FlowPriorConfig(features=3, **FLOW),
                                         FIT, device="cpu")
    save_file({k: v.contiguous() for k, v in prior.state_dict().items()},
              f"{out}/rank{rank}.safetensors")
    (Path(out) / f"rank{rank}.json").write_text(json.dumps(fit))


def test_two_processes_fit_one_streamed_prior_on_their_shares(streamed_vae, tmp_path):
    path, vae = streamed_vae
    run_two_processes(_ddp_prior, path, str(vae), str(tmp_path))
    a = load_file(str(tmp_path / "rank0.safetensors"))
    b = load_file(str(tmp_path / "rank1.safetensors"))
    for name in a:
        torch.testing.assert_close(a[name], b[name], rtol=0, atol=0)  # replicas identical
    fits = [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in (0, 1)]
    assert fits[0]["world_size"] == 2 and fits[0]["history"] == fits[1]["history"]
    assert np.isfinite(fits[0]["best_val_nll"])
