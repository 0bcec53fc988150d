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
