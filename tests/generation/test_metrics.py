"""W1 and MMD: analytic answers, the JetNet batch protocol, and bad input."""

from __future__ import annotations

import numpy as np
import pytest

from jetviz.errors import JetvizInputError
from jetviz.generation.evaluation import (
    AS_GOOD,
    CHUNK,
    DISTINGUISHABLE,
    NOT_JUDGED,
    GeneratedChunk,
    batch_size_for,
    beta_grid,
    chunk_sizes,
    joined,
    score_rows,
    truth_halves,
    verdict,
    w1_ratio,
)
from jetviz.generation.metrics import (
    PARTICLE_FEATURES,
    FeatureSet,
    Score,
    concatenated,
    feature_set,
    fixed_by_frame,
    mmd2,
    random_splits,
    split_real,
    truth_baseline,
    w1,
    w1_over_splits,
    w1_protocol,
)
from tests.conftest import make_jetset


@pytest.mark.parametrize("shift", [0.0, 0.3, -2.5, 17.0])
def test_w1_of_shifted_sample_is_the_shift(shift):
    x = np.random.default_rng(0).normal(size=500)
    assert w1(x, x + shift) == pytest.approx(abs(shift), abs=1e-12)


def test_w1_of_two_point_masses_is_their_distance_and_symmetric():
    a, b = np.zeros(10), np.full(7, 3.0)
    assert w1(a, b) == pytest.approx(3.0)
    x, y = np.random.default_rng(1).normal(size=(2, 300))
    assert w1(x, y) == pytest.approx(w1(y, x))


def test_w1_refuses_empty_or_nan():
    with pytest.raises(JetvizInputError, match="non-empty"):
        w1(np.array([]), np.ones(3))
    with pytest.raises(JetvizInputError, match="finite"):
        w1(np.array([np.nan, 1.0]), np.ones(3))


def test_mmd_identical_samples_near_zero_and_grows_with_shift():
    rng = np.random.default_rng(2)
    x, y = rng.normal(size=(2, 800))
    same = mmd2(x, y, bandwidth=1.0)
    assert abs(same) < 5e-3
    values = [mmd2(x, y + c, bandwidth=1.0) for c in (0.5, 1.0, 2.0)]
    assert same < values[0] < values[1] < values[2]
    # exactly the same sample: unbiased estimate = −(2/n²)·Σ_i≠j k / … is tiny and ≤ 0
    assert mmd2(x, x, bandwidth=1.0) <= 1e-12


def test_mmd_analytic_for_far_apart_point_clouds():
    # Two clouds much farther apart than σ: cross terms vanish, within terms → 1: MMD² → 2.
    a = np.zeros((5, 2))
    b = np.full((6, 2), 100.0)
    assert mmd2(a, b, bandwidth=1.0) == pytest.approx(2.0)


def test_mmd_refuses_bad_input():
    with pytest.raises(JetvizInputError, match="same dimension"):
        mmd2(np.zeros((4, 2)), np.zeros((4, 3)))
    with pytest.raises(JetvizInputError, match="bandwidth"):
        mmd2(np.zeros(4), np.ones(4), bandwidth=0.0)


def _features(n: int, seed: int):
    jets = make_jetset(n=n, p=12, seed=seed)
    return feature_set(jets.particles, jets.mask, jets.jets[:, 0])


def test_protocol_returns_mean_and_std_over_requested_batches():
    real, gen = _features(60, 0), _features(50, 1)
    out = w1_protocol(real, gen, ("mass", "tau21", "etarel"), n_batches=4, batch_size=20,
                      rng=np.random.default_rng(0), with_mmd=True)
    assert set(out) == {"mass", "tau21", "etarel"}
    for scores in out.values():
        w = scores["w1"]
        assert len(w.values) == 4
        assert w.mean == pytest.approx(np.mean(w.values))
        assert w.std == pytest.approx(np.std(w.values))
        assert all(v >= 0 for v in w.values)
        assert len(scores["mmd2"].values) == 4


def test_protocol_shift_of_jet_observable_equals_shift():
    real = _features(40, 3)
    shifted = real.subset(slice(None))
    shifted.jet["mass"] = real.jet["mass"] + 5.0
    # full batches (batch = all jets) of the same jets: W1 is exactly the shift every time
    out = w1_protocol(real, shifted, ("mass",), n_batches=3, batch_size=40,
                      rng=np.random.default_rng(0))
    assert out["mass"]["w1"].mean == pytest.approx(5.0)
    assert out["mass"]["w1"].std == pytest.approx(0.0, abs=1e-12)


def test_particle_features_use_real_particles_only():
    fs = _features(10, 4)
    for name in PARTICLE_FEATURES:
        assert fs.values(name).size == int(fs.mask.sum())
    assert fs.values("ptrel").min() > 0


def test_truth_baseline_smaller_than_a_shifted_generator():
    real = _features(200, 5)
    ia, ib = split_real(len(real), np.random.default_rng(0))
    assert len(np.intersect1d(ia, ib)) == 0 and len(ia) + len(ib) == 200
    ref, other = real.subset(ia), real.subset(ib)
    bad = other.subset(slice(None))
    bad.jet["mass"] = other.jet["mass"] * 1.5
    base = truth_baseline(ref, other, ("mass",), batch_size=50, rng=np.random.default_rng(1))
    gen = w1_protocol(ref, bad, ("mass",), batch_size=50, rng=np.random.default_rng(1))
    assert base["mass"]["w1"].mean < gen["mass"]["w1"].mean


def test_protocol_refuses_batches_larger_than_the_samples():
    real, gen = _features(10, 0), _features(8, 1)
    with pytest.raises(JetvizInputError, match="batch_size 9"):
        w1_protocol(real, gen, ("mass",), batch_size=9, rng=np.random.default_rng(0))
    with pytest.raises(JetvizInputError, match="unknown observable"):
        w1_protocol(real, gen, ("nonsense",), batch_size=5, rng=np.random.default_rng(0))


