"""JetCLR engine: NT-Xent, encoder symmetry, ROC helpers, data split, probe, checkpoints."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from jetviz.errors import JetvizInputError
from jetviz.jetclr.augment import ABLATION_SETS, augment, pad_particles
from jetviz.jetclr.checkpoint import load_encoder, load_map, save_encoder
from jetviz.jetclr.model import (
    EncoderConfig,
    JetClassifier,
    JetEncoder,
    nt_xent,
    pair_features,
    represent,
)
from jetviz.jetclr.probe import PROBE_C_GRID, fit_probe
from jetviz.jetclr.roc import roc_summary, split_by_label
from jetviz.jetclr.split import top_qcd_split
from jetviz.jetclr.train import TrainConfig, train
from jetviz.roc import auc
from tests.conftest import make_jetset

TINY = EncoderConfig(width=16, layers=1, heads=2, rep_dim=12, proj_dim=8)


def test_nt_xent_is_symmetric_in_its_two_views():
    g = torch.Generator().manual_seed(0)
    z1, z2 = torch.randn(16, 8, generator=g), torch.randn(16, 8, generator=g)
    assert torch.isclose(nt_xent(z1, z2), nt_xent(z2, z1), atol=1e-6)
    # … and in the order of the jets (rows permuted together)
    perm = torch.randperm(16, generator=g)
    assert torch.isclose(nt_xent(z1[perm], z2[perm]), nt_xent(z1, z2), atol=1e-6)


def test_nt_xent_is_lower_for_aligned_pairs_than_shuffled():
    g = torch.Generator().manual_seed(1)
    z1 = torch.randn(32, 8, generator=g)
    aligned = z1 + 0.05 * torch.randn(32, 8, generator=g)
    shuffled = aligned[torch.roll(torch.arange(32), 1)]
    assert nt_xent(z1, aligned) < nt_xent(z1, shuffled) - 1.0
    # Scale does not matter (cosine similarity).
    assert torch.isclose(nt_xent(3 * z1, 0.5 * aligned), nt_xent(z1, aligned), atol=1e-5)
    with pytest.raises(ValueError, match=r"\(B, D\)"):
        nt_xent(z1, z1[:5])


@pytest.mark.parametrize(("kind", "pair_bias"),
                         [("transformer", False), ("transformer", True), ("deepsets", False)])
def test_encoder_is_permutation_invariant_and_ignores_padding(kind, pair_bias):
    torch.manual_seed(0)
    jets = make_jetset(n=8, p=10, seed=2)
    model = JetEncoder(dataclasses.replace(TINY, kind=kind, pair_bias=pair_bias)).eval()
    h = represent(model, jets.particles, jets.mask)
    shuffled = augment(jets.particles, jets.mask, np.random.default_rng(0),
                       ABLATION_SETS["none"])  # permutation only
    np.testing.assert_allclose(represent(model, *shuffled), h, rtol=1e-4, atol=1e-5)
    padded = pad_particles(jets.particles, jets.mask, 16)
    np.testing.assert_allclose(represent(model, *padded), h, rtol=1e-4, atol=1e-5)
    classifier = JetClassifier(dataclasses.replace(TINY, kind=kind, pair_bias=pair_bias)).eval()
    with torch.no_grad():
        a = classifier(torch.from_numpy(jets.particles), torch.from_numpy(jets.mask))
        b = classifier(torch.from_numpy(shuffled[0]), torch.from_numpy(shuffled[1]))
    torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)


def test_pair_features_are_symmetric_translation_invariant_and_zero_on_padding():
    jets = make_jetset(n=6, p=9, seed=3)
    x, m = torch.from_numpy(jets.particles), torch.from_numpy(jets.mask)
    u = pair_features(x, m)  # (N, P, P, 4)
    torch.testing.assert_close(u, u.transpose(1, 2))
    shifted = x.clone()
    shifted[..., 1] += 0.3 * m
    shifted[..., 2] += 0.2 * m
    torch.testing.assert_close(pair_features(shifted, m), u, atol=1e-5, rtol=1e-5)
    pad = ~(m[:, :, None] & m[:, None, :])
    assert (u[pad] == 0).all() and torch.isfinite(u).all()


def test_stored_roc_summary_on_a_toy_with_known_answer():
    # background uniform on [0, 1], signal uniform on [0.5, 1]: the cut keeping half the
    # signal is 0.75, which keeps a quarter of the background → 1/ε_B = 4; AUC = 0.75.
    background = np.linspace(0.0, 1.0, 20001)
    signal = np.linspace(0.5, 1.0, 10001)
    scores = np.concatenate([signal, background])
    labels = np.concatenate([np.ones_like(signal), np.zeros_like(background)])
    summary = roc_summary(scores, labels)
    assert summary.inv_eb == pytest.approx(4.0, rel=1e-3)
    assert summary.auc == pytest.approx(0.75, abs=1e-3)
    assert np.all(np.diff(summary.eff_b) >= 0) and summary.eff_s[-1] == 1.0
    assert summary.eff_b[-1] == 1.0 and len(summary.eff_s) == 200
    # perfect separation: no background at ε_S = 0.5
    assert roc_summary(labels * 2.0, labels).inv_eb == np.inf
    with pytest.raises(JetvizInputError, match="both classes"):
        split_by_label(scores, np.ones_like(scores))


def test_top_qcd_split_is_disjoint_per_class_and_seeded():
    jets = make_jetset(n=300, p=8, seed=5)
    split = top_qcd_split(jets, seed=3, test_fraction=0.2)
    assert not set(split.train) & set(split.test)
    t, g, q = (jets.class_names.index(c) for c in "tgq")
    for c in (t, g, q):
        n = int((jets.labels == c).sum())
        assert int((jets.labels[split.test] == c).sum()) == round(0.2 * n)
    assert set(jets.labels[np.concatenate([split.train, split.test])]) == {t, g, q}
    np.testing.assert_array_equal(split.y_test, jets.labels[split.test] == t)
    again = top_qcd_split(jets, seed=3, test_fraction=0.2)
    np.testing.assert_array_equal(again.test, split.test)
    with pytest.raises(JetvizInputError, match="t, g, q"):
        top_qcd_split(jets.subset(jets.labels != t))


def test_linear_probe_separates_linearly_separable_representations():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 400)
    h = rng.normal(size=(400, 6))
    h[:, 2] += 6.0 * y  # one informative direction
    h[:, 4] = 7.0  # a dead dimension is harmless
    probe = fit_probe(h, y)  # C chosen on a validation part of these jets
    assert auc(*split_by_label(probe.scores(h), y)) > 0.99
    assert probe.c in PROBE_C_GRID and fit_probe(h, y, c=0.5).c == 0.5
    assert np.all(np.isfinite(probe.scores(h)))


def test_short_training_lowers_the_loss_and_checkpoint_round_trips(tmp_path):
    jets = make_jetset(n=64, p=10, seed=6)
    config = TrainConfig(augmentations="all", steps=30, batch_size=32, lr=3e-3, encoder=TINY)
    model, record = train(jets.particles, jets.mask, config, jet_pt=jets.jets[:, 0])
    assert record["loss_end"] < record["loss_start"]
    h = represent(model, jets.particles, jets.mask)
    y = (jets.labels == jets.class_names.index("t")).astype(int)
    probe = fit_probe(h, y, c=1.0)
    arrays = {"pca": np.arange(6, dtype=np.float32).reshape(3, 2), "labels": np.array([0, 1, 2]),
              "class_names": np.asarray(["g", "q", "t"])}
    save_encoder(tmp_path / "enc", model, config, probe, {"seed": 0}, {**record, "note": "test"},
                 arrays)
    again, config2, probe2, info = load_encoder(tmp_path / "enc")
    assert config2 == config and info["record"]["note"] == "test"
    np.testing.assert_array_equal(represent(again, jets.particles, jets.mask), h)
    np.testing.assert_array_equal(probe2.scores(h), probe.scores(h))
    back = load_map(tmp_path / "enc")  # text class names come back from config.json
    np.testing.assert_array_equal(back["pca"], arrays["pca"])
    assert back["class_names"].tolist() == ["g", "q", "t"]
    with pytest.raises(JetvizInputError, match="jetviz jetclr"):
        load_encoder(tmp_path / "nowhere")


def test_supervised_ceiling_trains_in_the_same_loop():
    jets = make_jetset(n=64, p=10, seed=7)
    y = (jets.labels == jets.class_names.index("t")).astype(int)
    config = TrainConfig(augmentations="supervised", steps=30, batch_size=32, lr=3e-3,
                         encoder=TINY)
    model, record = train(jets.particles, jets.mask, config, labels=y)
    assert isinstance(model, JetClassifier) and record["loss_end"] < record["loss_start"]
    with pytest.raises(ValueError, match="labels"):
        train(jets.particles, jets.mask, config)
    with pytest.raises(ValueError, match="jet_pt"):
        train(jets.particles, jets.mask, dataclasses.replace(config, augmentations="none"))


def test_ablation_table_grows_across_invocations_at_one_budget(tmp_path):
    from jetviz.jetclr.ablation import reprobe, run_ablation
    from jetviz.readers.store import write_jets

    jets = make_jetset(n=90, p=10, seed=8)
    write_jets(tmp_path / "jets.h5", jets)
    base = TrainConfig(steps=3, batch_size=16, encoder=TINY)
    args = (str(tmp_path / "jets.h5"), str(tmp_path / "out"))
    run_ablation(*args, base, 3, max_per_class=30, names=["none"], command="first")
    table = run_ablation(*args, base, 3, max_per_class=30,
                         names=["translations", "supervised"], command="second")
    assert set(table["runs"]) == {"none", "translations"} and table["supervised"]
    assert table["commands"] == ["first", "second"] and not table["complete"]
    # refitting the probes keeps the rows and records the regularisation chosen
    again = reprobe(*args)
    assert set(again["runs"]) == {"none", "translations"}
    assert all(r["record"]["probe_c"] in PROBE_C_GRID for r in again["runs"].values())
    # another budget is another table: the old rows are not mixed in
    longer = dataclasses.replace(base, steps=4)
    table = run_ablation(*args, longer, 3, max_per_class=30, names=["none"], command="third")
    assert set(table["runs"]) == {"none"} and table["supervised"] is None


def test_legacy_flat_layout_converts_to_the_same_encoder_probe_and_map(tmp_path):
    """An old ablation folder (encoder.json/.safetensors, map.npz, runs/*) becomes one
    checkpoint folder per augmentation set; the shipped encoder becomes all/ with its map."""
    import json

    from safetensors.torch import save_file

    from jetviz.cli.checkpoints import convert, legacy_format

    jets = make_jetset(n=40, p=10, seed=9)
    config = TrainConfig(augmentations="all", steps=2, batch_size=16, encoder=TINY)
    model, record = train(jets.particles, jets.mask, config, jet_pt=jets.jets[:, 0])
    h = represent(model, jets.particles, jets.mask)
    probe = fit_probe(h, (jets.labels == jets.class_names.index("t")).astype(int), c=1.0)
    meta = {"config": config.to_dict(), "record": record,
            "probe": {"mean": probe.mean.tolist(), "scale": probe.scale.tolist(),
                      "coef": probe.coef.tolist(), "intercept": probe.intercept, "c": probe.c},
            "split": {"seed": 0, "max_per_class": None, "test_fraction": 0.2, "jets": "j.h5"},
            "held_out": {"auc": 0.9, "inv_eb": 12.0}}
    old = tmp_path / "jetclr"
    (old / "runs").mkdir(parents=True)
    for stem in ("encoder", "runs/all", "runs/soft_collinear"):
        save_file(model.state_dict(), str(old / f"{stem}.safetensors"))
        (old / f"{stem}.json").write_text(json.dumps(meta))
    map_arrays = {"pca": np.ones((3, 2), np.float32), "labels": np.arange(3),
                  "class_names": np.asarray(["g", "q", "t"])}
    np.savez_compressed(old / "map.npz", **map_arrays)
    (old / "ablation.json").write_text("{}")
    assert legacy_format(old) == "jetclr-flat"
    assert sorted(p.name for p in convert(old)) == ["all", "soft_collinear"]
    assert sorted(p.name for p in old.iterdir()) == ["ablation.json", "all", "soft_collinear"]
    assert convert(old) == []
    again, config2, probe2, info = load_encoder(old / "all")
    assert config2 == config and info["held_out"] == meta["held_out"]
    np.testing.assert_array_equal(represent(again, jets.particles, jets.mask), h)
    np.testing.assert_array_equal(probe2.scores(h), probe.scores(h))
    assert (probe2.c, probe2.intercept) == (probe.c, probe.intercept)
    back = load_map(old / "all")
    np.testing.assert_array_equal(back["pca"], map_arrays["pca"])
    assert back["class_names"].tolist() == ["g", "q", "t"]
    with pytest.raises(JetvizInputError, match="no JetCLR map"):
        load_map(old / "soft_collinear")
