"""The anomaly AE on the one training path (jetviz.device): a tiny run on --device cpu
records its device in the checkpoint and an absent GPU is a clear error, nothing written."""

from __future__ import annotations

import pytest
import torch

from jetviz import checkpoints
from jetviz.anomaly.model import AEConfig
from jetviz.anomaly.train import TrainConfig, train
from jetviz.errors import JetvizInputError
from tests.conftest import make_jetset
from tests.support_device import ABSENT

torch.set_num_threads(1)

TINY = AEConfig(n_pixels=8, latent_dim=2, channels=(2, 3), hidden=5, spectral_norm=False)
CONFIG = TrainConfig(background="qcd", method="ae", n_train=40, n_val=10, n_select=15,
                     ae_epochs=1, batch_size=16, seed=3)


def test_ae_trains_on_the_cpu_and_refuses_an_absent_gpu(tmp_path):
    jets = make_jetset(n=400, p=10, seed=6)
    train(jets, tmp_path / "ae", CONFIG, TINY, command="test", progress=False, device="cpu")
    record = checkpoints.read_config(tmp_path / "ae", "anomaly")["record"]
    assert record["device"] == "cpu" and record["world_size"] == 1
    assert record["ae_history"][0]["epoch"] == 1
    with pytest.raises(JetvizInputError, match="CUDA GPU"):
        train(jets, tmp_path / "gpu", CONFIG, TINY, progress=False, device=ABSENT)
    assert not (tmp_path / "gpu").exists()


def _worker(rank: int, root: str) -> None:
    torch.manual_seed(0)  # the initial weights (rank 0's are broadcast anyway)
    train(make_jetset(n=400, p=10, seed=6), f"{root}/ddp", CONFIG, TINY, command="ddp",
          progress=False, device="cpu")


def test_two_gloo_processes_train_the_one_process_ae(tmp_path):
    from jetviz.anomaly import checkpoint as ckpt
    from tests.support_device import run_two_processes

    run_two_processes(_worker, str(tmp_path))
    torch.manual_seed(0)
    train(make_jetset(n=400, p=10, seed=6), tmp_path / "single", CONFIG, TINY, command="one",
          progress=False, device="cpu")
    ddp, _, record = ckpt.load(tmp_path / "ddp", "cpu")
    single, _, one = ckpt.load(tmp_path / "single", "cpu")
    assert record["world_size"] == 2 and one["world_size"] == 1
    # the energy is a mean over images and every batch of 16 splits 8/8: the same AE
    for name, value in single.state_dict().items():
        torch.testing.assert_close(ddp.state_dict()[name], value, rtol=1e-4, atol=1e-5)
    assert record["ae_history"][0]["val_energy"] == pytest.approx(
        one["ae_history"][0]["val_energy"], rel=1e-4)
    assert record["evaluation"]["signals"].keys() == one["evaluation"]["signals"].keys()
