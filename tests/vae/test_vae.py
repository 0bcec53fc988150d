"""β-VAE model, losses and checkpoints: math invariants, conditioning, round trips, bad files."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch

from jetviz.errors import JetvizInputError
from jetviz.vae.checkpoint import load_checkpoint, save_checkpoint
from jetviz.vae.inputs import inputs_from_jets, prepare_particles
from jetviz.vae.losses import beta_vae_loss, chamfer2, distance2, emd_exact, kl_per_dim, mse2
from jetviz.vae.model import BetaVAE, PointVAE, VAEConfig, build_model
from tests.conftest import make_jetset

torch.set_num_threads(1)

SMALL = {"n_particles_in": 12, "n_particles_out": 10, "latent_dim": 4, "hidden": 16,
         "cond_dim": 8, "beta_min": 1.0, "beta_max": 500.0}


def _model(seed: int = 0, **kw) -> BetaVAE:
    torch.manual_seed(seed)
    return BetaVAE(VAEConfig(**{**SMALL, **kw}))


def _inputs(n: int = 16, seed: int = 0):
    return inputs_from_jets(make_jetset(n, 12, seed), 12)


def test_kl_matches_closed_form_of_torch_distributions():
    gen = torch.Generator().manual_seed(1)
    mu, logvar = torch.randn(5, 3, generator=gen), torch.randn(5, 3, generator=gen)
    ref = torch.distributions.kl_divergence(
        torch.distributions.Normal(mu, torch.exp(0.5 * logvar)),
        torch.distributions.Normal(torch.zeros_like(mu), torch.ones_like(mu)))
    torch.testing.assert_close(kl_per_dim(mu, logvar), ref)
    assert torch.all(kl_per_dim(torch.zeros(2, 3), torch.zeros(2, 3)) == 0)  # posterior = prior


def test_loss_forms_and_beta_scaling():
    cfg = VAEConfig(**SMALL)
    d2 = torch.tensor([100.0, 400.0])
    kl = torch.tensor([[1.0, 0.5], [2.0, 0.0]])
    lb = torch.log(torch.tensor([10.0, 20.0]))
    out = beta_vae_loss(d2, kl, lb, cfg)
    beta2 = torch.exp(2 * lb)
    torch.testing.assert_close(out["loss"], d2 / (2 * beta2) + kl.sum(1))
    torch.testing.assert_close(out["loss_gev2"], out["loss"] * beta2)  # form 2 = β² × form 1
    # Doubling β and the distance leaves d²/(2β²) unchanged (β carries the distance's unit).
    out2 = beta_vae_loss(4 * d2, kl, lb + math.log(2.0), cfg)
    torch.testing.assert_close(out2["loss"], out["loss"])
    # At one fixed β the weightings differ by a constant factor only.
    lb_fixed = torch.full((2,), math.log(10.0))
    nats = beta_vae_loss(d2, kl, lb_fixed, VAEConfig(**SMALL, weighting="nats"))["objective"]
    gev2 = beta_vae_loss(d2, kl, lb_fixed, VAEConfig(**SMALL, weighting="gev2"))["objective"]
    torch.testing.assert_close(gev2, nats * 100.0 / 500.0**2)


def test_gradients_reach_every_parameter():
    model = _model()
    inp = _inputs()
    lb = torch.linspace(0.0, 6.0, len(inp))
    x_hat, mu, logvar = model(inp.x, inp.mask, lb, generator=torch.Generator().manual_seed(0))
    d2 = distance2(inp.x, inp.mask, x_hat, inp.jet_pt, model.config)
    beta_vae_loss(d2, kl_per_dim(mu, logvar), lb, model.config)["objective"].backward()
    for name, p in model.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name


def test_film_conditioning_changes_output_and_fixed_model_ignores_beta():
    z = torch.randn(3, 4, generator=torch.Generator().manual_seed(0))
    model = _model()
    low, high = model.decode(z, torch.full((3,), 0.0)), model.decode(z, torch.full((3,), 6.0))
    assert (low - high).abs().max() > 1e-4
    inp = _inputs(3)
    mu_lo, _ = model.encode(inp.x, inp.mask, torch.full((3,), 0.0))
    mu_hi, _ = model.encode(inp.x, inp.mask, torch.full((3,), 6.0))
    assert (mu_lo - mu_hi).abs().max() > 1e-5
    fixed = _model(conditioned=False, beta_fixed=50.0)
    torch.testing.assert_close(fixed.decode(z, torch.full((3,), 0.0)),
                               fixed.decode(z, torch.full((3,), 6.0)))


def test_encoder_is_permutation_invariant_over_real_particles():
    model = _model()
    inp = _inputs(8)
    lb = torch.full((8,), 3.0)
    mu, logvar = model.encode(inp.x, inp.mask, lb)
    gen = torch.Generator().manual_seed(3)
    perm = torch.stack([torch.randperm(12, generator=gen) for _ in range(8)])  # padding moves too
    x_p = torch.gather(inp.x, 1, perm[..., None].expand(-1, -1, 3))
    m_p = torch.gather(inp.mask, 1, perm)
    mu_p, logvar_p = model.encode(x_p, m_p, lb)
    torch.testing.assert_close(mu_p, mu, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(logvar_p, logvar, atol=1e-5, rtol=1e-5)
    # Garbage in padded slots does not leak into the encoding.
    junk = torch.where(inp.mask[..., None], inp.x, torch.full_like(inp.x, 7.0))
    torch.testing.assert_close(model.encode(junk, inp.mask, lb)[0], mu)


def test_decoder_ptrel_nonnegative_and_sums_to_one():
    model = _model()
    x_hat = model.decode(torch.randn(6, 4) * 5, torch.full((6,), 2.0))
    assert x_hat.shape == (6, 10, 3)
    assert torch.all(x_hat[..., 0] >= 0)
    torch.testing.assert_close(x_hat[..., 0].sum(-1), torch.ones(6))


def test_model_refuses_wrong_particle_count():
    model = _model()
    with pytest.raises(JetvizInputError, match="12 particles"):
        model.encode(torch.zeros(2, 30, 3), None, torch.zeros(2))


def test_prepared_jets_are_centred_normalised_and_keep_pairwise_distances():
    js = make_jetset(10, 12, 4)
    x = prepare_particles(js.particles, js.mask)
    np.testing.assert_allclose(x[..., 0].sum(1), 1.0, rtol=1e-5)
    centroid = (x[..., :1] * x[..., 1:]).sum(1)
    np.testing.assert_allclose(centroid, 0.0, atol=1e-5)
    # Rotation + translation + flips keep every particle-particle distance.
    for i in range(10):
        n = js.mask[i].sum()
        a, b = js.particles[i, :n, 1:], x[i, :n, 1:]
        da = np.linalg.norm(a[:, None] - a[None], axis=-1)
        db = np.linalg.norm(b[:, None] - b[None], axis=-1)
        np.testing.assert_allclose(db, da, atol=1e-5)


def test_distances_vanish_for_a_perfect_reconstruction():
    cfg = VAEConfig(**{**SMALL, "n_particles_out": 12})
    inp = _inputs(4)
    x = torch.where(inp.mask[..., None], inp.x, torch.zeros_like(inp.x))
    emd = emd_exact(inp.x, inp.mask, x, inp.jet_pt, cfg)
    assert torch.all(emd.abs() < 1e-3)  # GeV
    # Zero-weight decoded particles cost nothing; chamfer ignores them only through ptrel.
    assert torch.all(mse2(inp.x, inp.mask, x, inp.jet_pt, cfg) < 1e-6)
    assert torch.all(chamfer2(inp.x, inp.mask, x, inp.jet_pt, cfg) >= 0)


def test_sinkhorn_loss_is_close_to_exact_emd():
    cfg = VAEConfig(**SMALL, loss="sinkhorn")
    model = _model()
    inp = _inputs(6)
    with torch.no_grad():
        x_hat = model.decode(torch.randn(6, 4), torch.full((6,), 2.0))
    exact = emd_exact(inp.x, inp.mask, x_hat, inp.jet_pt, cfg)
    sink = distance2(inp.x, inp.mask, x_hat, inp.jet_pt, cfg).sqrt()
    # Sinkhorn at the training settings approximates the exact EMD to a few per cent.
    assert torch.all((sink / exact - 1).abs() < 0.03)
    # the default loss is the exact EMD itself
    exact_cfg = VAEConfig(**SMALL)
    assert exact_cfg.loss == "exact"
    torch.testing.assert_close(distance2(inp.x, inp.mask, x_hat, inp.jet_pt, exact_cfg).sqrt(),
                               exact, rtol=1e-6, atol=1e-6)


def test_checkpoint_round_trip_gives_identical_outputs(tmp_path):
    model = _model(seed=5)
    record = {"history": [{"epoch": 1, "val_loss": 1.5}], "note": "round trip"}
    save_checkpoint(tmp_path / "ck", model, model.config, record)
    loaded, config, rec = load_checkpoint(tmp_path / "ck")
    assert config == model.config and rec["note"] == "round trip" and rec["scan"] is None
    inp = _inputs(4)
    lb = torch.full((4,), 1.5)
    model.eval()
    with torch.no_grad():
        torch.testing.assert_close(loaded.encode(inp.x, inp.mask, lb),
                                   model.encode(inp.x, inp.mask, lb), rtol=0, atol=0)
        z = torch.randn(4, 4)
        torch.testing.assert_close(loaded.decode(z, lb), model.decode(z, lb), rtol=0, atol=0)


def test_point_model_round_trip(tmp_path):
    cfg = VAEConfig(data="banana", loss="euclidean", latent_dim=3, hidden=8, cond_dim=4,
                    beta_min=0.01, beta_max=10.0)
    model = build_model(cfg)
    assert isinstance(model, PointVAE)
    save_checkpoint(tmp_path, model, cfg, {})
    loaded, _, _ = load_checkpoint(tmp_path)
    x = torch.randn(5, 2)
    lb = torch.zeros(5)
    torch.testing.assert_close(loaded.encode(x, None, lb), model.encode(x, None, lb))
    assert loaded.decode(torch.zeros(5, 3), lb).shape == (5, 2)


@pytest.mark.parametrize("damage", ["weights", "config", "missing", "mismatch", "nan"])
def test_bad_checkpoints_raise_clear_errors(tmp_path, damage):
    model = _model()
    save_checkpoint(tmp_path, model, model.config, {})
    if damage == "weights":
        (tmp_path / "model.safetensors").write_bytes(b"\x00garbage" * 10)
        match = "corrupt safetensors"
    elif damage == "config":
        (tmp_path / "config.json").write_text("{not json")
        match = "not valid JSON"
    elif damage == "missing":
        (tmp_path / "config.json").unlink()
        match = "no config.json"
    elif damage == "mismatch":
        other = _model(latent_dim=5)
        save_checkpoint(tmp_path / "o", other, other.config, {})
        (tmp_path / "model.safetensors").write_bytes(
            (tmp_path / "o" / "model.safetensors").read_bytes())
        match = "do not match"
    else:
        with torch.no_grad():
            next(model.parameters()).fill_(float("nan"))
        save_checkpoint(tmp_path, model, model.config, {})
        match = "NaN"
    with pytest.raises(JetvizInputError, match=match):
        load_checkpoint(tmp_path)


def test_config_rejects_inconsistent_settings():
    with pytest.raises(JetvizInputError):
        VAEConfig(beta_min=10.0, beta_max=1.0)
    with pytest.raises(JetvizInputError):
        VAEConfig(conditioned=False, beta_fixed=0.0)
    with pytest.raises(JetvizInputError):
        VAEConfig(data="banana", loss="sinkhorn")
    with pytest.raises(JetvizInputError, match="unknown"):
        VAEConfig.from_dict({"latent_size": 3})


def _as_legacy(directory: Path) -> None:
    """Rewrite a checkpoint's config.json header as the pre-version-2 "jetviz-vae" layout."""
    path = directory / "config.json"
    payload = json.loads(path.read_text())
    del payload["kind"]
    path.write_text(json.dumps({**payload, "format": "jetviz-vae", "version": 1}, indent=1))