def test_fixed_by_frame_names_the_centred_axis_and_a_constant_multiplicity():
    from jetviz.physics.frame import preprocess

    jets = make_jetset(n=80, p=12, seed=3)
    full = np.ones_like(jets.mask)  # every jet keeps all 12 slots
    particles = np.where(full[..., None], jets.particles, 0.0)
    particles[..., 0] = np.where(jets.mask, particles[..., 0], 1e-3)
    framed = preprocess(particles, full)[0]
    fixed = fixed_by_frame(feature_set(framed, full, jets.jets[:, 0]))
    assert set(fixed) == {"eta", "phi", "multiplicity"}
    assert "12 hardest particles" in fixed["multiplicity"]
    # the lab frame: jets spread in η and φ, multiplicities differ: nothing is fixed
    assert fixed_by_frame(feature_set(jets.particles, jets.mask, jets.jets[:, 0])) == {}


# ---------------------------------------------------------------- evaluation (the pages' engine)


def test_verdict_is_within_two_standard_deviations_of_truth():
    truth = Score.of([1.0, 1.2, 0.8, 1.1, 0.9])  # mean 1, std √0.02
    edge = truth.mean + 2 * truth.std
    assert verdict(Score.of([edge] * 5), truth) == AS_GOOD
    assert verdict(Score.of([edge * 1.001] * 5), truth) == DISTINGUISHABLE
    assert w1_ratio(Score.of([3.0]), truth) == pytest.approx(3.0)
    assert w1_ratio(Score.of([3.0]), Score.of([0.0])) == float("inf")


def test_score_rows_judge_every_observable_but_the_fixed_ones():
    names = ("mass", "eta")
    good = {"w1": Score.of([1.0, 1.0]), "mmd2": Score.of([0.0, 0.0])}
    bad = {"w1": Score.of([9.0, 9.0]), "mmd2": Score.of([0.1, 0.1])}
    truth = {n: good for n in names}
    rows = score_rows({"mass": bad, "eta": good}, truth, {"eta": "fixed by the frame"}, names)
    assert [r["verdict"] for r in rows] == [DISTINGUISHABLE, NOT_JUDGED]
    assert rows[0]["observable"] == "jet mass [GeV]" and rows[0]["ratio"] == "9.00"
    assert rows[1]["ratio"] == "—"


def test_chunks_join_into_the_jets_asked_for():
    assert chunk_sizes(1) == [1]
    assert chunk_sizes(2 * CHUNK + 3) == [CHUNK, CHUNK, 3]
    jets = make_jetset(n=30, p=6, seed=2)
    fs = feature_set(jets.particles, jets.mask, jets.jets[:, 0])
    parts = [GeneratedChunk(fs.subset(slice(0, 10)), jets.jets[:10, 0]),
             GeneratedChunk(fs.subset(slice(10, 30)), jets.jets[10:, 0])]
    together, pt = joined(parts)
    assert len(together) == 30 and np.array_equal(pt, jets.jets[:, 0])
    for name in ("mass", "ptrel"):
        np.testing.assert_array_equal(together.values(name), fs.values(name))


def test_truth_halves_are_disjoint_and_cover_the_class():
    jets = make_jetset(n=40, p=6, seed=4)
    truth = truth_halves(jets, jets.class_names[:1], 6, 0.8)
    n_class = int(np.sum(jets.labels == 0))
    assert len(truth.reference) + len(truth.baseline) == n_class
    assert abs(len(truth.reference) - len(truth.baseline)) <= 1
    smaller_half = min(len(truth.reference), len(truth.baseline))
    assert batch_size_for(10_000, truth, 10_000) == smaller_half
    assert batch_size_for(10_000, truth, 2) == 2
    assert batch_size_for(3, truth, 10_000) == 3


def test_beta_grid_stays_in_range_and_holds_the_generators_beta():
    assert beta_grid(1.0, 100.0, 7.0) == [1, 2, 5, 7.0, 10, 20, 50, 100]
    assert beta_grid(5.0, 20.0, 5.0) == [5, 10, 20]


def _one_observable(values: np.ndarray) -> FeatureSet:
    n = len(values)
    return FeatureSet({"mass": values}, np.zeros((n, 1, 3)), np.ones((n, 1), bool))


def test_w1_over_splits_medians_truth_and_a_shifted_generator():
    rng = np.random.default_rng(5)
    real = _one_observable(rng.normal(80.0, 5.0, 4000))
    splits = random_splits(len(real), 9, np.random.default_rng(1))
    assert all(len(np.intersect1d(a, b)) == 0 and len(a) + len(b) == 4000 for a, b in splits)
    truth = w1_over_splits(real, splits, ("mass",), batch_size=1000,
                           rng=np.random.default_rng(2))["mass"]
    assert len(truth.values) == 9 and truth.low <= truth.median <= truth.high
    assert 0 < truth.median < 1.0  # two draws of one Gaussian: W1 ~ σ/√n-ish, far below 5
    shifted = _one_observable(rng.normal(83.0, 5.0, 2000))
    gen = w1_over_splits(real, splits, ("mass",), batch_size=1000, rng=np.random.default_rng(2),
                         generated=shifted)["mass"]
    assert gen.median == pytest.approx(3.0, abs=0.4)  # a shift by c gives W1 ≈ |c|
    both = concatenated([real, shifted])
    assert len(both) == 6000 and both.jet["mass"][4000] == shifted.jet["mass"][0]
    with pytest.raises(JetvizInputError, match="at least one split"):
        random_splits(10, 0, np.random.default_rng(0))
