"""Per-β analysis: D1/D2 on known answers, scans, reconstructions, directions, walks, the toy."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from jetviz.errors import JetvizInputError
from jetviz.paths import CHECKPOINTS
from jetviz.simulation.toys import BANANA_LENGTH, BANANA_THICKNESS, banana
from jetviz.vae.checkpoint import load_checkpoint
from jetviz.vae.inputs import inputs_from_jets
from jetviz.vae.model import BetaVAE, VAEConfig
from jetviz.vae.scan import (
    BetaScan,
    beta_scan,
    dimensionalities,
    jet_observables,
    latent_directions,
    log_beta_grid,
    reconstruct,
    walk,
)
from tests.conftest import make_jetset

torch.set_num_threads(1)

CONFIG = VAEConfig(n_particles_in=12, n_particles_out=8, latent_dim=4, hidden=16, cond_dim=8,
                   beta_min=2.0, beta_max=500.0)


def _model() -> BetaVAE:
    torch.manual_seed(0)
    return BetaVAE(CONFIG).eval()


def test_d1_d2_count_dimensions_of_synthetic_scales():
    # A dimension of extent s costs KL = max(0, log(s/β)) and leaves d² = min(β², s²) of
    # error: D1 = D2 = the number of scales above β (away from the kinks at β = s_i).
    scales = np.array([0.5, 5.0, 50.0])
    log_beta = np.linspace(np.log(0.05), np.log(500.0), 161)
    beta = np.exp(log_beta)
    kl = np.maximum(0.0, np.log(scales[None, :] / beta[:, None]))
    d2 = np.minimum(beta[:, None] ** 2, scales[None, :] ** 2).sum(1)
    d1_est, d2_est = dimensionalities(log_beta, kl, d2)
    expected = (scales[None, :] > beta[:, None]).sum(1)
    away = np.min(np.abs(np.log(beta[:, None] / scales[None, :])), axis=1) > 0.3
    np.testing.assert_allclose(d1_est[away], expected[away], atol=1e-6)
    np.testing.assert_allclose(d2_est[away], expected[away], atol=0.02)  # sums of power laws


def test_dimensionalities_need_a_uniform_grid():
    with pytest.raises(ValueError, match="uniform"):
        dimensionalities(np.array([0.0, 1.0, 3.0]), np.zeros((3, 2)), np.zeros(3))


def test_beta_scan_shapes_round_trip_and_kl_consistency():
    model = _model()
    jets = make_jetset(20, 12, seed=3)
    grid = log_beta_grid(CONFIG, 9)
    steps = []
    scan = beta_scan(model, jets, grid, on_beta=lambda done, total: steps.append((done, total)))
    assert steps == [(k, 9) for k in range(1, 10)]  # progress after every β
    assert scan.kl_per_dim.shape == (9, 4) and scan.d1.shape == (9,) and scan.units == "GeV"
    np.testing.assert_allclose(scan.betas, np.exp(grid))
    assert np.all(scan.kl_per_dim >= 0) and np.all(scan.distance > 0)
    assert np.all(scan.distance2 >= scan.distance**2 * (1 - 1e-9))  # ⟨d²⟩ ≥ ⟨d⟩²
    back = BetaScan.from_dict(scan.to_dict())
    np.testing.assert_array_equal(back.kl_per_dim, scan.kl_per_dim)
    assert back.index_of(float(scan.betas[4]) * 1.01) == 4
    with pytest.raises(JetvizInputError, match="no β scan"):
        BetaScan.from_dict(None)


def test_reconstruct_matches_the_decoder_at_the_latent_means():
    model = _model()
    inputs = inputs_from_jets(make_jetset(10, 12, seed=4), 12)
    recon, mu, _logvar, emd = reconstruct(model, inputs, 30.0)
    assert recon.shape == (10, 8, 3) and mu.shape == (10, 4) and emd.shape == (10,)
    with torch.no_grad():
        direct = model.decode(torch.from_numpy(mu), torch.full((10,), np.log(30.0)))
    np.testing.assert_allclose(recon, direct.numpy(), atol=1e-6)
    assert np.all(emd > 0) and np.all(np.isfinite(emd))
    # A second β reuses the cached β-independent set features and equals a fresh encode.
    _, mu2, logvar2, _ = reconstruct(model, inputs, 300.0)
    with torch.no_grad():
        fresh = model.encode(inputs.x, inputs.mask, torch.full((10,), np.log(300.0)))
    np.testing.assert_allclose(mu2, fresh[0].numpy(), atol=1e-6)
    np.testing.assert_allclose(logvar2, fresh[1].numpy(), atol=1e-6)
    assert len(inputs.cache) == 1
    with pytest.raises(JetvizInputError, match="12 particles"):
        reconstruct(model, make_jetset(5, 8, seed=1), 30.0)  # too few particle slots


def test_latent_directions_and_walk_endpoints():
    model = _model()
    jets = make_jetset(30, 12, seed=5)
    info = latent_directions(model, jets, 20.0)
    assert sorted(info["order"].tolist()) == [0, 1, 2, 3]
    assert np.all(np.diff(info["kl"][info["order"]]) <= 0)  # most informative first
    np.testing.assert_allclose(info["pca"] @ info["pca"].T, np.eye(4), atol=1e-6)
    np.testing.assert_allclose(np.linalg.norm(info["dims"], axis=1), 1.0)
    z0, z1 = info["mu"][0], info["mu"][1]
    path = walk(model, z0, np.array([0.0, 0.5, 1.0]), 20.0, z1=z1)
    assert path.shape == (3, 8, 3)
    with torch.no_grad():
        ends = model.decode(torch.from_numpy(np.stack([z0, z1]).astype(np.float32)),
                            torch.full((2,), np.log(20.0))).numpy()
    np.testing.assert_allclose(path[[0, 2]], ends, atol=1e-6)
    along = walk(model, z0, np.array([-1.0, 1.0]), 20.0, direction=info["dims"][0])
    assert along.shape == (2, 8, 3)
    with pytest.raises(ValueError, match="exactly one"):
        walk(model, z0, np.array([0.0]), 20.0)


def test_observables_of_decoded_jets_are_physical():
    model = _model()
    recon, *_ = reconstruct(model, make_jetset(6, 12, seed=6), 50.0)
    obs = jet_observables(recon, np.full(6, 1000.0), CONFIG.radius)
    assert np.all(obs["mass"] >= 0) and np.all(obs["pt"] <= 1000.0 * (1 + 1e-9))
    assert np.all((obs["tau21"] >= 0) & (obs["tau21"] <= 1 + 1e-9))


BANANA = CHECKPOINTS / "vae_banana"


@pytest.mark.skipif(not (BANANA / "config.json").exists(), reason="toy checkpoint not shipped")
def test_shipped_banana_shows_dimension_plateaus_2_1_0():
    model, _config, record = load_checkpoint(BANANA)
    scan = BetaScan.from_dict(record["scan"])
    beta = scan.betas
    # Plateau windows a factor ≥ 3 away from the scales where D changes (the thickness and
    # the arc's spread L/√12 ≈ 0.87), where the curve is flat; ±0.35 allows the finite
    # network and 2,000-point average (D1 is a derivative of a noisy, learnt KL curve).
    two = beta <= BANANA_THICKNESS / 3
    one = (beta >= 3 * BANANA_THICKNESS) & (beta <= BANANA_LENGTH / np.sqrt(12) / 3)
    zero = beta >= 3 * BANANA_LENGTH
    assert two.sum() >= 3 and one.sum() >= 3 and zero.sum() >= 3
    assert abs(np.median(scan.d1[two]) - 2) < 0.35
    assert abs(np.median(scan.d1[one]) - 1) < 0.35
    assert abs(np.median(scan.d1[zero])) < 0.1
    # The stored scan is what the model gives now (a re-scan of fresh banana points agrees).
    points = banana(1000, np.random.default_rng(7))
    fresh = beta_scan(model, points, np.log(beta[::10]))
    np.testing.assert_allclose(fresh.kl_total, scan.kl_total[::10], rtol=0.1, atol=0.1)