def test_legacy_vae_checkpoints_convert_in_place_and_load_identically(tmp_path):
    from safetensors.numpy import save_file

    from jetviz.cli.checkpoints import convert
    from jetviz.vae.checkpoint import convert_legacy
    from jetviz.vae.slider_emd import load_grid

    model = _model(seed=3)
    record = {"history": [{"epoch": 1}], "scan": None}
    ck, gen = tmp_path / "vae_old", tmp_path / "gen_old"
    save_checkpoint(ck, model, model.config, record)
    save_checkpoint(ck / "last", model, model.config, record,
                    torch.optim.Adam(model.parameters()))
    save_checkpoint(gen, model, model.config, record)
    (gen / "flow").mkdir()
    betas, emd = np.geomspace(1, 100, 4), np.arange(8.0).reshape(4, 2)
    save_file({"betas": betas, "emd": emd}, str(ck / "slider_emd.safetensors"),
              metadata={"command": "jetviz slider-emd --model x", "fingerprint": "abc",
                        "description": "2 jets"})
    for directory in (ck, ck / "last", gen):
        _as_legacy(directory)
    with pytest.raises(JetvizInputError, match="checkpoints convert"):
        load_checkpoint(ck)

    assert sorted(convert(tmp_path)) == sorted([ck, ck / "last"])  # the generator is skipped
    assert json.loads((gen / "config.json").read_text())["format"] == "jetviz-vae"
    loaded, config, rec = load_checkpoint(ck)
    assert config == model.config and rec["history"] == record["history"]
    for name, value in model.state_dict().items():
        assert torch.equal(loaded.state_dict()[name], value)
    from jetviz import checkpoints

    checkpoints.load_optimizer(ck / "last", torch.optim.Adam(loaded.parameters()))
    grid = load_grid(ck)
    np.testing.assert_array_equal(grid.emd, emd)
    assert grid.lookup(float(betas[2]), "abc") is not None and grid.lookup(1.0, "other") is None
    assert rec["slider_emd"]["command"] == "jetviz slider-emd --model x"
    assert convert_legacy(tmp_path) == []  # nothing left to convert


