"""The mass-MMD fine-tuning of a generator's decoder (talk 004): the MMD estimator, the
relative mass, and a short real fine-tuning run on the tiny generator."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from jetviz.errors import JetvizInputError
from jetviz.generation.generators import Generator, list_generators
from jetviz.generation.mass_mmd import MmdConfig, mmd2_unbiased, relative_mass, tune_with_mass_mmd
from jetviz.vae.model import log_beta_column
from tests.support_generation import tiny_gen_root, tiny_gluon_jets

torch.set_num_threads(1)


def test_mmd_is_zero_for_one_distribution_and_grows_with_a_shift() -> None:
    g = torch.Generator().manual_seed(0)
    a = 0.1 + 0.02 * torch.randn(2000, generator=g)
    b = 0.1 + 0.02 * torch.randn(2000, generator=g)
    shifted = (b + 0.02).requires_grad_(True)
    same, apart = mmd2_unbiased(a, b), mmd2_unbiased(a, shifted)
    assert abs(float(same)) < 2e-3
    assert float(apart.detach()) > 20 * abs(float(same))
    apart.backward()
    assert torch.isfinite(shifted.grad).all() and shifted.grad.abs().sum() > 0


def test_energy_distance_of_two_points_is_twice_their_gap_and_zero_for_one_sample() -> None:
    # E = 2⟨|x − y|⟩ − ⟨|x − x'|⟩ − ⟨|y − y'|⟩: constant samples at 0 and c give 2|c|
    x, y = torch.zeros(5, dtype=torch.float64), torch.full((7,), 0.3, dtype=torch.float64)
    assert float(mmd2_unbiased(x, y, kernel_name="energy")) == pytest.approx(0.6)
    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(3000, generator=g), torch.randn(3000, generator=g)
    assert abs(float(mmd2_unbiased(a, b, kernel_name="energy"))) < 5e-3
    # = 2 ∫ (F_a − F_b)² dt, the gradient pushes every generated value towards the truth's CDF
    far = (b + 3.0).requires_grad_(True)
    mmd2_unbiased(far, a, kernel_name="energy").backward()
    assert (far.grad > 0).float().mean() > 0.99  # descending the gradient lowers them all


def test_mmd_rejects_bad_samples() -> None:
    with pytest.raises(JetvizInputError, match="1-D samples"):
        mmd2_unbiased(torch.zeros(4, 2), torch.zeros(4))
    with pytest.raises(JetvizInputError, match="≥ 2"):
        mmd2_unbiased(torch.zeros(1), torch.zeros(4))
    with pytest.raises(JetvizInputError, match="kernel must be one of"):
        mmd2_unbiased(torch.zeros(4), torch.zeros(4), kernel_name="laplace")
    with pytest.raises(JetvizInputError, match="kernel must be one of"):
        MmdConfig(kernel="laplace")


def test_relative_mass_of_two_particles_by_hand() -> None:
    # m² = 2 pT1 pT2 (cosh Δη − cos Δφ) for massless particles; here in units of Σ pT
    jet = torch.tensor([[[0.5, 0.0, 0.1], [0.5, 0.0, -0.1], [0.0, 0.0, 0.0]]],
                       dtype=torch.float64)
    expected = math.sqrt(2 * 0.25 * (1 - math.cos(0.2)))
    assert float(relative_mass(jet)[0]) == pytest.approx(expected, rel=1e-6)
    single = torch.tensor([[[1.0, 0.3, -0.2]]], dtype=torch.float64)
    assert float(relative_mass(single)[0]) < 1e-5


def test_finetuning_moves_generated_masses_and_only_the_decoder(tmp_path) -> None:
    root = tiny_gen_root(tmp_path)
    before = Generator(next(s for s in list_generators(root) if s.prior == "flow"))
    config = MmdConfig(weight=1000.0, steps=40, batch_size=64, lr=3e-3, latent_pool=512)
    record = tune_with_mass_mmd(root / "gen_tiny", root / "gen_tiny_mmd",
                                jets=tiny_gluon_jets(), config=config,
                                provenance={"command": "test"})
    tuned_spec = next(s for s in list_generators(root)
                      if s.key == "gen_tiny_mmd/flow")
    assert "mass-MMD" in tuned_spec.label and record["command"] == "test"
    after = Generator(tuned_spec)
    old, new = before.model.state_dict(), after.model.state_dict()
    changed = {k for k in old if not torch.equal(old[k], new[k])}
    assert changed and all(k.startswith(("decoder.", "embed_dec.")) for k in changed)
    # the flow prior is copied untouched into the new generator
    for key, value in before.flow.state_dict().items():
        assert torch.equal(value, after.flow.state_dict()[key])
    curve = record["mass_mmd"]["curves_per_50_steps"]["mmd2"]
    assert np.isfinite(curve).all()
    # the generated relative masses moved towards the real ones
    real = relative_mass(torch.from_numpy(tiny_gluon_jets().particles).double())
    z = before.latents(512, torch.Generator().manual_seed(1))
    beta = log_beta_column(tuned_spec.beta, 512)
    with torch.inference_mode():
        m_before = relative_mass(before.model.decode(z, beta).double())
        m_after = relative_mass(after.model.decode(z, beta).double())
    assert mmd2_unbiased(m_after, real) < mmd2_unbiased(m_before, real)


def test_mmd_config_refuses_a_bad_mmd_batch_or_final_lr() -> None:
    for bad in ({"mmd_batch": 1}, {"mmd_batch": -2}, {"lr_final_fraction": 0.0},
                {"lr_final_fraction": 1.5}):
        with pytest.raises(JetvizInputError, match="MMD fine-tuning needs"):
            MmdConfig(**bad)
    assert MmdConfig(mmd_batch=0).mmd_batch == 0  # 0: the training batch
