"""Generators: discovery, sampling (shapes, masks, seeds, pT), truth preparation, split."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from jetviz.errors import JetvizInputError
from jetviz.generation.checkpoint import prior_record
from jetviz.generation.generators import (
    Generator,
    finish_decoded,
    list_generators,
    prepared_truth,
    sample_pt,
    select_classes,
    vae_training_split,
)
from jetviz.vae.scan import DECODED_PTREL_MIN
from jetviz.vae.train import _split
from tests.support_generation import BETA, N_PARTICLES, tiny_gen_root, tiny_gluon_jets

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_gen_root(tmp_path_factory.mktemp("gen_root"))


def test_each_flow_prior_gives_a_gaussian_and_a_flow_generator(root):
    specs = list_generators(root)
    assert [s.key for s in specs] == ["gen_tiny/gaussian", "gen_tiny/flow"]
    assert all(s.beta == BETA and s.classes == ("g",) for s in specs)
    assert "flow prior" in specs[1].label and "β = 10 GeV" in specs[1].label


def test_samples_are_real_jets_and_seeded(root):
    for spec in list_generators(root):
        gen = Generator(spec)
        a = gen.sample(50, seed=1)
        assert a.particles.shape == (50, N_PARTICLES, 3) and a.mask.shape == (50, N_PARTICLES)
        # absent particles are exactly zero; present ones carry ptrel above the threshold
        assert np.all(a.particles[~a.mask] == 0)
        assert np.all(a.particles[..., 0][a.mask] > DECODED_PTREL_MIN)
        # sorted by ptrel, summing to ≤ 1 (softmax minus the dropped crumbs)
        assert np.all(np.diff(a.particles[..., 0], axis=1) <= 0)
        assert np.all(a.particles[..., 0].sum(1) <= 1 + 1e-5)
        # jet pT inside the training jets' pT range (inverse CDF of their quantiles)
        q = gen.quantiles
        assert np.all((a.jet_pt >= q[0] - 1e-3) & (a.jet_pt <= q[-1] + 1e-3))
        b = gen.sample(50, seed=1)
        assert np.array_equal(a.particles, b.particles) and np.array_equal(a.jet_pt, b.jet_pt)
        c = gen.sample(50, seed=2)
        assert not np.array_equal(a.particles, c.particles)


def test_flow_and_gaussian_generators_draw_different_latents(root):
    gauss, flow = (Generator(s) for s in list_generators(root))
    za = gauss.latents(200, torch.Generator().manual_seed(0))
    zb = flow.latents(200, torch.Generator().manual_seed(0))
    assert za.shape == zb.shape == (200, 3)
    assert not torch.allclose(za, zb)


def test_sampling_temperature_scales_the_base_draws(root):
    gauss, flow = (Generator(s) for s in list_generators(root))

    def draw(gen, t):
        return gen.latents_and_log_pt(300, torch.Generator().manual_seed(0), t)[0]

    # the Gaussian's z ~ N(0, T²): the same seed gives T · z
    assert torch.allclose(draw(gauss, 2.5), 2.5 * draw(gauss, 1.0))
    # the flow at T = 1 is the prior itself; at T = 0 every draw is the image of ε = 0
    assert torch.equal(draw(flow, 1.0), flow.latents(300, torch.Generator().manual_seed(0)))
    frozen = draw(flow, 0.0)
    assert torch.allclose(frozen, frozen[:1].expand_as(frozen))
    # the spread grows with T
    spread = [float(draw(flow, t).std(0).mean()) for t in (0.5, 1.0, 2.0)]
    assert spread[0] < spread[1] < spread[2]
    for bad in (-0.1, float("nan")):
        with pytest.raises(JetvizInputError, match="temperature"):
            flow.sample(5, seed=0, temperature=bad)


def test_prior_record_says_what_it_was_fitted_on(root):
    record = prior_record(root / "gen_tiny" / "flow")
    assert record["beta"] == BETA and record["classes"] == ["g"]
    assert record["n_jets"] == 144  # the VAE's training split: 160 − round(0.1·160)
    assert len(record["pt_quantiles"]) == 201


def test_training_split_is_the_one_jetviz_train_made():
    record = {"train_config": {"seed": 3, "val_fraction": 0.2}}
    ours = vae_training_split(97, record)
    theirs = _split(97, 0.2, 3)
    assert all(np.array_equal(a, b) for a, b in zip(ours, theirs, strict=True))


def test_sample_pt_follows_the_quantiles():
    q = np.linspace(500.0, 1500.0, 201)  # uniform on [500, 1500]
    pt = sample_pt(q, 20000, np.random.default_rng(0))
    assert pt.min() >= 500 and pt.max() <= 1500
    assert np.mean(pt) == pytest.approx(1000, abs=10)


def test_finish_decoded_sorts_and_masks():
    decoded = np.array([[[0.00005, 0.1, 0.1], [0.7, 0.2, 0.0], [0.29995, -0.1, 0.3]]],
                       dtype=np.float32)
    particles, mask = finish_decoded(decoded)
    assert mask.tolist() == [[True, True, False]]
    assert particles[0, 0, 0] == pytest.approx(0.7) and np.all(particles[0, 2] == 0)


def test_prepared_truth_and_class_errors():
    jets = tiny_gluon_jets()
    particles, mask, pt = prepared_truth(jets, 8)
    assert particles.shape == (len(jets), 8, 3) and mask.shape == (len(jets), 8)
    assert np.allclose(particles[..., 0].sum(1), 1.0, atol=1e-5)  # renormalised over 8
    assert np.array_equal(pt, jets.jets[:, 0])
    with pytest.raises(JetvizInputError, match="no class 'x'"):
        select_classes(jets, ["x"])
    with pytest.raises(JetvizInputError, match="no jets of classes"):
        select_classes(jets, ["t"])
    with pytest.raises(JetvizInputError, match="needs 20"):
        prepared_truth(jets, 20)


def test_reconstructions_are_jets_in_the_frame_and_deterministic(root):
    gen = Generator(list_generators(root)[0])
    particles, mask, _ = prepared_truth(tiny_gluon_jets(), N_PARTICLES)
    recon, recon_mask = gen.reconstruct(particles[:20], mask[:20], beta=5.0)
    assert recon.shape == (20, N_PARTICLES, 3) and recon_mask.shape == (20, N_PARTICLES)
    assert np.all(recon[~recon_mask] == 0)
    assert np.all(np.diff(recon[..., 0], axis=1) <= 0)  # sorted by ptrel
    again, _ = gen.reconstruct(particles[:20], mask[:20], beta=5.0)
    assert np.array_equal(recon, again)  # z = μ: no sampling