def test_a_generator_checkpoint_loads_as_its_vae_and_other_kinds_are_refused(tmp_path):
    from jetviz import checkpoints

    model = _model(seed=4)
    save_checkpoint(tmp_path / "gen", model, model.config, {"note": "g"}, kind="generator")
    loaded, config, record = load_checkpoint(tmp_path / "gen")
    assert config == model.config and record["note"] == "g"
    for name, value in model.state_dict().items():
        assert torch.equal(loaded.state_dict()[name], value)
    checkpoints.save(tmp_path / "other", "cinn", config={}, record={})
    with pytest.raises(JetvizInputError, match="'cinn' checkpoint, not a VAE"):
        load_checkpoint(tmp_path / "other")


def test_running_balance_is_a_running_mean_per_log_beta_bin_and_feeds_the_one_loss():
    from jetviz.vae.losses import BALANCE_BINS, BALANCE_MOMENTUM, RunningBalance

    cfg = VAEConfig(**{**SMALL, "weighting": "balanced"})
    lo, hi = cfg.log_beta_range()
    log_beta = torch.tensor([lo, lo, hi])  # two examples in the first bin, one in the last
    d2, kl = torch.tensor([8.0, 16.0, 4.0]), torch.zeros(3, 2)
    values = [0.0] * BALANCE_BINS
    balance = RunningBalance(values, cfg)
    loss = d2 / (2 * torch.exp(2 * log_beta))
    scale = balance.update(log_beta, loss)
    assert values[0] == pytest.approx(float(loss[:2].mean()))  # first batch: its own mean
    assert values[-1] == pytest.approx(float(loss[2])) and values[1:-1] == [0.0] * 18
    torch.testing.assert_close(scale, torch.tensor([values[0], values[0], values[-1]]))
    before = values[0]
    balance.update(log_beta[:1], torch.tensor([0.0]))
    assert values[0] == pytest.approx(BALANCE_MOMENTUM * before)  # then a running mean
    # beta_vae_loss with a RunningBalance = with the scale that balance holds after the update
    fresh = RunningBalance([0.0] * BALANCE_BINS, cfg)
    terms = beta_vae_loss(d2, kl, log_beta, cfg, balance=fresh)
    explicit = beta_vae_loss(d2, kl, log_beta, cfg, balance=scale)
    torch.testing.assert_close(terms["objective"], explicit["objective"])


