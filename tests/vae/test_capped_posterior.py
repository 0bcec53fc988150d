"""The capped posterior (VAEConfig.capped_posterior, jetviz.vae.model.posterior)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from jetviz.cli import main as cli_main
from jetviz.simulation.toys import strip
from jetviz.vae.checkpoint import load_checkpoint
from jetviz.vae.layers import CAP_SHARPNESS, posterior
from jetviz.vae.model import VAEConfig, build_model

CAPPED = VAEConfig(data="points", loss="euclidean", latent_dim=3, capped_posterior=True)


def _kl(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    return 0.5 * (mu.square() + logvar.exp() - 1 - logvar).sum(-1)


def test_plain_posterior_is_the_network_output():
    out = torch.randn(5, 6, generator=torch.Generator().manual_seed(0))
    mu, logvar = posterior(out, False)
    torch.testing.assert_close(torch.cat([mu, logvar], -1), out)


def test_capped_sigma_is_at_most_one_and_mu_shrinks_with_it():
    g = torch.Generator().manual_seed(1)
    out = torch.cat([10 * torch.randn(200, 3, generator=g), 5 * torch.randn(200, 3, generator=g)],
                    -1)
    mu, logvar = posterior(out, True)
    assert (logvar <= 0).all()
    assert (mu.abs() <= out[:, :3].abs()).all()
    torch.testing.assert_close(mu.square(), -torch.expm1(logvar) * out[:, :3].square())


def test_a_positive_r_shuts_the_direction_whatever_m_is():
    m = torch.tensor([[-50.0, 0.3, 80.0]], dtype=torch.float64)
    for r in (2.0, 5.0):  # KL ≤ ½(−log σ²)·Σ m² + O(log² σ²), −log σ² ≤ exp(−k r)/k
        mu, logvar = posterior(torch.cat([m, torch.full((1, 3), r, dtype=m.dtype)], -1), True)
        bound = math.exp(-CAP_SHARPNESS * r) / CAP_SHARPNESS * float(m.square().sum())
        assert 0 < float(_kl(mu, logvar)) <= bound
    assert bound < 1e-5  # r = 5: shut, though |m| is 80
    mu, logvar = posterior(torch.cat([m, torch.full_like(m, -8.0)], -1), True)  # r ≪ 0
    torch.testing.assert_close(mu, m, rtol=1e-3, atol=0)
    torch.testing.assert_close(logvar, torch.full_like(m, -8.0), rtol=1e-3, atol=0)


@pytest.mark.parametrize("ratio", [0.05, 0.3, 0.7])
def test_the_linear_optimum_is_smooth_in_log_beta(ratio):
    """Data of unit spread s = 1 along a direction, β = ratio·s: m = x, r = 2 log β gives
    the β-VAE optimum KL = log(s/β) (σ² = β²/s², ⟨μ²⟩ = 1 − σ²) within the softplus's bend."""
    x = torch.randn(20_000, 1, generator=torch.Generator().manual_seed(2))
    r = torch.full_like(x, 2 * math.log(ratio))
    mu, logvar = posterior(torch.cat([x, r], -1), True)
    kl = float(_kl(mu, logvar).mean())
    bend = math.log1p(math.exp(CAP_SHARPNESS * 2 * math.log(ratio))) / CAP_SHARPNESS / 2
    assert kl == pytest.approx(-math.log(ratio) - bend, abs=0.03)
    assert float(mu.square().mean() + logvar.exp().mean()) == pytest.approx(1.0, abs=0.03)


def test_old_configs_read_as_plain_and_the_cli_keeps_points_plain(tmp_path):
    values = CAPPED.to_dict()
    del values["capped_posterior"]
    assert not VAEConfig.from_dict(values).capped_posterior
    np.save(tmp_path / "a.npy", strip(200, np.random.default_rng(3)))
    base = ["train", "--data", str(tmp_path / "a.npy"), "--latent-dim", "2", "--hidden", "8",
            "--epochs", "1", "--scan-points", "0", "--no-progress", "--device", "cpu"]
    assert cli_main([*base, "--out", str(tmp_path / "plain")]) == 0
    assert cli_main([*base, "--out", str(tmp_path / "capped"), "--capped-posterior"]) == 0
    assert not load_checkpoint(tmp_path / "plain")[1].capped_posterior
    model, config, _ = load_checkpoint(tmp_path / "capped")
    assert config.capped_posterior
    mu, logvar = model.encode(torch.zeros(4, 2), None, torch.zeros(4))
    assert (logvar <= 0).all() and torch.isfinite(mu).all()


def test_capped_model_gradients_stay_finite_where_the_direction_is_shut():
    torch.manual_seed(0)
    model = build_model(CAPPED)
    with torch.no_grad():  # push r far past 0: σ → 1 exactly in float32
        model.encoder.out.bias[3:] = 40.0
    x = torch.randn(16, 2)
    mu, logvar = model.encode(x, None, torch.zeros(16))
    _kl(mu, logvar).sum().backward()
    assert all(torch.isfinite(p.grad).all() for p in model.parameters() if p.grad is not None)
