"""How far D1/D2 can be trusted: bootstrap bands, the reconstruction floor, redundant directions."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from jetviz.figures.beta import dimensionality_figure
from jetviz.paths import CHECKPOINTS
from jetviz.simulation.toys import banana
from jetviz.vae.dimensionality import (
    bootstrap_bands,
    dimensionalities,
    independent_directions,
    reconstruction_floor,
)
from jetviz.vae.model import PointVAE, VAEConfig
from jetviz.vae.scan import BetaScan, beta_scan, log_beta_grid

torch.set_num_threads(1)


def _scales_scan(n: int, noise: float, rng: np.random.Generator):
    """Per-example KL and d² of examples with two feature scales (1 and 30), plus noise.

    A feature of extent s costs KL = max(0, log(s/β)): D1 = the number of scales above β.
    """
    log_beta = np.linspace(np.log(0.05), np.log(500.0), 61)
    beta = np.exp(log_beta)
    scales = np.array([1.0, 30.0])
    kl = np.maximum(0.0, np.log(scales[None, :] / beta[:, None])).sum(1)  # (n_beta,)
    d2 = np.minimum(beta[:, None] ** 2, scales[None, :] ** 2).sum(1)
    jitter = 1.0 + noise * rng.standard_normal((1, n))
    return log_beta, kl[:, None] * jitter, d2[:, None] * jitter


def test_bootstrap_band_brackets_the_estimate_and_narrows_with_more_examples():
    rng = np.random.default_rng(0)
    widths = []
    for n in (50, 2000):
        log_beta, kl, d2 = _scales_scan(n, 0.3, rng)
        d1, _ = dimensionalities(log_beta, kl.mean(1, keepdims=True), d2.mean(1))
        bands = bootstrap_bands(log_beta, kl, d2, np.random.default_rng(1), n_boot=100)
        inside = (bands["d1_lo"] - 1e-9 <= d1) & (d1 <= bands["d1_hi"] + 1e-9)
        assert inside.mean() > 0.9
        beta = np.exp(log_beta)
        plateau = (beta > 2.0) & (beta < 15.0)  # one scale above β: D1 = 1
        np.testing.assert_allclose(d1[plateau], 1.0, atol=0.35)
        widths.append(np.median(bands["d1_hi"] - bands["d1_lo"]))
    assert widths[1] < widths[0] / 3  # ∝ 1/√N: 50 → 2000 examples narrows it ≈ 6×


def test_bootstrap_band_is_zero_width_for_identical_examples():
    log_beta, kl, d2 = _scales_scan(40, 0.0, np.random.default_rng(0))
    bands = bootstrap_bands(log_beta, kl, d2, np.random.default_rng(2), n_boot=20)
    np.testing.assert_allclose(bands["d1_hi"], bands["d1_lo"], atol=1e-9)


def test_bootstrap_bands_reject_mismatched_shapes():
    with pytest.raises(ValueError, match="n_beta"):
        bootstrap_bands(np.linspace(0, 1, 5), np.zeros((5, 3)), np.zeros((4, 3)),
                        np.random.default_rng(0))


def test_copies_of_one_feature_are_one_direction_and_inactive_dims_are_left_out():
    rng = np.random.default_rng(3)
    a, b = rng.standard_normal(500), rng.standard_normal(500)
    mu = np.stack([a, np.tanh(2 * a) + 0.01 * rng.standard_normal(500),  # a copy of a
                   b, -b**3,  # a monotonic copy of b (ρ = −1)
                   rng.standard_normal(500)], axis=1)  # independent but inactive
    kl = np.array([2.0, 1.0, 1.5, 0.5, 0.01])
    groups = independent_directions(mu, kl)
    assert groups == [[0, 1], [2, 3]]  # largest total KL first; dimension 4 is inactive


def test_independent_features_stay_apart():
    mu = np.random.default_rng(4).standard_normal((400, 3))
    assert independent_directions(mu, np.ones(3)) == [[0], [1], [2]]
    assert independent_directions(mu, np.zeros(3)) == []


def test_reconstruction_floor_is_the_best_distance_and_rejects_nothing_finite():
    assert reconstruction_floor(np.array([3.0, 1.5, np.nan, 2.0])) == 1.5
    with pytest.raises(ValueError, match="finite"):
        reconstruction_floor(np.array([np.nan]))


def _toy_scan() -> tuple[BetaScan, VAEConfig]:
    config = VAEConfig(data="banana", latent_dim=3, hidden=16, cond_dim=8, beta_min=0.01,
                       beta_max=10.0, loss="euclidean")
    torch.manual_seed(0)
    model = PointVAE(config).eval()
    points = banana(200, np.random.default_rng(0))
    return beta_scan(model, points, log_beta_grid(config, 9), seed=1), config


def test_beta_scan_stores_bands_floor_and_directions_and_round_trips():
    scan, config = _toy_scan()
    assert scan.has_bands
    assert np.all(scan.d1_lo <= scan.d1_hi)
    assert scan.n_directions.min() >= 0 and scan.n_directions.max() <= config.latent_dim
    assert np.all(scan.n_directions <= scan.n_active)
    # The floor is an exact mean distance at z = μ, never below zero and at most the worst
    # grid point's mean distance.
    assert 0 < scan.floor <= scan.distance_at_mean.max() + 1e-9
    again = BetaScan.from_dict(scan.to_dict())
    np.testing.assert_array_equal(again.d1_hi, scan.d1_hi)
    assert again.floor == scan.floor


def test_a_scan_stored_before_the_bands_still_loads():
    scan, _ = _toy_scan()
    old = {k: v for k, v in scan.to_dict().items()
           if k not in ("d1_lo", "d1_hi", "d2_lo", "d2_hi", "floor", "n_active", "n_directions")}
    loaded = BetaScan.from_dict(old)
    assert not loaded.has_bands
    np.testing.assert_array_equal(loaded.d1, scan.d1)


def test_dimensionality_figure_draws_bands_floor_and_directions():
    scan, _ = _toy_scan()
    diag = {k: getattr(scan, k) for k in ("d1_lo", "d1_hi", "d2_lo", "d2_hi", "floor",
                                          "n_directions")}
    diag["floor"] = float(scan.betas[3])  # a floor inside the grid is shaded
    fig = dimensionality_figure(scan.betas, scan.d1, scan.d2, float(scan.betas[4]), "data units",
                                diagnostics=diag)
    names = [t.name or "" for t in fig.data]
    assert any("D1 16–84 %" in n for n in names)
    assert any("distinct active directions" in n for n in names)
    shapes = fig.layout.shapes
    assert len(shapes) == 1 and shapes[0].x1 == pytest.approx(diag["floor"])
    plain = dimensionality_figure(scan.betas, scan.d1, scan.d2, float(scan.betas[4]))
    assert not plain.layout.shapes and len(plain.data) < len(fig.data)


SHIPPED = sorted(p.parent for p in CHECKPOINTS.glob("vae_*/config.json"))


@pytest.mark.parametrize("model", SHIPPED, ids=lambda p: p.name)
def test_shipped_scans_hold_the_invariants_above_their_floor(model):
    # An optimal β-VAE's rate cannot grow with β and a dimension count lies in [0, D]. Below
    # the reconstruction floor δ the decoder, not the data, sets D1 (the page greys it out),
    # so the invariants are asked of β ≥ δ, each within the bootstrap band and a 0.1 noise.
    payload = json.loads((model / "config.json").read_text())
    scan = BetaScan.from_dict(payload["record"]["scan"])
    assert scan.has_bands, f"{model.name}: rescan it (jetviz train … --rescan)"
    keep = scan.betas >= scan.floor
    assert keep.sum() >= 10, f"{model.name}: the floor leaves too few β to read"
    assert np.diff(scan.kl_total[keep]).max() <= 0.02
    assert scan.d1_hi[keep].min() >= -0.1
    assert scan.d1_lo[keep].max() <= payload["config"]["latent_dim"]
    assert scan.d2_hi[keep].min() >= -0.1
    assert np.all(scan.n_directions <= scan.n_active)
