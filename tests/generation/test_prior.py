"""Flow prior: fit, likelihood, sampling, save/load round trip, bad files."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from jetviz import checkpoints
from jetviz.errors import JetvizInputError
from jetviz.generation.checkpoint import load_prior, prior_record, save_prior
from jetviz.generation.prior import FlowPrior, FlowPriorConfig, gaussian_log_prob
from jetviz.generation.prior_train import FitConfig, fit_flow_prior

torch.set_num_threads(1)


def _bimodal_posterior(n: int = 600, d: int = 3, seed: int = 0):
    """Posteriors whose aggregate is two well separated clusters (far from N(0, 1))."""
    rng = np.random.default_rng(seed)
    centre = np.where(rng.random(n) < 0.5, -3.0, 3.0)
    mu = np.zeros((n, d), dtype=np.float32)
    mu[:, 0] = centre + rng.normal(0, 0.1, n)
    mu[:, 1:] = rng.normal(0, 0.5, (n, d - 1))
    logvar = np.full((n, d), np.log(0.05**2), dtype=np.float32)
    return mu, logvar


@pytest.fixture(scope="module")
def fitted():
    mu, logvar = _bimodal_posterior()
    config = FlowPriorConfig(features=3, transforms=2, hidden=32)
    prior, record = fit_flow_prior(mu, logvar, config, FitConfig(epochs=40, batch_size=128,
                                                                  patience=40))
    return prior, record, mu


def test_flow_beats_gaussian_on_a_bimodal_aggregate_posterior(fitted):
    _, record, _ = fitted
    assert np.isfinite(record["best_val_nll"])
    # N(0,1) cannot describe clusters at ±3: the flow's NLL must be far lower
    assert record["best_val_nll"] < record["val_nll_gaussian"] - 1.0


def test_samples_have_latent_shape_and_follow_the_modes(fitted):
    prior, _, _ = fitted
    z = prior.sample(400, torch.Generator().manual_seed(1))
    assert z.shape == (400, 3)
    assert torch.isfinite(z).all()
    # the two clusters: most samples near ±3 in dimension 0, both populated
    near = (z[:, 0].abs() - 3).abs() < 1.0
    assert near.float().mean() > 0.8
    assert 0.25 < (z[:, 0] > 0).float().mean() < 0.75
    # a seed fixes the sample
    again = prior.sample(400, torch.Generator().manual_seed(1))
    assert torch.equal(z, again)


def test_log_prob_finite_and_normalised_in_one_dimension():
    torch.manual_seed(0)
    prior = FlowPrior(FlowPriorConfig(features=1, transforms=2, hidden=8)).eval()
    prior.scale.fill_(2.0)
    grid = torch.linspace(-25, 25, 20001).unsqueeze(1)
    with torch.no_grad():
        p = prior.log_prob(grid).exp()
    assert torch.isfinite(p).all()
    assert float(torch.trapezoid(p, grid[:, 0])) == pytest.approx(1.0, abs=2e-3)


def test_save_load_round_trip_identical_log_prob(fitted, tmp_path):
    prior, record, mu = fitted
    save_prior(tmp_path / "p", prior, {**record, "beta": 10.0})
    again, rec = load_prior(tmp_path / "p")
    z = torch.from_numpy(mu[:50])
    with torch.no_grad():
        assert torch.equal(prior.log_prob(z), again.log_prob(z))
    assert rec["beta"] == 10.0 and prior_record(tmp_path / "p")["beta"] == 10.0
    # the one checkpoint format: a "flow-prior" with its config
    payload = checkpoints.read_config(tmp_path / "p", "flow-prior")
    assert FlowPriorConfig.from_dict(payload["config"]) == prior.config
    gen = torch.Generator()
    assert torch.equal(prior.sample(5, gen.manual_seed(3)), again.sample(5, gen.manual_seed(3)))


def test_gaussian_log_prob_matches_torch():
    z = torch.randn(7, 4, generator=torch.Generator().manual_seed(0))
    ref = torch.distributions.Normal(0.0, 1.0).log_prob(z).sum(-1)
    assert torch.allclose(gaussian_log_prob(z), ref, atol=1e-6)


def test_bad_inputs_and_files(tmp_path):
    prior = FlowPrior(FlowPriorConfig(features=2))
    with pytest.raises(JetvizInputError, match="2 latent dimensions"):
        prior.log_prob(torch.zeros(3, 5))
    with pytest.raises(JetvizInputError, match="kind"):
        FlowPriorConfig(features=2, kind="glow")
    with pytest.raises(JetvizInputError, match="not a 'flow-prior' checkpoint"):
        load_prior(tmp_path)
    (tmp_path / "config.json").write_text("{not json")
    with pytest.raises(JetvizInputError, match="not valid JSON"):
        load_prior(tmp_path)
    checkpoints.save(tmp_path / "vae", "vae", config={}, record={})
    with pytest.raises(JetvizInputError, match="'vae' checkpoint"):
        load_prior(tmp_path / "vae")
    with pytest.raises(JetvizInputError, match="expected mu and logvar"):
        fit_flow_prior(np.zeros((10, 3)), np.zeros((10, 3)), FlowPriorConfig(features=2))


@pytest.mark.parametrize("kind", ["nsf", "maf"])
def test_coupling_flow_samples_invert_its_density(kind):
    # passes=2 (coupling): sampling is the inverse of the density's transform, so mapping
    # samples back gives the base noise again
    torch.manual_seed(0)
    prior = FlowPrior(FlowPriorConfig(features=4, kind=kind, transforms=3, hidden=16,
                                      passes=2)).eval()
    eps = torch.randn(256, 4, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        z = prior.flow().transform.inv(eps)
        back = prior.flow().transform(z)
        assert torch.isfinite(prior.log_prob(z)).all()
    torch.testing.assert_close(back, eps, rtol=1e-4, atol=1e-4)
    with pytest.raises(JetvizInputError, match="passes"):
        FlowPriorConfig(features=4, passes=0)