def test_balance_floor_holds_from_half_way_for_conditioned_models_only():
    """1 nat over the first half of training, the config's floor after; a fixed-β model and
    a config saved before the field existed keep 1 nat; a floor outside (0, 1] is refused."""
    from jetviz.vae.losses import BALANCE_FLOOR_FROM, balance_floor

    cfg = VAEConfig(**{**SMALL, "weighting": "balanced", "balance_floor": 0.25})
    assert balance_floor(cfg, 0.0) == balance_floor(cfg, BALANCE_FLOOR_FROM - 0.01) == 1.0
    assert balance_floor(cfg, BALANCE_FLOOR_FROM) == balance_floor(cfg, 1.0) == 0.25
    fixed = VAEConfig(**{**SMALL, "balance_floor": 0.25, "conditioned": False,
                         "beta_fixed": 5.0})
    assert balance_floor(fixed, 1.0) == 1.0
    saved = {k: v for k, v in cfg.to_dict().items() if k != "balance_floor"}
    assert VAEConfig.from_dict(saved).balance_floor == 1.0
    for bad in (0.0, 1.5):
        with pytest.raises(JetvizInputError, match="balance_floor"):
            VAEConfig(**{**SMALL, "balance_floor": bad})


def test_balance_floor_lifts_the_encoders_weight_and_leaves_the_decoders():
    """Per example the objective is loss / max(floor, running mean); the decoder's gradient
    factor times that scale's inverse is 1 / max(running mean, DECODER_MIN_LOSS) whatever
    the floor (the decoder's weight does not move)."""
    from jetviz.vae.losses import BALANCE_BINS, DECODER_MIN_LOSS, RunningBalance

    cfg = VAEConfig(**{**SMALL, "weighting": "balanced"})
    lo, hi = cfg.log_beta_range()
    log_beta = lo + (hi - lo) * (torch.arange(BALANCE_BINS) + 0.5) / BALANCE_BINS
    means = torch.logspace(2, -3, BALANCE_BINS)  # 100 nats at small β → 0.001 at large
    d2, kl = torch.exp(2 * log_beta), torch.zeros(BALANCE_BINS, 2)  # loss 0.5 nat each
    for floor in (1.0, 0.25):
        balance = RunningBalance(means.tolist(), cfg)
        balance.floor = floor
        scale_after = means * 0.9 + 0.5 * 0.1  # the running means after this batch
        objective = beta_vae_loss(d2, kl, log_beta, cfg, balance=balance)["objective"]
        expected = (0.5 / scale_after.clamp_min(floor)).mean()
        torch.testing.assert_close(objective, expected)
        balance = RunningBalance(means.tolist(), cfg)
        balance.floor = floor
        total = balance.decoder_weight(log_beta) / means.clamp_min(floor)
        torch.testing.assert_close(total, 1 / means.clamp_min(DECODER_MIN_LOSS))


