"""Training: resume continues exactly, NaN runs stop cleanly, DDP replicas agree, the CLI works."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file

from jetviz.cli import main as cli_main
from jetviz.readers.store import write_jets
from jetviz.vae.checkpoint import load_checkpoint
from jetviz.vae.epoch import draw_log_beta, evaluate, seeded_generator
from jetviz.vae.inputs import inputs_from_jets
from jetviz.vae.model import JET_MODEL, VAEConfig
from jetviz.vae.train import TrainConfig, TrainingDivergedError, _split, train
from tests.conftest import make_jetset
from tests.support_device import run_two_processes

torch.set_num_threads(1)

CONFIG = VAEConfig(n_particles_in=12, n_particles_out=8, latent_dim=3, hidden=16, cond_dim=8,
                   beta_min=5.0, beta_max=500.0, sinkhorn_iter=32)
TRAIN = TrainConfig(epochs=3, batch_size=16, kl_warmup_epochs=1, scan_points=0, seed=3)


def _data():
    return inputs_from_jets(make_jetset(60, 12, seed=1), 12)


def _last_weights(directory: Path) -> dict[str, torch.Tensor]:
    return load_file(str(directory / "last" / "model.safetensors"))


def test_resume_continues_exactly_like_an_uninterrupted_run(tmp_path):
    _, full = train(CONFIG, _data(), TRAIN, out_dir=tmp_path / "full", device="cpu")
    # "Interrupt" after two epochs (the app's stop button), then resume.
    _, part = train(CONFIG, _data(), TRAIN, out_dir=tmp_path / "cut", device="cpu",
                    callback=lambda epoch, record: epoch < 1)
    assert part["stopped"] == "callback" and len(part["history"]) == 2
    _, resumed = train(CONFIG, _data(), TRAIN, out_dir=tmp_path / "cut", device="cpu",
                       resume=True)
    assert [h["epoch"] for h in resumed["history"]] == [1, 2, 3]
    assert resumed["history"][:2] == [{**h} for h in part["history"]]
    for key in ("val_loss", "train_objective"):
        assert resumed["history"][2][key] == pytest.approx(full["history"][2][key], rel=1e-6)
    a, b = _last_weights(tmp_path / "full"), _last_weights(tmp_path / "cut")
    for name in a:
        torch.testing.assert_close(a[name], b[name], rtol=0, atol=0)
    opt = load_file(str(tmp_path / "cut" / "last" / "optimizer.safetensors"))
    steps = 3 * -(-resumed["n_train"] // TRAIN.batch_size)  # 3 epochs of ⌈n/B⌉ steps
    assert {float(v) for k, v in opt.items() if k.endswith(".step")} == {steps}


def test_nan_run_stops_with_clear_error_and_keeps_earlier_checkpoint(tmp_path):
    out = tmp_path / "run"
    train(CONFIG, _data(), TrainConfig(**{**TRAIN.to_dict(), "epochs": 1}), out_dir=out,
          device="cpu")
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    bad = _data()
    bad.x[:, 0, 1] = float("nan")  # NaN data poison the loss of the first batch
    with pytest.raises(TrainingDivergedError, match=r"diverged.*intact"):
        train(CONFIG, bad, TrainConfig(**{**TRAIN.to_dict(), "epochs": 2}), out_dir=out,
              device="cpu", resume=True)
    after = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert after == before
    _model, _, record = load_checkpoint(out)
    assert len(record["history"]) == 1


def _ddp_worker(rank: int, out: str) -> None:
    model, record = train(CONFIG, _data(), TrainConfig(**{**TRAIN.to_dict(), "epochs": 1}),
                          out_dir=Path(out) / "ck", device="cpu")
    save_file({k: v.contiguous() for k, v in model.state_dict().items()},
              str(Path(out) / f"rank{rank}.safetensors"))
    (Path(out) / f"rank{rank}.json").write_text(json.dumps(record["history"][0]))


def test_ddp_two_cpu_processes_end_with_identical_weights(tmp_path):
    run_two_processes(_ddp_worker, str(tmp_path))
    a = load_file(str(tmp_path / "rank0.safetensors"))
    b = load_file(str(tmp_path / "rank1.safetensors"))
    for name in a:
        torch.testing.assert_close(a[name], b[name], rtol=0, atol=0)
    model, _, record = load_checkpoint(tmp_path / "ck")  # written by rank 0 only
    assert record["world_size"] == 2
    torch.manual_seed(TRAIN.seed)
    init = type(model)(CONFIG).state_dict()
    assert any((init[k] - a[k]).abs().max() > 0 for k in a)  # the replicas did train
    # The validation pass was split between the processes: it scores what one process
    # does (up to float32 rounding of smaller batches).
    _, val_idx = _split(len(_data()), TRAIN.val_fraction, TRAIN.seed)
    val_set = _data().subset(torch.from_numpy(val_idx))
    gen = seeded_generator(TRAIN.seed, 0, 0, stream=1)
    whole = evaluate(model, val_set, draw_log_beta(len(val_set), CONFIG, gen), gen)
    for rank in (0, 1):
        shared = json.loads((tmp_path / f"rank{rank}.json").read_text())
        assert shared["val_loss"] == pytest.approx(whole["loss"], rel=1e-5)  # float32
        assert shared["val_kl_per_dim"] == pytest.approx(whole["kl_per_dim"], rel=1e-5)


def test_cli_trains_on_a_jet_file_and_records_the_command(tmp_path, capsys):
    path = tmp_path / "jets.h5"
    write_jets(path, make_jetset(80, 12, seed=2))
    out = tmp_path / "vae"
    code = cli_main(["train", "--data", str(path), "--classes", "w,t", "--out", str(out),
                     "--particles", "12", "--particles-out", "8", "--latent-dim", "3",
                     "--hidden", "16", "--epochs", "2", "--batch-size", "8",
                     "--sinkhorn-iter", "32", "--scan-points", "5", "--scan-examples", "8",
                     "--kl-warmup", "1", "--no-progress", "--beta-min", "5", "--beta-max", "500"])
    assert code == 0
    assert '"best_epoch"' in capsys.readouterr().out
    _model, config, record = load_checkpoint(out)
    assert config.n_particles_in == 12 and config.conditioned
    # a new jet model: the jet defaults where no flag says otherwise (--hidden 16 given)
    assert (config.weighting, config.hidden, config.particle_hidden, config.beta_power,
            config.balance_floor) == (JET_MODEL["weighting"], 16, JET_MODEL["particle_hidden"],
                                      JET_MODEL["beta_power"], JET_MODEL["balance_floor"])
    assert record["classes"] == ["w", "t"] and "--classes" in record["command"]
    assert len(record["scan"]["betas"]) == 5 and len(record["scan"]["d1"]) == 5
    # Missing data file: a clear message and exit code 2, no traceback.
    assert cli_main(["train", "--data", str(tmp_path / "nope.h5"), "--out", str(out)]) == 2
    assert "no such jet file" in capsys.readouterr().err
