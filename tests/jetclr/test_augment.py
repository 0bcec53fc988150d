"""JetCLR augmentations keep what they should: jet four-vector, pT and mass, the ptrel sum,
the set of particles; and change only what they should."""

from __future__ import annotations

import numpy as np
import pytest

from jetviz.errors import JetvizInputError
from jetviz.jetclr.augment import (
    ABLATION_SETS,
    AUGMENTATION_PANELS,
    AugmentConfig,
    add_soft,
    augment,
    augmentation_set,
    augmented_views,
    collinear_split,
    pad_particles,
    permute,
    rotate,
    smear_soft,
    translate,
)
from jetviz.physics import jet_p4s_from_particles, jet_ptetaphims_from_particles
from tests.conftest import make_jetset


@pytest.fixture
def batch() -> tuple[np.ndarray, np.ndarray]:
    jets = make_jetset(n=30, p=12, seed=3)
    return pad_particles(jets.particles.astype(np.float64), jets.mask, 20)


def _pt_mass(x: np.ndarray, m: np.ndarray) -> np.ndarray:
    return jet_ptetaphims_from_particles(x, m)[:, [0, 3]]  # (N, 2) pT, mass (units of pT_jet)


def _sorted_rows(x: np.ndarray, m: np.ndarray) -> list[np.ndarray]:
    return [x[i][m[i]][np.lexsort(x[i][m[i]].T)] for i in range(len(x))]


