"""The cINN on the one training path (jetviz.device): a tiny run on --device cpu records its
device, an absent GPU is a clear error, and 2 gloo processes give the one-process model with
rank 0 alone writing."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from jetviz import checkpoints
from jetviz.errors import JetvizInputError
from jetviz.unfolding.checkpoint import load_cinn
from jetviz.unfolding.flow import CINNConfig
from jetviz.unfolding.training import TrainConfig, train_cinn
from tests.support_device import ABSENT, run_two_processes
from tests.support_unfolding import synthetic_pairs

torch.set_num_threads(1)

CONFIG = TrainConfig(n_test=50, epochs=2, batch_size=64)
MODEL = CINNConfig(transforms=2, hidden=8, context=4)


def _events():
    return synthetic_pairs(300, np.random.default_rng(0))


def test_cinn_trains_on_the_cpu_and_refuses_an_absent_gpu(tmp_path):
    record = train_cinn(_events(), tmp_path / "cpu", CONFIG, MODEL, progress=False,
                        device="cpu")
    assert record["device"] == "cpu" and record["world_size"] == 1
    assert checkpoints.read_config(tmp_path / "cpu", "cinn")["record"]["device"] == "cpu"
    with pytest.raises(JetvizInputError, match="CUDA GPU"):
        train_cinn(_events(), tmp_path / "gpu", CONFIG, MODEL, progress=False, device=ABSENT)
    assert not (tmp_path / "gpu").exists()


def _worker(rank: int, root: str) -> None:
    out = Path(root) / f"out{rank}"  # rank 1 is given its own directory: it must stay empty
    record = train_cinn(_events(), out, CONFIG, MODEL, progress=False, device="cpu")
    (Path(root) / f"rank{rank}.json").write_text(json.dumps(record))


def test_two_gloo_processes_train_the_one_process_cinn_and_rank0_writes(tmp_path):
    run_two_processes(_worker, str(tmp_path))
    assert not (tmp_path / "out1").exists()
    ddp, _ = load_cinn(tmp_path / "out0")
    train_cinn(_events(), tmp_path / "single", CONFIG, MODEL, progress=False, device="cpu")
    single, record = load_cinn(tmp_path / "single")
    # the NLL is a mean over events: the same run up to rounding (and a ragged last batch
    # of 33 events split 17/16, whose two means are averaged), which Adam's normalised
    # steps carry into the weights at the 1e-4 level
    for name, value in single.state_dict().items():
        torch.testing.assert_close(ddp.state_dict()[name], value, rtol=1e-3, atol=1e-3)
    r0, r1 = (json.loads((tmp_path / f"rank{r}.json").read_text()) for r in (0, 1))
    assert r0["world_size"] == 2 and r0["best_epoch"] == r1["best_epoch"]
    for key in ("val_nll", "train_nll"):  # the training NLL: the mean over both shares
        assert [h[key] for h in r0["history"]] == [h[key] for h in r1["history"]]
    assert [h["val_nll"] for h in r0["history"]] == pytest.approx(
        [h["val_nll"] for h in record["history"]], rel=1e-4)


def test_torchrun_runs_the_cli_in_two_processes(tmp_path):
    import os
    import subprocess
    import sys

    from jetviz.unfolding.data import write_pairs

    write_pairs(tmp_path / "pairs.h5", _events())
    out = tmp_path / "cinn"
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone",
               "--nproc_per_node=2", "-m", "jetviz", "unfold", "train", "--data",
               str(tmp_path / "pairs.h5"), "--out", str(out), "--n-test", "50", "--epochs", "1",
               "--batch-size", "64", "--transforms", "2", "--hidden", "8", "--context", "4",
               "--no-progress", "--device", "cpu"]
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2]),
           "OMP_NUM_THREADS": "1"}
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.count("best epoch 1") == 1  # only rank 0 reports
    record = checkpoints.read_config(out, "cinn")["record"]
    assert record["world_size"] == 2 and record["device"] == "cpu"
    assert "--device cpu" in record["commands"][0]
