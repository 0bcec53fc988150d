"""The few-particle jet model (jetviz.vae.flat) and `jetviz train --data` on a jet family."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from jetviz.cli import main as cli_main
from jetviz.readers.store import write_jets
from jetviz.simulation.jet_families import family_jets
from jetviz.vae.checkpoint import load_checkpoint
from jetviz.vae.flat import FlatJetVAE
from jetviz.vae.inputs import inputs_from_jets
from jetviz.vae.model import VAEConfig, build_model

torch.set_num_threads(1)

SCALES = {"separation": 60.0, "sharing": 2.0, "split": 0.06}
CONFIG = VAEConfig(n_particles_in=3, n_particles_out=3, latent_dim=4, hidden=16, cond_dim=8,
                   beta_min=0.002, beta_max=2000.0, whiten=True)


def _inputs(n: int = 300, seed: int = 0):
    return inputs_from_jets(family_jets(n, SCALES, np.random.default_rng(seed)), 3)


def test_whitened_frame_has_zero_mean_unit_variance_and_ignores_particle_order():
    torch.manual_seed(0)
    model = build_model(CONFIG)
    assert isinstance(model, FlatJetVAE)
    inputs = _inputs()
    model.fit_whitening(inputs.x, inputs.mask)
    y = model.features(inputs.x, inputs.mask).double()
    varied = model.scale > model.scale.max() * 1e-5  # not a constant coordinate's floor
    assert varied.sum() >= 3  # the family's three parameters at least
    np.testing.assert_allclose(y[:, varied].mean(0), 0, atol=1e-3)
    np.testing.assert_allclose(y[:, varied].std(0), 1, rtol=0.02)
    assert y[:, ~varied].std(0).max() < 0.1  # rounding noise is not magnified
    shuffled = inputs.x[:, [2, 0, 1]]
    torch.testing.assert_close(model.features(shuffled, inputs.mask), y.float())


def test_decoded_jets_are_normalised_and_the_frame_round_trips():
    torch.manual_seed(0)
    model = build_model(CONFIG)
    inputs = _inputs()
    model.fit_whitening(inputs.x, inputs.mask)
    # a decoder output equal to the whitened input decodes back to the input jet
    y = model.features(inputs.x, inputs.mask)
    from jetviz.vae.whitening import from_frame
    back = from_frame(y, model.centre, model.axes, model.scale).view(-1, 3, 3)
    torch.testing.assert_close(back, model.flat(inputs.x, inputs.mask).view(-1, 3, 3),
                               atol=1e-6, rtol=0)
    z = torch.randn(50, CONFIG.latent_dim, generator=torch.Generator().manual_seed(1))
    x_hat = model.decode(z, torch.zeros(50))
    assert x_hat.shape == (50, 3, 3) and (x_hat[..., 0] >= 0).all()
    torch.testing.assert_close(x_hat[..., 0].sum(-1), torch.ones(50))


def test_a_whitened_jet_model_must_emit_what_it_reads():
    from jetviz.errors import JetvizInputError
    with pytest.raises(JetvizInputError, match="as many particles"):
        build_model(VAEConfig(n_particles_in=3, n_particles_out=5, whiten=True))


def test_train_on_a_jet_family_file_defaults_to_the_whitened_model_and_brackets_its_scales(
        tmp_path):
    jets = family_jets(400, SCALES, np.random.default_rng(2))
    write_jets(tmp_path / "family.h5", jets)
    out = tmp_path / "model"
    code = cli_main(["train", "--data", str(tmp_path / "family.h5"), "--out", str(out),
                     "--hidden", "16", "--epochs", "2",
                     "--batch-size", "64", "--scan-points", "12", "--scan-examples", "60",
                     "--threads", "1", "--no-progress", "--device", "cpu"])
    assert code == 0
    model, config, record = load_checkpoint(out)
    assert isinstance(model, FlatJetVAE) and config.whiten
    assert config.n_particles_in == config.n_particles_out == 3
    assert config.latent_dim == 5 and config.weighting == "balanced"  # 3P − 4
    assert config.capped_posterior and config.embed_sharpness > 1  # few-particle defaults
    assert record["train_config"]["epochs"] == 2 and not record["train_config"]["schedule_by_time"]
    assert record["scales"] == SCALES  # the family's, for the plateau checks
    # the check windows of D1 run from the smallest scale / 10 to 30 × the largest
    assert config.beta_min < min(SCALES.values()) / 10
    assert config.beta_max >= 25 * max(SCALES.values())
    scan = json.loads((out / "config.json").read_text())["record"]["scan"]
    assert len(scan["betas"]) == len(scan["d1"]) == 12
    assert np.asarray(scan["kl_per_dim"]).shape == (12, 5)
    # the stored weights rebuild the same model, whitening frame included
    torch.testing.assert_close(model.scale, load_checkpoint(out)[0].scale)
    assert float(model.scale.max()) > 1e-3  # fitted, not the identity's ones… nor zeros
    assert not torch.equal(model.axes, torch.eye(9))


@pytest.mark.parametrize("p", [2, 3, 4])
def test_prepared_jets_of_p_particles_span_3p_minus_4_dimensions(p):
    # small random changes of one jet's 3P numbers move its prepared form within a space of
    # 3P − 4 dimensions (ptrel sum, centroid, axis fixed): the latent size the CLI gives them
    from jetviz.vae.flat import latent_dim_of_jets
    from jetviz.vae.inputs import prepare_particles
    rng = np.random.default_rng(p)
    jet = np.concatenate([rng.uniform(0.2, 1.0, (1, p, 1)), rng.normal(0, 0.2, (1, p, 2))], -1)
    jet[..., 0] /= jet[..., 0].sum()
    moved = jet + 1e-4 * rng.standard_normal((40, p, 3))
    mask = np.ones((41, p), bool)
    flat = prepare_particles(np.concatenate([jet, moved]), mask).astype(np.float64)
    flat = flat.reshape(41, -1)
    sing = np.linalg.svd(flat[1:] - flat[0], compute_uv=False)
    assert int((sing > 1e-2 * sing[0]).sum()) == latent_dim_of_jets(p) == 3 * p - 4


def test_the_latent_gate_starts_open_and_closed_makes_the_decoder_ignore_z():
    # zero-initialised, drawn without random numbers: the gated model starts as the plain one
    plain_config = VAEConfig.from_dict({k: v for k, v in CONFIG.to_dict().items()
                                        if k != "gate_latent"})
    gated_config = VAEConfig.from_dict({**CONFIG.to_dict(), "gate_latent": True})
    assert plain_config.gate_latent is False
    torch.manual_seed(0)
    plain = build_model(plain_config)
    torch.manual_seed(0)
    gated = build_model(gated_config)
    z, log_beta = torch.randn(8, 4), torch.linspace(-5.0, 7.0, 8)
    torch.testing.assert_close(gated.decode(z, log_beta), plain.decode(z, log_beta))
    # a gate of −1 on every latent input: the same jet whatever z (the best constant jet)
    with torch.no_grad():
        gated.decoder.input_gate["bias"].fill_(-1.0)
    out = gated.decode(z, torch.full((8,), 3.0))
    torch.testing.assert_close(out, out[:1].expand_as(out))
    assert not torch.allclose(out, plain.decode(z, torch.full((8,), 3.0)))


@pytest.mark.parametrize("sharpness", [4.0, 8.0])
def test_a_sharp_beta_embedding_spreads_its_ramps_over_the_range(sharpness):
    model = build_model(VAEConfig.from_dict({**CONFIG.to_dict(),
                                             "embed_sharpness": sharpness}))
    first = model.embed_dec.net[0]
    w, b = first.weight[:, 0].detach(), first.bias.detach()
    assert torch.all(w.abs() >= sharpness / 2 - 1e-6) and torch.all(w.abs() <= sharpness)
    kinks = torch.sort(-b / w).values  # where each ramp turns on, in t = mapped log β
    assert float(kinks[0]) > -1 and float(kinks[-1]) < 1
    torch.testing.assert_close(kinks.diff(), torch.full_like(kinks.diff(), 2 / len(kinks)))
    assert VAEConfig.from_dict(CONFIG.to_dict()).embed_sharpness == CONFIG.embed_sharpness
    from jetviz.errors import JetvizInputError
    with pytest.raises(JetvizInputError, match="embed_sharpness"):
        VAEConfig(embed_sharpness=0.0)
