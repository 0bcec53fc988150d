"""The anomaly engine: NAE loss gradient, Langevin chains, images, training, checkpoints."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
import torch

from jetviz import checkpoints
from jetviz.anomaly import checkpoint as ckpt
from jetviz.anomaly.data import images_from_particles, model_images, split_jets
from jetviz.anomaly.model import AEConfig, ConvAE
from jetviz.anomaly.nae import (
    ReplayBuffer,
    SamplerConfig,
    gradient_alignment,
    langevin,
    nae_loss,
    sample_negatives,
)
from jetviz.anomaly.train import TrainConfig, train
from jetviz.errors import JetvizInputError
from tests.conftest import make_jetset

TINY = AEConfig(n_pixels=8, latent_dim=2, channels=(2, 3), hidden=5, spectral_norm=False)


def _tiny_model(seed: int = 0) -> ConvAE:
    torch.manual_seed(seed)
    return ConvAE(TINY).double()


def test_nae_loss_gradient_matches_finite_differences():
    model = _tiny_model()
    gen = torch.Generator().manual_seed(3)
    x_data = torch.rand(6, 1, 8, 8, generator=gen, dtype=torch.float64) * 0.2
    x_model = torch.rand(5, 1, 8, 8, generator=gen, dtype=torch.float64)  # fixed negatives

    def loss() -> torch.Tensor:
        return nae_loss(model.energy(x_data), model.energy(x_model), temperature=0.5,
                        gamma=2.0)

    params = [model.encoder[0].weight, model.decoder[2].bias, model.decoder[-2].weight]
    grads = torch.autograd.grad(loss(), params)
    h = 1e-6
    for p, g in zip(params, grads, strict=True):
        flat, gflat = p.data.view(-1), g.reshape(-1)
        for i in range(0, flat.numel(), max(1, flat.numel() // 4)):
            old = float(flat[i])
            with torch.no_grad():
                flat[i] = old + h
                up = float(loss())
                flat[i] = old - h
                down = float(loss())
                flat[i] = old
            assert (up - down) / (2 * h) == pytest.approx(float(gflat[i]), rel=1e-5, abs=1e-9)


def test_gradient_alignment_is_one_for_the_same_jets_and_splits_the_loss_gradient():
    model = _tiny_model(2)
    gen = torch.Generator().manual_seed(5)
    x = torch.rand(6, 1, 8, 8, generator=gen, dtype=torch.float64)
    y = torch.rand(6, 1, 8, 8, generator=gen, dtype=torch.float64) ** 3
    same = gradient_alignment(model, x, x)
    assert same["cos"] == pytest.approx(1.0) and same["g_data"] == pytest.approx(same["g_neg"])
    d = gradient_alignment(model, x, y)
    # |∇(⟨E⟩_data − ⟨E⟩_neg)|² = g_d² + g_n² − 2 g_d g_n cos: the loss's own gradient
    loss = model.energy(x).mean() - model.energy(y).mean()
    g = torch.cat([t.flatten() for t in torch.autograd.grad(loss, list(model.parameters()))])
    expected = d["g_data"] ** 2 + d["g_neg"] ** 2 - 2 * d["g_data"] * d["g_neg"] * d["cos"]
    assert float(g.norm() ** 2) == pytest.approx(expected, rel=1e-9)
    assert d["e_data"] == pytest.approx(float(model.energy(x).mean().detach()))


def test_nae_loss_is_data_minus_model_energy():
    e_data, e_model = torch.tensor([1.0, 3.0]), torch.tensor([4.0, 6.0])
    assert float(nae_loss(e_data, e_model, 1.0, 0.0)) == pytest.approx(2.0 - 5.0)
    assert float(nae_loss(e_data, e_model, 2.0, 0.5)) == pytest.approx(-1.5 + 0.5 * 26.0)


def test_langevin_moves_toward_low_energy_and_samples_the_boltzmann_width():
    centre = torch.tensor([1.0, -2.0])

    def energy(x: torch.Tensor) -> torch.Tensor:  # E = |x − c|² / 2, minimum at c
        return 0.5 * (x - centre).pow(2).sum(-1)

    gen = torch.Generator().manual_seed(0)
    x0 = torch.randn(4000, 2, generator=gen) * 0.1 + torch.tensor([6.0, 5.0])
    step, noise = 0.05, 0.1
    x = langevin(x0, energy, 300, step, noise, gen)
    assert float(energy(x).mean()) < 0.01 * float(energy(x0).mean())
    assert torch.allclose(x.mean(0), centre, atol=0.02)
    # stationary variance of x ← x − λ(x − c) + σε is σ² / (λ(2 − λ)) ≈ T_eff = σ²/(2λ)
    expected = noise**2 / (step * (2 - step))
    assert x.var(0).numpy() == pytest.approx([expected, expected], rel=0.1)


def test_langevin_projection_keeps_chains_on_the_sphere():
    gen = torch.Generator().manual_seed(1)
    z0 = torch.nn.functional.normalize(torch.randn(50, 3, generator=gen), dim=1)
    target = torch.tensor([0.0, 0.0, 1.0])
    z = langevin(z0, lambda z: -(z * target).sum(-1), 100, 0.1, 0.01, gen, clip=1.0,
                 project=lambda z: torch.nn.functional.normalize(z, dim=1))
    assert torch.allclose(z.norm(dim=1), torch.ones(50), atol=1e-5)
    assert float((z @ target).mean()) > 0.95 > float((z0 @ target).mean())


def test_negative_samples_fill_the_replay_buffer_and_stay_in_range():
    model = ConvAE(dataclasses.replace(TINY, spectral_norm=True))
    buffer = ReplayBuffer(10, TINY.latent_dim)
    gen = torch.Generator().manual_seed(2)
    sampler = SamplerConfig(z_steps=3, x_steps=3)
    for _ in range(3):
        neg = sample_negatives(model, 4, sampler, buffer, gen)
    assert len(buffer) == 10 and neg["x"].shape == (4, 1, 8, 8)
    assert float(neg["x"].min()) >= 0.0 and float(neg["x"].max()) <= 1.0
    assert torch.allclose(neg["z"].norm(dim=1), torch.ones(4), atol=1e-5)
    assert model.training  # restored after the chains


def test_normalised_negatives_are_non_negative_images_summing_to_one():
    model = ConvAE(TINY)
    gen = torch.Generator().manual_seed(4)
    sampler = SamplerConfig(z_steps=2, x_steps=3, x_normalise=True)
    neg = sample_negatives(model, 5, sampler, ReplayBuffer(10, 2), gen)
    assert float(neg["x"].min()) >= 0.0
    assert torch.allclose(neg["x"].flatten(1).sum(1), torch.ones(5), atol=1e-5)


def test_fast_scorer_gives_the_models_energies():
    from jetviz.anomaly.fast import FastScorer

    torch.manual_seed(5)
    model = ConvAE(AEConfig(n_pixels=16, latent_dim=3, channels=(4, 6), hidden=8)).eval()
    x = torch.rand(7, 1, 16, 16) * 0.1
    with torch.no_grad():
        model(x)  # a forward in eval mode: spectral norms use their stored estimates
        expected = model.energy(x)
        fast = FastScorer(model).energy(x)
    assert torch.allclose(fast, expected, rtol=1e-4, atol=1e-9)
    assert model.encoder[0].weight.shape == (4, 1, 4, 4)  # the model itself is untouched


def test_images_are_normalised_centred_and_of_the_right_shape():
    jets = make_jetset(n=20, p=12, seed=4)
    img = images_from_particles(jets.particles, jets.mask, n_pixels=16)
    assert img.shape == (20, 1, 16, 16) and img.dtype == np.float32
    assert np.allclose(img.sum((1, 2, 3)), 1.0, atol=1e-5)
    # preprocessing puts the pT centroid at the image centre
    centres = (np.arange(16) - 7.5)
    eta = (img[:, 0].sum(2) * centres).sum(1)
    assert np.abs(eta).max() < 2.0


def test_images_follow_the_models_flip_rule():
    jets = make_jetset(n=20, p=12, seed=4)
    half = images_from_particles(jets.particles, jets.mask, n_pixels=16)  # the default
    # half-plane rule: the harder half of every image is on the + side of both axes
    rows, cols = half[:, 0].sum(2), half[:, 0].sum(1)  # pT per η row, per φ column
    assert (rows[:, 8:].sum(1) >= rows[:, :8].sum(1) - 1e-6).all()
    assert (cols[:, 8:].sum(1) >= cols[:, :8].sum(1) - 1e-6).all()
    moment = images_from_particles(jets.particles, jets.mask, 16, flip="moment")
    assert not np.allclose(half, moment)
    assert AEConfig().flip == "half-plane"
    with pytest.raises(JetvizInputError, match="flip rule"):
        AEConfig(flip="upright")


def test_smoothing_keeps_the_sum_and_centroid_and_adds_sigma_squared_to_the_spread():
    rng = np.random.default_rng(3)  # particles well inside ±R: no pT blurred past the edge
    particles = np.stack([rng.uniform(0.01, 1, (10, 8)), rng.uniform(-0.3, 0.3, (10, 8)),
                          rng.uniform(-0.3, 0.3, (10, 8))], axis=-1)
    sharp = images_from_particles(particles, None, n_pixels=40)
    sigma = 1.5
    blurred = model_images(particles, None, AEConfig(smooth=sigma))
    assert np.allclose(blurred.sum((1, 2, 3)), 1.0, atol=1e-5)
    grid = np.arange(40.0)
    for other in (2, 1):  # pT per η row, per φ column: mean unchanged, variance + σ² (px²)
        p_sharp, p_blur = sharp[:, 0].sum(other), blurred[:, 0].sum(other)
        m_sharp, m_blur = p_sharp @ grid, p_blur @ grid
        assert np.allclose(m_sharp, m_blur, atol=1e-3)
        v_sharp = p_sharp @ grid**2 - m_sharp**2
        v_blur = p_blur @ grid**2 - m_blur**2
        assert np.allclose(v_blur - v_sharp, sigma**2, atol=0.02)
    assert np.array_equal(model_images(particles, None, AEConfig()), sharp)  # smooth 0
    with pytest.raises(JetvizInputError, match="smooth"):
        AEConfig(smooth=-1.0)


def test_split_holds_out_every_class_past_n_train():
    jets = make_jetset(n=200, p=8, seed=5)
    split = split_jets(jets, "qcd", 10)
    assert set(jets.labels[split.train]) == {0, 1}
    assert len(split.train) == 20 and not set(split.train) & set(split.held_out)
    # the first 10 of each signal class are held back too, so every class is held out alike
    assert len(split.train) + len(split.held_out) + 3 * 10 == len(jets)
    with pytest.raises(JetvizInputError, match="lower --n-train"):
        split_jets(jets, "top", 500)


@pytest.fixture(scope="module")
def tiny_checkpoint(tmp_path_factory):
    """A 2-epoch AE resumed from 1 epoch, and an NAE started from it, on synthetic jets."""
    root = tmp_path_factory.mktemp("anomaly")
    jets = make_jetset(n=400, p=10, seed=6)
    cfg = TrainConfig(background="qcd", method="ae", n_train=40, n_val=10, n_select=15,
                      ae_epochs=1, batch_size=16, seed=3)
    torch.manual_seed(0)
    train(jets, root / "ae", cfg, TINY, command="test", progress=False)
    train(jets, root / "ae", dataclasses.replace(cfg, ae_epochs=2), resume=True,
          command="test resume", progress=False)
    nae_cfg = dataclasses.replace(cfg, method="nae", init=str(root / "ae"), nae_steps=3,
                                  negatives=4, n_samples_kept=4, monitor_every=1,
                                  sampler=SamplerConfig(z_steps=2, x_steps=2))
    train(jets, root / "nae", nae_cfg, command="test nae", progress=False)
    return jets, root


def test_training_resumes_and_records_its_commands_and_evaluation(tiny_checkpoint):
    _, root = tiny_checkpoint
    _, config, record = ckpt.load(root / "ae")
    last = checkpoints.read_config(root / "ae" / "last", "anomaly")
    assert last["record"]["epoch"] == 2 and len(last["record"]["ae_history"]) == 2
    assert record["commands"] == ["test", "test resume"]
    assert config["model"]["n_pixels"] == 8 and config["train"]["method"] == "ae"
    assert set(record["evaluation"]["signals"]) == {"top", "W", "Z"}
    assert 0.0 <= record["evaluation"]["signals"]["top"]["auc"] <= 1.0


def test_nae_checkpoint_keeps_its_negative_samples(tiny_checkpoint):
    _, root = tiny_checkpoint
    record = ckpt.load(root / "nae")[2]
    samples = ckpt.load_samples(root / "nae")
    assert samples["x"].shape == (4, 1, 8, 8) and samples["z"].shape == (4, 2)
    assert record["step"] == 3 and record["init"] == str(root / "ae")
    # the step kept is the one with the best selection AUC (step 0 = the AE itself)
    steps = {0: record["selection_step0_auc"]["top"]}
    steps.update({h["step"]: h["auc"]["top"] for h in record["nae_history"] if "auc" in h})
    assert record["selected_step"] == max(steps, key=lambda k: (steps[k], -k))
    assert record["selected_auc"] == steps[record["selected_step"]]
    assert ckpt.load_samples(root / "ae") is None


def test_bad_checkpoints_give_clear_messages(tiny_checkpoint, tmp_path):
    _, root = tiny_checkpoint
    with pytest.raises(JetvizInputError, match="not a 'anomaly' checkpoint"):
        ckpt.load(tmp_path)
    (tmp_path / "config.json").write_text("{not json")
    with pytest.raises(JetvizInputError, match="corrupt checkpoint config"):
        ckpt.load(tmp_path)
    payload = json.loads((root / "ae" / "config.json").read_text())
    (tmp_path / "config.json").write_text(json.dumps(payload))
    (tmp_path / "model.safetensors").write_bytes(b"garbage")
    with pytest.raises(JetvizInputError, match="corrupt safetensors"):
        ckpt.load(tmp_path)
    payload["config"]["model"]["hidden"] = 7
    (tmp_path / "config.json").write_text(json.dumps(payload))
    (tmp_path / "model.safetensors").write_bytes((root / "ae" / "model.safetensors").read_bytes())
    with pytest.raises(JetvizInputError, match="do not match the config"):
        ckpt.load(tmp_path)


def test_legacy_checkpoints_convert_in_place_and_load_the_same_weights(tiny_checkpoint, tmp_path):
    import shutil

    _, root = tiny_checkpoint
    old = tmp_path / "nae"
    shutil.copytree(root / "nae", old)
    for config in (old / "config.json", old / "last" / "config.json"):  # the old header
        payload = json.loads(config.read_text())
        payload = {"format": "jetviz-anomaly", "version": 1,
                   **{k: payload[k] for k in ("config", "record", "optimizer") if k in payload}}
        config.write_text(json.dumps(payload))
    with pytest.raises(JetvizInputError, match="jetviz checkpoints convert"):
        ckpt.load(old)
    assert sorted(ckpt.convert_legacy(tmp_path)) == [old, old / "last"]
    assert ckpt.convert_legacy(tmp_path) == []  # nothing left to convert
    model, config, record = ckpt.load(old)
    reference, ref_config, ref_record = ckpt.load(root / "nae")
    assert (config, record) == (ref_config, ref_record)
    for a, b in zip(model.state_dict().values(), reference.state_dict().values(), strict=True):
        assert torch.equal(a, b)
    assert torch.equal(ckpt.load_samples(old)["x"], ckpt.load_samples(root / "nae")["x"])
    assert [e.path for e in checkpoints.find("anomaly", [tmp_path])] == [old]


def test_page_scores_the_test_jets_of_the_training_file_and_every_jet_of_another(
        tiny_checkpoint):
    from jetviz.anomaly import explore

    jets, root = tiny_checkpoint
    model, config, record = ckpt.load(root / "nae")
    own = explore.score_file(model, config["train"], record, jets, "elsewhere/" + str(
        record["data"]["file_name"]))
    start = config["train"]["n_train"] + config["train"]["n_select"]
    assert own.held_out and len(own.index) == len(jets) - len(jets.class_names) * start
    other = explore.score_file(model, config["train"], record, jets, "other.h5")
    assert not other.held_out and np.array_equal(other.index, np.arange(len(jets)))
    # a jet's score is the same scored alone or in the batch, and its groups partition
    jet = own.most_anomalous()
    image, recon, energy = explore.jet_and_reconstruction(model, jets, jet)
    assert energy == pytest.approx(own.scores.max(), rel=1e-4)
    assert image.shape == recon.shape == (8, 8)
    assert sum(int(m.sum()) for m in own.groups.values()) == len(own.index)
    assert np.allclose(own.mean_input["QCD"].sum(), 1.0, atol=1e-5)
    strip = own.strip(5)
    assert all(len(ids) == 5 and set(ids) <= set(own.index) for _, ids in strip.values())
    curves, summaries = explore.rocs(own, "QCD")
    assert set(curves) == set(summaries) == {"top", "W", "Z"}
    assert len(explore.negative_images(root / "nae", 3)) == 3
    assert explore.negative_images(root / "ae", 3) == []
    stored = explore.stored_evaluations(root)
    assert set(stored) == {("ae", "qcd"), ("nae", "qcd")}
    assert stored[("nae", "qcd")] == record["evaluation"]