def test_pooled_mlp_equals_the_sum_of_its_outputs() -> None:
    """MLP.pooled applies the (linear) output layer after the sum: the same function."""
    from jetviz.vae.model import MLP

    torch.manual_seed(0)
    net = MLP(4, 16, 8, depth=3)
    x = torch.randn(5, 7, 4)
    weights = torch.rand(5, 2, 7)
    weights[:, :, 5:] = 0.0  # padding
    expected = torch.einsum("bkp,bpo->bko", weights, net(x))
    assert torch.allclose(net.pooled(x, weights), expected, atol=1e-5)


def test_skip_gate_starts_as_the_plain_skip_and_old_configs_have_none() -> None:
    """A new model's β-gated skips start as plain skips (same weights, same outputs); a config
    saved before the field existed rebuilds the plain-skip model it was trained as."""
    config = VAEConfig(n_particles_in=5, n_particles_out=4, latent_dim=3, hidden=16)
    torch.manual_seed(0)
    gated = build_model(config)
    torch.manual_seed(0)
    plain = build_model(VAEConfig.from_dict(
        {k: v for k, v in config.to_dict().items() if k != "gate_skip"}))
    assert config.gate_skip and plain.config.gate_skip is False
    assert all(gated.state_dict()[k].equal(v) for k, v in plain.state_dict().items())
    z, log_beta = torch.randn(6, 3), torch.linspace(0.0, 6.0, 6)
    assert torch.allclose(gated.decode(z, log_beta), plain.decode(z, log_beta))


