"""Joint (z, log pT) flow prior: fit, save/load round trip, pT range, and a generator whose
jets keep a resonance's mass fixed as pT varies (m/pT anti-correlated with pT, like truth)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.stats import spearmanr

from jetviz import checkpoints
from jetviz.errors import JetvizInputError
from jetviz.generation.checkpoint import load_prior, save_prior
from jetviz.generation.generators import Generator, generator_specs
from jetviz.generation.mass_mmd import MASS_FEATURES, MmdConfig, tune_with_mass_mmd
from jetviz.generation.metrics import feature_set
from jetviz.generation.prior import FlowPrior, FlowPriorConfig
from jetviz.generation.prior_train import FitConfig, fit_flow_prior
from tests.support_generation import RESONANCE_MASS, tiny_resonance_generator

torch.set_num_threads(1)


def _posterior_tied_to_pt(n: int = 600, seed: int = 0):
    """Latents whose first dimension falls with log pT (as a prong distance ∝ 1/pT would)."""
    rng = np.random.default_rng(seed)
    log_pt = rng.uniform(np.log(800.0), np.log(1200.0), n).astype(np.float32)
    mu = rng.normal(0.0, 0.5, (n, 2)).astype(np.float32)
    mu[:, 0] = -8.0 * (log_pt - log_pt.mean()) + rng.normal(0.0, 0.05, n)
    logvar = np.full((n, 2), np.log(0.05**2), dtype=np.float32)
    return mu, logvar, log_pt


@pytest.fixture(scope="module")
def fitted():
    mu, logvar, log_pt = _posterior_tied_to_pt()
    config = FlowPriorConfig(features=2, transforms=2, hidden=32, joint_pt=True)
    prior, record = fit_flow_prior(mu, logvar, config, FitConfig(epochs=40, batch_size=128,
                                                                  patience=40), log_pt=log_pt)
    return prior, record, mu, log_pt


def test_joint_samples_keep_the_correlation_and_the_pt_range(fitted):
    prior, _, _, log_pt = fitted
    z, sampled = prior.sample_joint(2000, torch.Generator().manual_seed(1))
    assert z.shape == (2000, 2) and sampled.shape == (2000,)
    # restricted to the training jets' log-pT range (rows outside are drawn again)
    assert float(sampled.min()) >= log_pt.min() and float(sampled.max()) <= log_pt.max()
    # z_0 = −8 (log pT − mean): the flow draws them together, not independently
    assert np.corrcoef(z[:, 0].numpy(), sampled.numpy())[0, 1] < -0.9
    # the latents alone (what a mass-MMD fine-tuning pool takes) are the same draws
    assert torch.equal(prior.sample(2000, torch.Generator().manual_seed(1)), z)


def test_joint_prior_save_load_round_trip(fitted, tmp_path):
    prior, record, mu, log_pt = fitted
    save_prior(tmp_path / "p", prior, {**record, "beta": 5.0})
    again, rec = load_prior(tmp_path / "p")
    assert again.config.joint_pt and again.config.dims == 3 and rec["beta"] == 5.0
    assert FlowPriorConfig.from_dict(
        checkpoints.read_config(tmp_path / "p", "flow-prior")["config"]) == prior.config
    assert torch.equal(again.log_pt_range, prior.log_pt_range)
    rows = torch.from_numpy(np.concatenate([mu[:50], log_pt[:50, None]], 1))
    with torch.no_grad():
        assert torch.equal(prior.log_prob(rows), again.log_prob(rows))
    a = prior.sample_joint(20, torch.Generator().manual_seed(3))
    b = again.sample_joint(20, torch.Generator().manual_seed(3))
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])


def test_joint_prior_bad_inputs():
    mu, logvar, log_pt = _posterior_tied_to_pt(n=40)
    config = FlowPriorConfig(features=2, joint_pt=True)
    with pytest.raises(JetvizInputError, match="needs the jets' log pT"):
        fit_flow_prior(mu, logvar, config)
    with pytest.raises(JetvizInputError, match="a finite log pT per jet"):
        fit_flow_prior(mu, logvar, config, log_pt=log_pt[:-1])
    with pytest.raises(JetvizInputError, match="latent dimensions and log pT"):
        FlowPrior(config).log_prob(torch.zeros(3, 2))
    # a latent-only prior has no pT to give
    assert FlowPrior(FlowPriorConfig(features=2)).sample_joint(3)[1] is None


@pytest.fixture(scope="module")
def resonance(tmp_path_factory: pytest.TempPathFactory):
    return tiny_resonance_generator(tmp_path_factory.mktemp("resonance"))


def test_joint_generator_keeps_the_resonance_mass_as_pt_varies(resonance):
    gen_dir, jets = resonance
    truth = feature_set(jets.particles, jets.mask, jets.jets[:, 0], jets.radius)
    truth_rho = spearmanr(jets.jets[:, 0], truth.jet["mass_rel"])[0]
    assert truth_rho < -0.95  # m fixed: m/pT ∝ 1/pT
    rho = {}
    for spec in generator_specs(gen_dir):
        gen = Generator(spec)
        sample = gen.sample(1000, seed=0)
        got = feature_set(sample.particles, sample.mask, sample.jet_pt, gen.radius)
        rho[spec.prior] = spearmanr(sample.jet_pt, got.jet["mass_rel"])[0]
        log_pt = np.log(sample.jet_pt)
        assert log_pt.min() >= np.log(jets.jets[:, 0].min()) - 1e-5
        assert log_pt.max() <= np.log(jets.jets[:, 0].max()) + 1e-5
        if spec.prior == "flow":
            assert gen.joint_pt
            # the mass stays near the resonance's at every pT (not m/pT · an unrelated pT)
            assert abs(spearmanr(sample.jet_pt, got.jet["mass"])[0]) < 0.3
            assert abs(np.median(got.jet["mass"]) - RESONANCE_MASS) < 15.0
    # the Gaussian generator draws pT from the quantiles, independent of the shape
    assert abs(rho["gaussian"]) < 0.15
    assert rho["flow"] < -0.8


def test_mass_mmd_with_a_joint_prior_compares_masses_in_gev(resonance, tmp_path):
    gen_dir, jets = resonance
    config = MmdConfig(steps=4, batch_size=32, latent_pool=64, kernel_widths=(0.01, 0.1))
    record = tune_with_mass_mmd(gen_dir, tmp_path / "gen_res_mmd", jets=jets, config=config)
    run = record["mass_mmd"]
    assert run["mass_feature"] == MASS_FEATURES[True] and run["kernel_widths"] == [0.01, 0.1]
    # the GeV masses are scaled by the training jets' median pT (the VAE's training split)
    assert 500.0 < run["pt_reference"] < 1500.0
    tuned = Generator(next(s for s in generator_specs(tmp_path / "gen_res_mmd")
                           if s.prior == "flow"))
    assert tuned.joint_pt and tuned.spec.loss.endswith("+mmd")
    with pytest.raises(JetvizInputError, match="kernel widths"):
        MmdConfig(kernel_widths=(0.01, 0.0))


def test_a_second_energy_distance_stage_keeps_the_first_stage_in_the_record(resonance, tmp_path):
    gen_dir, jets = resonance
    first = MmdConfig(steps=2, batch_size=32, latent_pool=64)
    tune_with_mass_mmd(gen_dir, tmp_path / "stage1", jets=jets, config=first,
                       provenance={"command": "stage 1"})
    second = MmdConfig(steps=2, batch_size=32, latent_pool=64, kernel="energy", weight=1e5)
    record = tune_with_mass_mmd(tmp_path / "stage1", tmp_path / "stage2", jets=jets,
                                config=second, provenance={"command": "stage 2"})
    assert record["command"] == "stage 2" and record["mass_mmd"]["mmd_config"]["kernel"] == "energy"
    assert [e["command"] for e in record["earlier_tunings"]] == ["stage 1"]
    assert record["earlier_tunings"][0]["mass_mmd"]["mmd_config"]["kernel"] == "gaussian"
    assert np.isfinite(record["mass_mmd"]["curves_per_50_steps"]["mmd2"]).all()
    # the copied flow still names the command that fitted it, not the first tuning
    _, first_flow = load_prior(tmp_path / "stage1" / "flow")
    _, flow = load_prior(tmp_path / "stage2" / "flow")
    assert flow["command"] == "stage 2"
    assert flow.get("prior_command") == first_flow.get("prior_command") != "stage 1"
