"""The MSE loss's jet pT and mass terms (talk 001: "MSE + jet pT and mass terms")."""

from __future__ import annotations

import shlex

import pytest
import torch

from jetviz.cli import main as cli_main
from jetviz.errors import JetvizInputError
from jetviz.generation.generators import generator_specs
from jetviz.generation.prior_train import FitConfig, fit_generator_prior
from jetviz.readers.store import write_jets
from jetviz.vae.checkpoint import load_checkpoint
from jetviz.vae.inputs import inputs_from_jets
from jetviz.vae.losses import distance2, jet_pt_mass, mse2
from jetviz.vae.model import VAEConfig
from jetviz.vae.train import TrainConfig, train
from tests.conftest import make_jetset
from tests.support_generation import tiny_gluon_jets

torch.set_num_threads(1)

SMALL = {"n_particles_in": 12, "n_particles_out": 12, "latent_dim": 4, "hidden": 16,
         "cond_dim": 8, "beta_min": 1.0, "beta_max": 500.0, "loss": "mse"}


def _inputs(n: int = 8, seed: int = 0):
    inp = inputs_from_jets(make_jetset(n, 12, seed), 12)
    x = torch.where(inp.mask[..., None], inp.x, torch.zeros_like(inp.x))
    return inp, x


def _scaled(x: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
    """The jets with every particle's angle to the axis times s (wider for s > 1)."""
    return torch.cat([x[..., :1], x[..., 1:] * s], dim=-1)


def test_terms_vanish_for_a_perfect_reconstruction():
    inp, x = _inputs()
    cfg = VAEConfig(**SMALL, mse_pt_weight=1.0, mse_mass_weight=10.0)
    assert torch.all(mse2(inp.x, inp.mask, x, inp.jet_pt, cfg) < 1e-6)


def test_terms_add_the_weighted_jet_pt_and_mass_gaps_in_gev2():
    inp, x = _inputs()
    x_hat = _scaled(x, torch.tensor(0.5))  # a narrower jet: lighter, same slots' pT
    plain = mse2(inp.x, inp.mask, x_hat, inp.jet_pt, VAEConfig(**SMALL))
    with_terms = mse2(inp.x, inp.mask, x_hat, inp.jet_pt,
                      VAEConfig(**SMALL, mse_pt_weight=2.0, mse_mass_weight=10.0))
    pt, m = jet_pt_mass(x)
    pt_hat, m_hat = jet_pt_mass(x_hat)
    gap = 2.0 * (pt - pt_hat).square() + 10.0 * (m - m_hat).square()
    torch.testing.assert_close(with_terms - plain, gap * inp.jet_pt.square(),
                               rtol=1e-4, atol=1e-3)
    assert torch.all(m_hat < m) and torch.all(with_terms > plain)


def test_mass_term_gradient_widens_a_too_narrow_jet():
    inp, x = _inputs()
    cfg = VAEConfig(**SMALL, mse_mass_weight=1.0)
    s = torch.tensor(0.5, requires_grad=True)
    terms = (mse2(inp.x, inp.mask, _scaled(x, s), inp.jet_pt, cfg)
             - mse2(inp.x, inp.mask, _scaled(x, s), inp.jet_pt, VAEConfig(**SMALL)))
    terms.sum().backward()
    assert s.grad is not None and s.grad < 0  # descending the term makes the jet wider


def test_old_configs_load_with_the_terms_off():
    saved = VAEConfig(**SMALL).to_dict()
    del saved["mse_pt_weight"], saved["mse_mass_weight"]  # a config from before the fields
    cfg = VAEConfig.from_dict(saved)
    assert (cfg.mse_pt_weight, cfg.mse_mass_weight) == (0.0, 0.0)
    inp, x = _inputs()
    x_hat = _scaled(x, torch.tensor(0.5))
    plain = (x - x_hat).square()  # slots keep their pT order; only the angles moved
    plain = (plain[..., 0] + plain[..., 1:].sum(-1) / cfg.radius**2).sum(1)
    torch.testing.assert_close(distance2(inp.x, inp.mask, x_hat, inp.jet_pt, cfg),
                               plain * inp.jet_pt.square(), rtol=1e-5, atol=1e-3)


@pytest.mark.parametrize(("kw", "match"), [
    ({"mse_mass_weight": -1.0}, "must be ≥ 0"),
    ({"loss": "chamfer", "mse_mass_weight": 1.0}, "need loss='mse'"),
])
def test_bad_weights_are_refused(kw, match):
    with pytest.raises(JetvizInputError, match=match):
        VAEConfig(**{**SMALL, **kw})


def test_cli_sets_the_weights_and_records_a_command_that_parses_back(tmp_path):
    path = tmp_path / "jets.h5"
    write_jets(path, make_jetset(40, 12, seed=2))
    out = tmp_path / "vae"
    assert cli_main(["train", "--data", str(path), "--out", str(out), "--loss", "mse",
                     "--mse-jet-terms", "1", "10", "--particles", "12", "--latent-dim", "3",
                     "--hidden", "16", "--epochs", "1", "--batch-size", "8",
                     "--scan-points", "3", "--scan-examples", "8", "--no-progress",
                     "--beta-min", "5", "--beta-max", "500"]) == 0
    _model, config, record = load_checkpoint(out)
    assert (config.mse_pt_weight, config.mse_mass_weight) == (1.0, 10.0)
    words = shlex.split(record["command"])
    i = words.index("--mse-jet-terms")
    assert words[i + 1:i + 3] == ["1.0", "10.0"]


def test_a_generator_from_it_is_labelled_with_the_jet_terms(tmp_path):
    jets = tiny_gluon_jets()
    config = VAEConfig(n_particles_in=12, n_particles_out=12, latent_dim=3, hidden=16, depth=2,
                       cond_dim=4, loss="mse", mse_mass_weight=100.0)
    train(config, jets, TrainConfig(epochs=1, batch_size=64, scan_points=1), device="cpu",
          out_dir=tmp_path / "gen_m", provenance={"classes": ["g"], "data_source": "tiny"})
    fit_generator_prior(tmp_path / "gen_m", 10.0, tmp_path / "gen_m", jets=jets, classes=["g"],
                        flow_config={"transforms": 1, "hidden": 8},
                        fit=FitConfig(epochs=1, batch_size=64))
    labels = {s.prior: s.label for s in generator_specs(tmp_path / "gen_m")}
    assert labels["flow"].startswith("g · MSE + jet pT, mass VAE · flow prior")