def test_decoder_weight_scales_only_the_decoders_gradient() -> None:
    """forward(decoder_weight=w): same values; the decoder's gradients × w, the encoder's as
    without (its share of the loss, through z and the KL, keeps its weight)."""
    config = VAEConfig(n_particles_in=5, n_particles_out=4, latent_dim=3, hidden=16,
                       loss="mse")
    torch.manual_seed(0)
    model = build_model(config)
    x, mask = torch.rand(4, 5, 3), torch.ones(4, 5, dtype=torch.bool)
    log_beta, noise = torch.zeros(4), torch.randn(4, 3)
    grads, values = [], []
    for weight in (None, torch.full((4,), 3.0)):
        model.zero_grad()
        x_hat, mu, logvar = model(x, mask, log_beta, noise=noise, decoder_weight=weight)
        (x_hat.square().sum() + mu.square().sum() + logvar.exp().sum()).backward()
        grads.append({n: p.grad.clone() for n, p in model.named_parameters()
                      if p.grad is not None})
        values.append(x_hat.detach())
    assert torch.equal(values[0], values[1])
    for name, g in grads[0].items():
        factor = 3.0 if name.startswith(("decoder.", "embed_dec.")) else 1.0
        assert torch.allclose(grads[1][name], factor * g, rtol=1e-4,
                              atol=1e-6 * float(g.abs().max())), name


def test_beta_power_draws_more_small_betas_and_power_one_is_uniform_in_log_beta() -> None:
    """log β = lo + (hi − lo)·u^p: the same u for every power, inside the range; P(t < ¼) is
    ¼ uniform and ½ with p = 2."""
    from jetviz.vae.epoch import draw_log_beta

    uniform, skewed = VAEConfig(**SMALL), VAEConfig(**SMALL, beta_power=2.0)
    lo, hi = uniform.log_beta_range()
    t_uniform = (draw_log_beta(20_000, uniform, torch.Generator().manual_seed(0)) - lo) / (hi - lo)
    t_skewed = (draw_log_beta(20_000, skewed, torch.Generator().manual_seed(0)) - lo) / (hi - lo)
    assert float(t_skewed.min()) >= 0.0 and float(t_skewed.max()) <= 1.0
    torch.testing.assert_close(t_skewed, t_uniform.square(), rtol=1e-4, atol=1e-6)
    assert abs(float((t_uniform < 0.25).float().mean()) - 0.25) < 0.02
    assert abs(float((t_skewed < 0.25).float().mean()) - 0.5) < 0.02
    with pytest.raises(JetvizInputError, match="beta_power"):
        VAEConfig(**SMALL, beta_power=0.0)


def test_particle_hidden_sets_the_per_particle_width_and_old_configs_rebuild_as_saved() -> None:
    """Φ and the pooled features take particle_hidden; a config saved before the field (and
    beta_power) existed rebuilds Φ at the hidden width and draws β uniformly in log β."""
    narrow = _model(particle_hidden=8)  # hidden 16
    x = _inputs(4)
    assert narrow.features(x.x, x.mask).shape == (4, 16)  # 2 pools × 8
    mu, logvar = narrow.encode(x.x, x.mask, torch.zeros(4))
    assert mu.shape == logvar.shape == (4, SMALL["latent_dim"])
    saved = {k: v for k, v in VAEConfig(**SMALL).to_dict().items()
             if k not in ("particle_hidden", "beta_power")}
    old = VAEConfig.from_dict(saved)
    assert old.particle_hidden == 0 and old.beta_power == 1.0
    torch.manual_seed(0)
    as_saved = build_model(old)
    torch.manual_seed(0)
    explicit = build_model(VAEConfig(**SMALL, particle_hidden=SMALL["hidden"]))
    assert all(explicit.state_dict()[k].equal(v) for k, v in as_saved.state_dict().items())
    with pytest.raises(JetvizInputError, match="particle_hidden"):
        VAEConfig(**SMALL, particle_hidden=-1)
