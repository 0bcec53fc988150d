"""Theory map: losses, set encoder, unphysical sample, KDE accuracy, stored maps, projection."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from jetviz.errors import JetvizInputError
from jetviz.events import Theory
from jetviz.theorymap.checkpoint import load_map, load_model, load_scaler, save_encoder
from jetviz.theorymap.features import (
    DPHI_COLUMNS,
    ETA_COLUMNS,
    Scaler,
    mirror_events,
    physics_features,
)
from jetviz.theorymap.kde import kde_accuracy
from jetviz.theorymap.maps import (
    MapProjector,
    build_map,
    centroids,
    nearest_in_latent,
    project_events,
    project_sets,
)
from jetviz.theorymap.model import (
    EncoderConfig,
    SetEncoder,
    contrastive_loss,
    contrastive_pair_loss,
    encode,
    neural_embedding_loss,
)
from jetviz.theorymap.sets import (
    disjoint_sets,
    label_distances,
    prepare_data,
    random_sets,
    unphysical_sample,
)
from jetviz.theorymap.train import TrainConfig, train_encoder
from tests.support_theorymap import THEORIES, make_events

torch.set_num_threads(1)

# ---------------------------------------------------------------------------- losses


def test_contrastive_pair_loss_zero_and_positive_cases() -> None:
    margin = 1.0
    d = torch.tensor([0.0, 1.5, 0.3, 0.4, 1.0])
    y = torch.tensor([0.0, 1.0, 0.0, 1.0, 1.0])  # same, different, same, different, different
    loss = contrastive_pair_loss(d, y, margin)
    assert loss[0] == 0.0  # same theory at distance 0
    assert loss[1] == 0.0  # different theories beyond the margin
    assert loss[4] == 0.0  # exactly at the margin
    assert loss[2] == pytest.approx(0.5 * 0.3**2)  # same theory, apart: pulled together
    assert loss[3] == pytest.approx(0.5 * 0.6**2)  # different, inside the margin: pushed apart


def test_contrastive_batch_loss_zero_for_perfect_clusters_positive_otherwise() -> None:
    labels = torch.tensor([0, 0, 1, 1, 2])
    centres = torch.tensor([[0.0, 0.0], [3.0, 0.0], [0.0, 3.0]])
    z = centres[labels]
    assert float(contrastive_loss(z, labels, margin=2.0)) == 0.0
    assert float(contrastive_loss(z, labels, margin=5.0)) > 0.0  # clusters closer than m
    z_spread = z + torch.tensor([[0.1, 0.0]] * 5) * torch.arange(5)[:, None]
    assert float(contrastive_loss(z_spread, labels, margin=2.0)) > 0.0


def test_neural_embedding_loss_zero_when_latent_matches_label_distances() -> None:
    susy = THEORIES[:3]
    d_x = torch.as_tensor(label_distances(susy), dtype=torch.float32)
    masses = torch.tensor([[t.m_gluino, t.m_neutralino] for t in susy]) / 1000.0  # TeV
    labels = torch.tensor([0, 1, 2, 0, 2])
    z = torch.cat([masses[labels], torch.zeros(5, 6)], dim=1)  # (5, 8): the mass plane itself
    assert float(neural_embedding_loss(z, labels, d_x)) == pytest.approx(0.0, abs=1e-6)
    assert float(neural_embedding_loss(2 * z, labels, d_x)) > 0.1


def test_label_distances_mass_plane_and_backgrounds_at_grid_diameter() -> None:
    d = label_distances((*THEORIES, Theory("unphysical", "unphysical")))
    np.testing.assert_allclose(d, d.T)
    np.testing.assert_allclose(np.diag(d), 0.0)
    assert d[0, 1] == pytest.approx(0.4)  # (1000, 100) → (1000, 500): 0.4 TeV
    diameter = np.hypot(0.8, 0.4)  # (1000, 500) ↔ (1800, 100)
    assert d[:3, :3].max() == pytest.approx(diameter)
    np.testing.assert_allclose(d[3, [0, 1, 2, 4]], diameter)


# ---------------------------------------------------------------------------- encoder, sets


def test_set_encoder_is_permutation_invariant_over_the_set() -> None:
    torch.manual_seed(0)
    model = SetEncoder(EncoderConfig(set_size=6)).eval()
    x = torch.randn(4, 6, 18)
    z = model(x)
    z_perm = model(x[:, torch.randperm(6)])
    torch.testing.assert_close(z, z_perm, atol=1e-6, rtol=1e-5)
    x2 = x.clone()
    x2[:, 0] += 1.0  # changing an event does change the set's latent vector
    assert (model(x2) - z).abs().max() > 1e-4


def test_set_encoder_rejects_wrong_shape() -> None:
    with pytest.raises(ValueError, match=r"\(B, N, 18\)"):
        SetEncoder(EncoderConfig())(torch.zeros(3, 18))


def test_random_and_disjoint_sets_have_no_repeated_event() -> None:
    rng = np.random.default_rng(1)
    sets = random_sets(40, 200, 8, rng)
    assert sets.shape == (200, 8)
    assert all(len(set(s)) == 8 for s in sets.tolist())
    d = disjoint_sets(41, 8, rng)
    assert d.shape == (5, 8) and len(np.unique(d)) == 40


# ---------------------------------------------------------------------------- features, data


def test_physics_features_invariant_under_a_global_phi_rotation() -> None:
    ev = make_events(20).features.astype(np.float64)
    rotated = ev.copy()
    phi_cols = [2, 6, 10, 14, 17]
    rotated[:, phi_cols] = np.pi - np.mod(np.pi - (rotated[:, phi_cols] + 1.234), 2 * np.pi)
    np.testing.assert_allclose(physics_features(rotated), physics_features(ev), atol=1e-9)


def test_scaler_standardises_training_events_and_round_trips_through_json() -> None:
    ev = make_events(100).features
    scaler = Scaler.fit(ev)
    x = scaler.transform(ev)
    moving = np.array(scaler.std) != 1.0
    np.testing.assert_allclose(x.mean(0), 0.0, atol=1e-4)
    np.testing.assert_allclose(x.std(0)[moving], 1.0, atol=1e-4)
    np.testing.assert_allclose(x[:, 2], 0.0)  # Δφ of the leading jet to itself
    again = Scaler.from_dict({"mean": list(scaler.mean), "std": list(scaler.std)})
    np.testing.assert_array_equal(again.transform(ev), x)


def test_mirroring_equals_reflecting_the_raw_event_in_eta_or_phi() -> None:
    raw = make_events(40).features.astype(np.float64)
    scaler = Scaler.fit(raw)
    x = torch.as_tensor(scaler.transform(raw))[:, None]  # (40, 1, 18): sets of one
    mirrored = mirror_events(x, scaler, torch.Generator().manual_seed(0))[:, 0].numpy()
    eta_flipped, phi_flipped = raw.copy(), raw.copy()
    eta_flipped[:, list(ETA_COLUMNS)] *= -1
    phi_flipped[:, list(DPHI_COLUMNS)] *= -1  # raw φ → −φ flips every Δφ to the leading jet
    for cols, reflected in ((ETA_COLUMNS, eta_flipped), (DPHI_COLUMNS, phi_flipped)):
        cols = list(cols)
        same = np.isclose(mirrored[:, cols], x[:, 0, cols].numpy(), atol=1e-5).all(1)
        flip = np.isclose(mirrored[:, cols], scaler.transform(reflected)[:, cols],
                          atol=1e-5).all(1)
        assert (same | flip).all() and same.any() and (flip & ~same).any()
    others = [c for c in range(18) if c not in ETA_COLUMNS + DPHI_COLUMNS]
    np.testing.assert_allclose(mirrored[:, others], x[:, 0, others].numpy())


def test_unphysical_sample_keeps_every_marginal_and_breaks_correlations() -> None:
    source = make_events(100).features.astype(np.float64)
    rng = np.random.default_rng(3)
    fake = unphysical_sample(source, len(source), rng)
    np.testing.assert_array_equal(np.sort(fake, axis=0), np.sort(source, axis=0))
    assert (source[:, 0] >= source[:, 4]).all()  # real events: leading jet is leading
    assert (fake[:, 0] < fake[:, 4]).mean() > 0.2  # shuffled columns break the ordering
    with pytest.raises(ValueError, match="n ≤"):
        unphysical_sample(source, len(source) + 1, rng)


def test_prepare_data_split_is_disjoint_deterministic_and_adds_unphysical() -> None:
    events = make_events(50)
    a, b = prepare_data(events, seed=5), prepare_data(events, seed=5)
    assert [t.name for t in a.theories][-1] == "unphysical" and len(a.theories) == 5
    for t in range(4):
        np.testing.assert_array_equal(a.train_raw[t], b.train_raw[t])
        rows = {r.tobytes() for r in a.train_raw[t]}
        assert not rows & {r.tobytes() for r in a.test_raw[t]}
        np.testing.assert_array_equal(events.features[a.train_index[t]], a.train_raw[t])
    assert (a.train_index[-1] == -1).all()


# ---------------------------------------------------------------------------- KDE accuracy


def test_kde_accuracy_is_one_on_separated_clusters_and_chance_on_identical_ones() -> None:
    rng = np.random.default_rng(0)
    centres = np.eye(4, 8) * 20.0
    train = [c + rng.normal(size=(200, 8)) for c in centres]
    test = np.concatenate([c + rng.normal(size=(100, 8)) for c in centres])
    labels = np.repeat(np.arange(4), 100)
    assert kde_accuracy(train, test, labels) == 1.0
    same = [rng.normal(size=(200, 8)) for _ in range(4)]
    same_test = rng.normal(size=(400, 8))
    assert abs(kde_accuracy(same, same_test, labels) - 0.25) < 0.1


# ---------------------------------------------------------------------------- train, store, map


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory):
    events = make_events(120)
    data = prepare_data(events, seed=0)
    cfg = TrainConfig(method="contrastive", steps=60, sets_per_theory=8)
    model, record = train_encoder(data, EncoderConfig(set_size=4, hidden=32), cfg)
    out = tmp_path_factory.mktemp("theorymap")
    # a cheap non-linear stand-in for UMAP: the projection must reproduce whatever was stored
    tmap = build_map(model, "contrastive", data, per_theory=20,
                     reduce=lambda z: np.tanh(z[:, :2]) + 0.1 * z[:, 2:4] ** 2)
    save_encoder(out, model, dataclasses.asdict(cfg), data.scaler, data.theories, record, tmap)
    return events, data, model, tmap, out


def test_training_lowers_the_contrastive_loss(trained) -> None:
    _, data, _, _, out = trained
    _, meta = load_model(out, "contrastive", 4)
    history = meta["record"]["loss_history"]
    assert history[-1] < history[0]
    assert meta["train"]["method"] == "contrastive"
    assert len(meta["theories"]) == len(data.theories)


def test_checkpoint_round_trip_gives_the_same_latent_vectors(trained) -> None:
    _, data, model, _, out = trained
    loaded, meta = load_model(out, "contrastive", 4)
    sets = data.standardised("test")[0][disjoint_sets(len(data.test_raw[0]), 4,
                                                      np.random.default_rng(0))]
    np.testing.assert_array_equal(encode(loaded, sets), encode(model, sets))
    assert load_scaler(meta) == data.scaler


def test_stored_map_round_trip_and_projection_of_its_own_events(trained) -> None:
    events, data, model, tmap, out = trained
    stored = load_map(out, "contrastive", 4)
    np.testing.assert_array_equal(stored.umap, tmap.umap)
    assert stored.event_index.shape == (len(stored.umap), 4)
    real = np.flatnonzero((stored.event_index >= 0).all(1))
    proj = project_sets(model, MapProjector(stored), data.scaler,
                        events.features[stored.event_index[real]], np.array(["x"] * len(real)))
    np.testing.assert_allclose(proj.umap, stored.umap[real], atol=1e-3)
    np.testing.assert_allclose(proj.pca, stored.pca[real], atol=1e-4)
    np.testing.assert_allclose(proj.met, stored.met[real])


def test_project_events_groups_by_theory_and_rejects_too_few_events(trained) -> None:
    events, data, model, tmap, _ = trained
    projector = MapProjector(tmap)
    proj = project_events(model, projector, data.scaler, events.subset(slice(0, 130)),
                          np.random.default_rng(0))
    assert proj.umap.shape == (30 + 2, 2)  # 120 events of theory 0 → 30 sets; 10 → 2 sets
    assert set(proj.names) == {THEORIES[0].name, THEORIES[1].name}
    with pytest.raises(JetvizInputError, match="set size is 4"):
        project_events(model, projector, data.scaler, events.subset(slice(0, 3)),
                       np.random.default_rng(0))


def test_centroids_are_the_mean_position_of_each_theory(trained) -> None:
    _, _, _, tmap, _ = trained
    for projection in ("umap", "pca"):
        c = centroids(tmap, projection)
        xy = getattr(tmap, projection)
        assert c.shape == (int(tmap.theory.max()) + 1, 2)
        for t in np.unique(tmap.theory):
            np.testing.assert_allclose(c[t], xy[tmap.theory == t].mean(0), rtol=1e-6)
    sparse = dataclasses.replace(tmap, theory=np.where(tmap.theory == 1, 2, tmap.theory))
    assert np.isnan(centroids(sparse)[1]).all()  # a theory without points: no centroid


def test_legacy_flat_layout_converts_to_the_same_model_and_map(trained, tmp_path) -> None:
    """An old flat encoder (JSON + safetensors + _map.npz) becomes one checkpoint folder that
    loads to the same latent vectors and the same map."""
    import json

    from safetensors.torch import save_file

    from jetviz.cli.checkpoints import convert, legacy_format
    from jetviz.theorymap.checkpoint import map_arrays
    from jetviz.theorymap.sets import theory_to_dict

    _, data, model, tmap, out = trained
    _, meta = load_model(out, "contrastive", 4)
    old = tmp_path / "theorymap"
    old.mkdir()
    save_file(model.state_dict(), str(old / "contrastive_n4.safetensors"))
    (old / "contrastive_n4.json").write_text(json.dumps(
        {**{k: meta[k] for k in ("encoder", "train", "scaler")},
         "theories": [theory_to_dict(t) for t in data.theories], "record": meta["record"]}))
    np.savez_compressed(old / "contrastive_n4_map.npz", **map_arrays(tmap))
    assert legacy_format(old) == "theorymap-flat"
    assert convert(old) == [old / "contrastive_n4"]
    assert sorted(p.name for p in old.iterdir()) == ["contrastive_n4"]
    assert legacy_format(old) is None and convert(old) == []  # nothing left to convert
    loaded, again = load_model(old, "contrastive", 4)
    assert again["record"] == meta["record"] and again["scaler"] == meta["scaler"]
    sets = data.standardised("test")[0][:8, None].repeat(4, axis=1)
    np.testing.assert_array_equal(encode(loaded, sets), encode(model, sets))
    stored = load_map(old, "contrastive", 4)
    for name, values in map_arrays(tmap).items():
        np.testing.assert_array_equal(getattr(stored, name), values)


def test_nearest_in_latent_is_euclidean_sorted_and_excludes_the_query() -> None:
    latent = np.array([[0.0, 0.0], [3.0, 4.0], [1.0, 0.0], [0.0, -2.0], [10.0, 0.0]])
    rows, dist = nearest_in_latent(latent, 0, k=3)
    assert rows.tolist() == [2, 3, 1] and dist.tolist() == [1.0, 2.0, 5.0]
    rows, _ = nearest_in_latent(latent, 4, k=10)  # at most P − 1 neighbours
    assert len(rows) == 4 and 4 not in rows
    with pytest.raises(JetvizInputError, match="not on the map"):
        nearest_in_latent(latent, 5)
