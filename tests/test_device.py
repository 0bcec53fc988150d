"""The one training path (jetviz.device): device choice, sharding, AMP, the optimizer step;
and every training command's ``--device`` refusing a device this machine lacks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from jetviz.cli import main as cli_main
from jetviz.device import (
    Stepper,
    autocast,
    grad_scaler,
    resolve_device,
    shard,
)
from jetviz.errors import JetvizInputError
from tests.support_device import ABSENT, run_two_processes

torch.set_num_threads(1)


def test_cpu_is_always_there_and_auto_picks_cuda_only_when_present():
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device(torch.device("cpu")) == torch.device("cpu")
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert resolve_device(None).type == expected == resolve_device("auto").type


@pytest.mark.parametrize(("name", "message"), [
    (ABSENT, "CUDA GPU"), ("tpu", "unknown device"), ("cuda:x", "unknown device"),
    ("meta", "cpu or cuda"), (3, "unknown device")])
def test_unknown_or_absent_devices_are_clear_errors(name, message):
    with pytest.raises(JetvizInputError, match=message):
        resolve_device(name)


@pytest.mark.parametrize(("n", "world"), [(10, 2), (11, 2), (12, 3), (7, 1)])
def test_shards_are_disjoint_and_cover_the_batch(n, world):
    batch = torch.randperm(n, generator=torch.Generator().manual_seed(n))
    parts = [shard(batch, rank, world) for rank in range(world)]
    joined = torch.cat(parts)
    assert sorted(joined.tolist()) == sorted(batch.tolist())  # cover, no repeats
    assert max(len(p) for p in parts) - min(len(p) for p in parts) <= 1
    assert shard(batch, 0, 1) is batch  # one process: the batch itself, untouched


def test_a_batch_smaller_than_the_world_goes_whole_to_every_process():
    assert shard(torch.arange(1), 1, 2).tolist() == [0]
    with pytest.raises(JetvizInputError, match="rank 2"):
        shard(torch.arange(4), 2, 2)


def test_amp_is_a_no_op_on_the_cpu():
    cpu = torch.device("cpu")
    assert grad_scaler(cpu) is None
    layer = torch.nn.Linear(4, 3)
    x = torch.randn(5, 4, generator=torch.Generator().manual_seed(0))
    with autocast(cpu):
        y = layer(x)
    assert y.dtype == torch.float32
    torch.testing.assert_close(y, layer(x), rtol=0, atol=0)


def test_one_process_step_is_the_plain_clipped_adam_step():
    torch.manual_seed(0)
    a = torch.nn.Linear(4, 2)
    b = torch.nn.Linear(4, 2)
    b.load_state_dict(a.state_dict())
    opt_a, opt_b = torch.optim.Adam(a.parameters(), 0.1), torch.optim.Adam(b.parameters(), 0.1)
    stepper = Stepper(opt_a, list(a.parameters()), grad_scaler(torch.device("cpu")), 0.5)
    x = torch.randn(8, 4, generator=torch.Generator().manual_seed(1))
    for _ in range(3):
        stepper.step(a(x).square().mean())
        opt_b.zero_grad()
        b(x).square().mean().backward()
        torch.nn.utils.clip_grad_norm_(b.parameters(), 0.5)
        opt_b.step()
    for pa, pb in zip(a.parameters(), b.parameters(), strict=True):
        torch.testing.assert_close(pa, pb, rtol=0, atol=0)


def _two_replicas(rank: int) -> tuple[torch.nn.Module, torch.nn.Module, torch.Tensor]:
    torch.manual_seed(0)
    a = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Tanh(), torch.nn.Linear(8, 2))
    b = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Tanh(), torch.nn.Linear(8, 2))
    b.load_state_dict(a.state_dict())
    x = torch.randn(16, 4, generator=torch.Generator().manual_seed(1))
    return a, b, shard(x, rank, 2)


def _stepper_worker(rank: int, out: str) -> None:
    """Steps of the Stepper's averaged gradients beside those of a DistributedDataParallel
    wrapper of the same model; then a NaN loss on rank 1 only."""
    a, b, x = _two_replicas(rank)
    ddp = torch.nn.parallel.DistributedDataParallel(b)
    opt_a, opt_b = torch.optim.Adam(a.parameters(), 0.1), torch.optim.Adam(b.parameters(), 0.1)
    stepper = Stepper(opt_a, list(a.parameters()), grad_clip=0.5, world=2)
    done = []
    for _ in range(3):
        done.append(stepper.step(a(x).square().mean()))
        opt_b.zero_grad()
        ddp(x).square().mean().backward()
        torch.nn.utils.clip_grad_norm_(b.parameters(), 0.5)
        opt_b.step()
    same = all(torch.equal(pa, pb) for pa, pb in zip(a.parameters(), b.parameters(),
                                                       strict=True))
    before = [p.detach().clone() for p in a.parameters()]
    loss = a(x).square().mean() * (float("nan") if rank == 1 else 1.0)
    nan_step = stepper.step(loss)
    kept = all(torch.equal(p, q) for p, q in zip(a.parameters(), before, strict=True))
    Path(out, f"rank{rank}.json").write_text(json.dumps([done, same, nan_step, kept]))


def test_two_processes_step_as_ddp_and_stop_together_on_a_nan(tmp_path):
    run_two_processes(_stepper_worker, str(tmp_path))
    for rank in (0, 1):
        done, same, nan_step, kept = json.loads((tmp_path / f"rank{rank}.json").read_text())
        assert done == [True] * 3
        assert same  # bit for bit what a DistributedDataParallel wrapper gives
        assert nan_step is False and kept  # a NaN on rank 1: neither process stepped


def test_one_process_refuses_a_nan_step():
    a, _, x = _two_replicas(0)
    stepper = Stepper(torch.optim.Adam(a.parameters(), 0.1), list(a.parameters()))
    before = [p.detach().clone() for p in a.parameters()]
    assert stepper.step(a(x).sum() * float("inf")) is False
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), before, strict=True))
    assert stepper.step(a(x).square().mean()) is True
    assert not all(torch.equal(p, q) for p, q in zip(a.parameters(), before, strict=True))


COMMANDS = {  # every training command, with just its required arguments
    "vae": ["train", "--out", "{tmp}/vae"],
    "flow prior": ["gen", "prior", "--vae", "{tmp}/v", "--beta", "10", "--out", "{tmp}/g"],
    "mass-MMD": ["gen", "mmd", "--gen", "{tmp}/g", "--out", "{tmp}/m"],
    "theory map": ["theorymap", "train", "--out", "{tmp}/t"],
    "JetCLR": ["jetclr", "ablation", "--out", "{tmp}/j"],
    "anomaly": ["anomaly", "train", "--out", "{tmp}/a"],
    "unfolding": ["unfold", "train", "--data", "{tmp}/p.h5", "--out", "{tmp}/u"],
}


@pytest.mark.parametrize("trainer", list(COMMANDS))
def test_every_training_command_refuses_an_absent_device(trainer, tmp_path, capsys):
    argv = [a.format(tmp=tmp_path) for a in COMMANDS[trainer]]
    assert cli_main([*argv, "--device", ABSENT]) == 2
    err = capsys.readouterr().err
    assert "no CUDA GPU" in err or "CUDA GPU(s)" in err
    assert "--device cpu" in err or "cuda:0 to" in err
    assert not any(tmp_path.iterdir())  # refused before anything was written
