"""The β-VAE on the one training path (jetviz.device): a tiny run on --device cpu records
its device and an absent GPU is a clear error (its DDP test is in test_train.py)."""

from __future__ import annotations

import pytest
import torch

from jetviz.errors import JetvizInputError
from jetviz.vae.inputs import inputs_from_jets
from jetviz.vae.model import VAEConfig
from jetviz.vae.train import TrainConfig, train
from tests.conftest import make_jetset
from tests.support_device import ABSENT

torch.set_num_threads(1)

CONFIG = VAEConfig(n_particles_in=12, n_particles_out=8, latent_dim=3, hidden=16, cond_dim=8,
                   beta_min=5.0, beta_max=500.0, loss="chamfer")
TRAIN = TrainConfig(epochs=1, batch_size=16, kl_warmup_epochs=1, scan_points=0, seed=3)


def test_vae_trains_on_the_cpu_and_refuses_an_absent_gpu(tmp_path):
    data = inputs_from_jets(make_jetset(40, 12, seed=1), 12)
    model, record = train(CONFIG, data, TRAIN, out_dir=tmp_path / "vae", device="cpu")
    assert record["device"] == "cpu" and record["world_size"] == 1
    assert all(p.device.type == "cpu" for p in model.parameters())
    with pytest.raises(JetvizInputError, match="CUDA GPU"):
        train(CONFIG, data, TRAIN, out_dir=tmp_path / "gpu", device=ABSENT)
    assert not (tmp_path / "gpu").exists()
