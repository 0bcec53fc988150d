"""Training that a class can share: ``last/`` is replaced as one unit so a kill at any
instant resumes bit for bit, and finite blow-ups stop the run keeping the last good epoch."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from jetviz import checkpoints
from jetviz.cli import main as cli_main
from jetviz.readers.store import write_jets
from jetviz.vae.checkpoint import load_checkpoint
from jetviz.vae.train import TrainingDivergedError, divergence, train
from tests.conftest import make_jetset
from tests.vae.test_train import CONFIG, TRAIN, _data

torch.set_num_threads(1)
VOLATILE = ("seconds", "jets_per_s", "cpu_seconds")  # timing fields of a history entry
KILL_AT_EPOCH = 2  # the kill happens while epoch 2's checkpoint is being written


class Killed(BaseException):
    """Stands for SIGKILL: not an Exception, so nothing on the way handles it."""


def _steady(history: list[dict]) -> list[dict]:
    return [{k: v for k, v in h.items() if k not in VOLATILE} for h in history]


def _assert_same_run(full_dir: Path, cut_dir: Path, full: dict, resumed: dict) -> None:
    assert _steady(resumed["history"]) == _steady(full["history"])  # bit for bit (==)
    for part in ("model.safetensors", "optimizer.safetensors"):
        a, b = load_file(str(full_dir / "last" / part)), load_file(str(cut_dir / "last" / part))
        assert a.keys() == b.keys()
        for name in a:
            assert torch.equal(a[name], b[name]), (part, name)
    leftovers = [p.name for p in cut_dir.iterdir() if p.name.startswith(".last-")]
    assert leftovers == []


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    out = tmp_path_factory.mktemp("full")
    _, record = train(CONFIG, _data(), TRAIN, out_dir=out, device="cpu")
    return out, record


def _epoch_of(payload: dict) -> int:
    return len(payload["record"]["history"])


def test_kill_between_last_weights_and_its_record_resumes_exactly(uninterrupted, tmp_path,
                                                                  monkeypatch):
    """The issue's case: weights of epoch 2 on disk, the record not yet."""
    real = checkpoints.write_json

    def dying(path: Path, payload: dict) -> None:
        in_last = path.parent.name == "last" or path.parent.name.startswith(".last-")
        if in_last and _epoch_of(payload) == KILL_AT_EPOCH:
            raise Killed
        real(path, payload)

    monkeypatch.setattr(checkpoints, "write_json", dying)
    with pytest.raises(Killed):
        train(CONFIG, _data(), TRAIN, out_dir=tmp_path, device="cpu")
    monkeypatch.setattr(checkpoints, "write_json", real)
    _, resumed = train(CONFIG, _data(), TRAIN, out_dir=tmp_path, device="cpu", resume=True)
    _assert_same_run(uninterrupted[0], tmp_path, uninterrupted[1], resumed)


@pytest.mark.parametrize("stage", ["written", "old_moved", "new_in_place"])
def test_kill_inside_the_swap_of_last_resumes_exactly(uninterrupted, tmp_path, monkeypatch,
                                                      stage):
    epochs_written = []

    def hook(at: str) -> None:
        if at == "written":
            epochs_written.append(at)
        if at == stage and len(epochs_written) == KILL_AT_EPOCH:
            raise Killed

    monkeypatch.setattr(checkpoints, "swap_hook", hook)
    with pytest.raises(Killed):
        train(CONFIG, _data(), TRAIN, out_dir=tmp_path, device="cpu")
    monkeypatch.setattr(checkpoints, "swap_hook", lambda at: None)
    _, resumed = train(CONFIG, _data(), TRAIN, out_dir=tmp_path, device="cpu", resume=True)
    _assert_same_run(uninterrupted[0], tmp_path, uninterrupted[1], resumed)


def test_a_process_killed_between_the_renames_resumes_exactly(uninterrupted, tmp_path):
    """A real process ends with os._exit (no cleanup at all) with no last/ on disk."""
    script = textwrap.dedent(f"""
        import os, torch
        torch.set_num_threads(1)
        from jetviz import checkpoints
        from jetviz.vae.train import train
        from tests.vae.test_train import CONFIG, TRAIN, _data
        seen = []
        def hook(at):
            seen.append(at)
            if at == "old_moved" and seen.count("written") == {KILL_AT_EPOCH}:
                os._exit(9)
        checkpoints.swap_hook = hook
        train(CONFIG, _data(), TRAIN, out_dir={str(tmp_path)!r}, device="cpu")
    """)
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run([sys.executable, "-c", script], cwd=root, timeout=300,
                          env={**os.environ, "PYTHONPATH": str(root)})
    assert done.returncode == 9
    assert not (tmp_path / "last").exists()  # killed with the old last/ moved aside
    _, resumed = train(CONFIG, _data(), TRAIN, out_dir=tmp_path, device="cpu", resume=True)
    _assert_same_run(uninterrupted[0], tmp_path, uninterrupted[1], resumed)


# ---------------------------------------------------------------- divergence


def test_divergence_rules():
    history = [{"val_loss": 40.0}, {"val_loss": 30.0}]
    assert divergence({"loss": 2000.0, "distance": 10.0}, history, 2000.0) is None
    spike = {"loss": 3001.0, "distance": 10.0}  # past 100× the lowest (30)
    assert divergence(spike, history, None) is None  # one epoch: it may come back
    assert divergence({"loss": 31.0, "distance": 10.0}, [*history, {"val_loss": 3001.0}],
                      None) is None  # it came back
    assert "100× the lowest before it (30 nats) for 2 epochs" in divergence(
        spike, [*history, {"val_loss": 3001.0}], None)
    assert "exceeds the largest EMD" in divergence({"loss": 20.0, "distance": 5e13}, [], 2e3)
    assert "nan" in divergence({"loss": float("nan"), "distance": 1.0}, [], None)


def test_a_finite_blow_up_stops_and_keeps_the_last_good_epoch(tmp_path, monkeypatch):
    out = tmp_path / "run"
    good = {**TRAIN.to_dict(), "epochs": 1}
    from jetviz.vae.train import TrainConfig

    train(CONFIG, _data(), TrainConfig(**good), out_dir=out, device="cpu")
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    monkeypatch.setattr("jetviz.vae.train._lr_at", lambda *_: 1.0)  # Adam at lr 1: blows up
    with pytest.raises(TrainingDivergedError, match=r"diverged at epoch 2.*epoch 1 and earlier "
                                                    r"are kept.*Lower the learning rate"):
        train(CONFIG, _data(), TrainConfig(**{**good, "epochs": 3}), out_dir=out, device="cpu",
              resume=True)
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before
    _, _, record = load_checkpoint(out)
    assert len(record["history"]) == 1


def test_cli_with_lr_0_1_exits_non_zero_and_says_what_to_try(tmp_path, capsys):
    path = tmp_path / "jets.h5"
    write_jets(path, make_jetset(80, 12, seed=2))
    out = tmp_path / "vae"
    code = cli_main(["train", "--data", str(path), "--out", str(out), "--particles", "12",
                     "--particles-out", "8", "--latent-dim", "3", "--hidden", "16",
                     "--epochs", "3", "--batch-size", "8", "--sinkhorn-iter", "32",
                     "--scan-points", "0", "--kl-warmup", "1", "--no-progress", "--lr", "0.1",
                     "--beta-min", "5", "--beta-max", "500"])
    captured = capsys.readouterr()
    assert code != 0 and '"completed"' not in captured.out
    assert "diverged" in captured.err and "Lower the learning rate" in captured.err
    assert not (out / "model.safetensors").exists()  # no model from a diverged epoch
