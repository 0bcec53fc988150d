"""jetviz.vae.explore: the walk geometry, the β grid arithmetic and decoding along a walk."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from jetviz.simulation.toys import banana
from jetviz.vae import explore
from jetviz.vae.model import PointVAE, VAEConfig
from jetviz.vae.scan import prepare


@pytest.fixture(scope="module")
def toy():
    """An untrained point VAE (its decoder is still a function of z) and a reconstruction."""
    config = VAEConfig(data="banana", latent_dim=3, hidden=16, cond_dim=8, beta_min=0.01,
                       beta_max=10.0, loss="euclidean")
    torch.manual_seed(0)
    model = PointVAE(config).eval()
    inputs = prepare(model, banana(20, np.random.default_rng(0)))
    with torch.no_grad():
        rec = explore.reconstruct_sample(model, inputs, 0.5)
    return model, inputs, rec


def test_walk_geometry_of_each_kind():
    mu = np.arange(12.0).reshape(4, 3)
    positions, target, title = explore.walk_geometry("dimension", 2, 0, mu)
    assert len(positions) == explore.WALK_STEPS and positions[0] == -positions[-1] == -3.0
    np.testing.assert_array_equal(target, [0, 0, 1])
    assert "z2" in title
    positions, target, title = explore.walk_geometry("line", 3, 1, mu)
    assert (positions[0], positions[-1], len(positions)) == (0.0, 1.0, explore.LINE_STEPS)
    np.testing.assert_array_equal(target, mu[3])
    assert "jet 1" in title and "jet 3" in title
    pca = np.eye(3)[::-1]
    _, target, _ = explore.walk_geometry("principal", 0, 0, mu, pca)
    np.testing.assert_array_equal(target, [0, 0, 1])
    with pytest.raises(ValueError, match="needs the directions"):
        explore.walk_geometry("principal", 0, 0, mu)
    with pytest.raises(ValueError, match="walk kind"):
        explore.walk_geometry("spiral", 0, 0, mu)


def test_grid_index_and_kl_interpolation_in_log_beta():
    betas = np.geomspace(1.0, 1000.0, 7)
    assert explore.grid_index(betas, 31.0) == 3  # 31.6 is the grid point
    assert explore.grid_index(betas, None) == 3 and explore.grid_index(betas, -1.0) == 3
    kl = np.stack([np.log(betas), 2 * np.log(betas)], 1)  # linear in log β
    np.testing.assert_allclose(explore.kl_at_beta(betas, kl, 100.0), [np.log(100), 2 * np.log(100)])
    np.testing.assert_allclose(explore.kl_at_beta(betas, kl, 1e6), kl[-1])  # clipped to the grid
    assert explore.dimensions_by_kl(np.array([0.1, 2.0, 0.1, 5.0])) == [3, 1, 0, 2]


def test_a_walk_passes_through_the_reconstructions(toy):
    model, _, rec = toy
    with torch.no_grad():
        along = explore.decode_walk(model, rec, 4, 0.5, "dimension", 1)
        line = explore.decode_walk(model, rec, 4, 0.5, "line", 7)
    middle = int(np.argmin(np.abs(along.positions)))
    assert along.positions[middle] == 0.0
    # position 0 is the start's own reconstruction at z = μ; the line ends at the other's
    np.testing.assert_allclose(along.jets[middle], rec.recon[4], atol=1e-5)
    np.testing.assert_allclose(line.jets[0], rec.recon[4], atol=1e-5)
    np.testing.assert_allclose(line.jets[-1], rec.recon[7], atol=1e-5)
    assert along.start_index == middle and line.start_index == 0
    assert set(along.observables) == {"x1", "x2"}
    np.testing.assert_allclose(along.observables["x1"], along.jets[:, 0])


def test_reconstruction_takes_a_stored_distance_and_says_so(toy):
    model, inputs, rec = toy
    assert rec.distance_source == explore.EUCLIDEAN
    np.testing.assert_allclose(rec.distance, np.linalg.norm(rec.recon - rec.originals, axis=1),
                               rtol=1e-4, atol=1e-6)
    stored = np.full(len(rec.mu), 7.0)
    with torch.no_grad():
        looked_up = explore.reconstruct_sample(model, inputs, 0.5, stored)
    assert looked_up.distance_source == explore.STORED_EMD
    np.testing.assert_array_equal(looked_up.distance, stored)
    np.testing.assert_allclose(looked_up.recon, rec.recon, atol=1e-6)


def test_one_thread_restores_the_thread_count():
    before = torch.get_num_threads()
    with explore.one_thread():
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before


def _scan(**diagnostics) -> explore.Scan:
    betas = np.geomspace(0.01, 100.0, 41)
    d1 = (betas < 1.0).astype(float) + (betas < 10.0)  # the true count of two scales, 1 and 10
    return explore.Scan(betas, np.zeros((41, 2)), np.zeros(41), d1, d1, diagnostics)


def test_dimensionality_note_names_the_floor_and_the_copies():
    assert "predates" in explore.dimensionality_note(_scan(), 1.0, "GeV")
    n = np.full(41, 3)
    note = explore.dimensionality_note(_scan(floor=0.1, n_active=n, n_directions=n - 1), 0.05,
                                       "GeV")
    assert "δ = 0.1 GeV" in note and "1 are copies" in note and "upper bound" in note
    assert "upper bound" not in explore.dimensionality_note(_scan(floor=0.1), 5.0, "GeV")


def test_plateau_rows_check_d1_against_the_known_scales():
    scan = _scan()
    rows = explore.plateau_rows({"scan": {"betas": scan.betas, "d1": scan.d1}},
                                {"thickness": 1.0, "length": 10.0})
    assert [r["true count"] for r in rows[:3]] == ["2", "1", "0"]
    assert all(r["goal met"] == "yes" for r in rows)  # D1 is the true count
