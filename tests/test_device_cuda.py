"""Every trainer on a GPU: a tiny run of each with ``device="cuda"`` (float16 autocast where
the trainer uses it) records ``cuda`` and gives finite losses. Runs where CUDA is present;
elsewhere it is skipped and pytest prints the reason (``-rs``)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from jetviz.device import autocast, grad_scaler, resolve_device
from tests.conftest import make_jetset

pytestmark = pytest.mark.skipif(
    not torch.cuda.is_available(),
    reason="no CUDA GPU on this machine: the GPU runs of every trainer are tested where one is")


def test_amp_is_float16_autocast_with_a_scaler_on_cuda():
    device = resolve_device("cuda")
    assert device.type == "cuda" and grad_scaler(device) is not None
    layer = torch.nn.Linear(4, 3).to(device)
    with autocast(device):
        assert layer(torch.randn(2, 4, device=device)).dtype == torch.float16


def test_vae_and_flow_prior_and_mass_mmd(tmp_path):
    from jetviz.generation.mass_mmd import MmdConfig, tune_with_mass_mmd
    from jetviz.generation.prior import FlowPriorConfig
    from jetviz.generation.prior_train import FitConfig, fit_flow_prior
    from jetviz.vae.inputs import inputs_from_jets
    from jetviz.vae.model import VAEConfig
    from jetviz.vae.train import TrainConfig, train
    from tests.support_generation import tiny_gen_root, tiny_gluon_jets

    config = VAEConfig(n_particles_in=12, n_particles_out=8, latent_dim=3, hidden=16,
                       cond_dim=8, beta_min=5.0, beta_max=500.0, loss="chamfer")
    _, record = train(config, inputs_from_jets(make_jetset(40, 12, seed=1), 12),
                      TrainConfig(epochs=1, batch_size=16, scan_points=0), device="cuda")
    assert record["device"].startswith("cuda") and np.isfinite(record["best_val_loss"])
    rng = np.random.default_rng(0)
    _, fit = fit_flow_prior(rng.normal(size=(200, 3)).astype(np.float32),
                            np.full((200, 3), -3.0, np.float32),
                            FlowPriorConfig(features=3, transforms=1, hidden=8),
                            FitConfig(epochs=2, batch_size=64), device="cuda")
    assert fit["device"].startswith("cuda") and np.isfinite(fit["best_val_nll"])
    root = tiny_gen_root(tmp_path)
    tuned = tune_with_mass_mmd(root / "gen_tiny", root / "gen_gpu", jets=tiny_gluon_jets(),
                               config=MmdConfig(steps=2, batch_size=32, latent_pool=64),
                               device="cuda")
    assert tuned["mass_mmd"]["device"].startswith("cuda")


def test_theorymap_jetclr_anomaly_and_unfolding(tmp_path):
    from jetviz import checkpoints
    from jetviz.anomaly.model import AEConfig
    from jetviz.anomaly.train import TrainConfig as AnomalyConfig
    from jetviz.anomaly.train import train as train_anomaly
    from jetviz.jetclr.model import EncoderConfig as JetEncoderConfig
    from jetviz.jetclr.train import TrainConfig as JetclrConfig
    from jetviz.jetclr.train import train as train_jetclr
    from jetviz.theorymap.model import EncoderConfig
    from jetviz.theorymap.sets import prepare_data
    from jetviz.theorymap.train import TrainConfig, train_encoder
    from jetviz.unfolding.flow import CINNConfig
    from jetviz.unfolding.training import TrainConfig as CINNTrainConfig
    from jetviz.unfolding.training import train_cinn
    from tests.support_theorymap import make_events
    from tests.support_unfolding import synthetic_pairs

    data = prepare_data(make_events(60), seed=0)
    _, record = train_encoder(data, EncoderConfig(set_size=4, hidden=16),
                              TrainConfig(steps=3, sets_per_theory=4), device="cuda")
    assert record["device"].startswith("cuda")
    jets = make_jetset(n=64, p=10, seed=6)
    _, record = train_jetclr(jets.particles, jets.mask,
                             JetclrConfig(steps=3, batch_size=16, encoder=JetEncoderConfig(
                                 width=16, layers=1, heads=2, rep_dim=12, proj_dim=8)),
                             jet_pt=jets.jets[:, 0], device="cuda")
    assert record["device"].startswith("cuda") and np.isfinite(record["loss_end"])
    train_anomaly(make_jetset(n=400, p=10, seed=6), tmp_path / "ae",
                  AnomalyConfig(n_train=40, n_val=10, n_select=15, ae_epochs=1, batch_size=16),
                  AEConfig(n_pixels=8, latent_dim=2, channels=(2, 3), hidden=5),
                  progress=False, device="cuda")
    assert checkpoints.read_config(tmp_path / "ae", "anomaly")["record"]["device"] != "cpu"
    record = train_cinn(synthetic_pairs(300, np.random.default_rng(0)), tmp_path / "cinn",
                        CINNTrainConfig(n_test=50, epochs=1, batch_size=64),
                        CINNConfig(transforms=2, hidden=8, context=4), progress=False,
                        device="cuda")
    assert record["device"].startswith("cuda") and np.isfinite(record["best_val_nll"])