def test_rotation_keeps_jet_mass_and_pt_and_moves_particles(batch):
    x, m = batch
    y, m2 = rotate(x, m, np.random.default_rng(0))
    np.testing.assert_array_equal(m2, m)
    np.testing.assert_allclose(_pt_mass(y, m2), _pt_mass(x, m), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(jet_p4s_from_particles(y, m2), jet_p4s_from_particles(x, m),
                               atol=1e-12)
    assert np.abs(y[..., 1:] - x[..., 1:])[m].max() > 0.05  # it did rotate
    assert (y[~m] == 0).all()


def test_rotation_by_a_full_turn_is_the_identity(batch):
    x, m = batch
    y, _ = rotate(x, m, np.random.default_rng(0), angles=np.full(len(x), 2 * np.pi))
    np.testing.assert_allclose(y, x, atol=1e-9)


def test_translation_shifts_centroid_by_the_given_amount_and_keeps_pt_mass(batch):
    x, m = batch
    shifts = np.random.default_rng(1).normal(0, 0.3, size=(len(x), 2))
    y, m2 = translate(x, m, np.random.default_rng(0), shifts=shifts)
    w = np.where(m, x[..., 0], 0.0)

    def centroid(p: np.ndarray) -> np.ndarray:
        return (w[..., None] * p[..., 1:]).sum(1) / w.sum(1, keepdims=True)

    np.testing.assert_allclose(centroid(y) - centroid(x), shifts, atol=1e-12)
    np.testing.assert_allclose(_pt_mass(y, m2), _pt_mass(x, m), rtol=1e-9)
    assert (y[~m] == 0).all()


def test_collinear_split_keeps_four_vector_and_ptrel_sum(batch):
    x, m = batch
    y, m2 = collinear_split(x, m, np.random.default_rng(2), n_split=4)
    added = m2.sum(1) - m.sum(1)
    assert (added == np.minimum(4, m.sum(1))).all()  # room for all: 20 slots, ≤ 12 real
    assert (m2 | ~m).all()  # no particle is removed
    np.testing.assert_allclose(jet_p4s_from_particles(y, m2), jet_p4s_from_particles(x, m),
                               atol=1e-12)
    np.testing.assert_allclose((y[..., 0] * m2).sum(1), (x[..., 0] * m).sum(1), atol=1e-12)


def test_collinear_split_without_free_slots_changes_nothing():
    jets = make_jetset(n=5, p=6, seed=4)
    full = np.ones_like(jets.mask)
    x = np.where(full[..., None], jets.particles + np.array([0.01, 0, 0]), 0.0)
    y, m2 = collinear_split(x, full, np.random.default_rng(0), n_split=3)
    np.testing.assert_array_equal(y, x)
    np.testing.assert_array_equal(m2, full)


def test_permutation_keeps_every_particle(batch):
    x, m = batch
    y, m2 = permute(x, m, np.random.default_rng(5))
    assert not np.array_equal(m2, m)  # the padding moved too
    for a, b in zip(_sorted_rows(x, m), _sorted_rows(y, m2), strict=True):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(_pt_mass(y, m2), _pt_mass(x, m), rtol=1e-12)


def test_soft_noise_adds_only_soft_particles_in_free_slots(batch):
    x, m = batch
    jet_pt = np.full(len(x), 1000.0)
    y, m2 = add_soft(x, m, np.random.default_rng(6), jet_pt, n_max=5, pt_max_gev=1.0)
    np.testing.assert_array_equal(y[m], x[m])  # real particles untouched
    new = m2 & ~m
    assert (new.sum(1) <= 5).all() and new.sum() > 0
    assert (y[new][:, 0] > 0).all() and (y[new][:, 0] <= 1.0 / 1000.0).all()
    assert (np.hypot(y[new][:, 1], y[new][:, 2]) <= 0.8).all()
    full = np.ones_like(m[:, :12])
    _, m3 = add_soft(x[:, :12], full, np.random.default_rng(6), jet_pt)
    np.testing.assert_array_equal(m3, full)  # no free slot: nothing added


def test_soft_smearing_moves_soft_particles_more_and_keeps_pt(batch):
    x, m = batch
    y, _ = smear_soft(x, m, np.random.default_rng(7), jet_pt=1000.0, strength_gev=0.5)
    np.testing.assert_array_equal(y[..., 0], x[..., 0])
    move = np.hypot(*(y[..., 1:] - x[..., 1:]).transpose(2, 0, 1))[m]
    pt = x[..., 0][m] * 1000.0
    assert np.median(move[pt < np.median(pt)]) > 3 * np.median(move[pt >= np.median(pt)])


def test_augment_all_keeps_mass_up_to_soft_terms(batch):
    x, m = batch
    y, m2 = augment(x, m, np.random.default_rng(8), ABLATION_SETS["all"], jet_pt=1000.0)
    assert m2.sum() >= m.sum()
    # Only smearing and ≤ 5 GeV of soft noise change the jet: pT within 1 %.
    np.testing.assert_allclose(_pt_mass(y, m2)[:, 0], _pt_mass(x, m)[:, 0], rtol=1e-2)


def test_augment_is_reproducible_and_leaves_input_alone(batch):
    x, m = batch
    before = x.copy()
    a = augment(x, m, np.random.default_rng(9), ABLATION_SETS["all"])
    b = augment(x, m, np.random.default_rng(9), ABLATION_SETS["all"])
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(x, before)


def test_extra_slots_and_bad_input():
    assert AugmentConfig(collinear=True, soft=True, n_split=3, n_soft=4).extra_slots == 7
    with pytest.raises(JetvizInputError, match="unknown augmentation set"):
        augmentation_set("mirror")
    with pytest.raises(JetvizInputError, match=r"\(N, P, 3\)"):
        rotate(np.zeros((4, 3)), np.zeros(4, bool), np.random.default_rng(0))


def test_augmented_views_of_one_jet_are_seeded_per_panel_and_keep_the_jet_where_they_should():
    from jetviz.figures.jetclr import augmentation_extent

    jets = make_jetset(n=2, p=12, seed=4)
    x, m, pt = jets.particles[0], jets.mask[0], float(jets.jets[0, 0])
    views = augmented_views(x, m, pt, seed=3, radius=0.8)
    assert list(views) == list(AUGMENTATION_PANELS)
    again = augmented_views(x, m, pt, seed=3, radius=0.8)
    for title, (y, my) in views.items():
        np.testing.assert_array_equal(y, again[title][0])  # same seed, same views
        assert y.shape == (12 + ABLATION_SETS["all"].extra_slots, 3) and my.shape == y.shape[:1]
    y, my = views["collinear splitting"]  # splitting keeps the ptrel sum
    assert np.isclose(y[my, 0].sum(), x[m, 0].sum()) and my.sum() > m.sum()
    y, my = views["translation in (η, φ)"]  # translation keeps every particle's ptrel
    np.testing.assert_allclose(np.sort(y[my, 0]), np.sort(x[m, 0]))
    other = augmented_views(x, m, pt, seed=4, radius=0.8)
    assert not np.array_equal(other["all (+ permutation)"][0], views["all (+ permutation)"][0])
    extent = augmentation_extent(views, 0.8)
    reach = max(np.abs(v[mv][:, 1:]).max() for v, mv in views.values())
    assert extent >= 1.1 * 0.8 and extent >= reach
