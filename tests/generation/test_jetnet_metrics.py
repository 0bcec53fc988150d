"""FPD, KPD and the W1s of the JetNet protocol against closed forms and direct computations."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import linalg
from scipy.stats import iqr, wasserstein_distance

from jetviz.errors import JetvizInputError
from jetviz.generation.evaluation import jetnet_rows
from jetviz.generation.jetnet_metrics import (
    SCALES,
    Estimate,
    JetNetScores,
    fpd,
    frechet_distance,
    jet_efps,
    jetnet_scores,
    kpd,
    mmd2_polynomial,
    w1efp,
    w1efp_features,
    w1m,
    w1p,
)
from jetviz.generation.metrics import feature_set
from tests.conftest import make_jetset


def test_frechet_distance_of_commuting_gaussians_is_the_closed_form():
    mu1, mu2 = np.array([0.0, 1.0, -2.0]), np.array([0.5, 1.0, 0.0])
    a, b = np.array([1.0, 4.0, 0.25]), np.array([9.0, 1.0, 0.25])
    expected = np.sum((mu1 - mu2) ** 2) + np.sum((np.sqrt(a) - np.sqrt(b)) ** 2)
    assert frechet_distance(mu1, np.diag(a), mu2, np.diag(b)) == pytest.approx(expected)


def test_frechet_distance_matches_the_matrix_square_root_formula():
    rng = np.random.default_rng(3)
    m1, m2 = rng.normal(size=(2, 4, 4))
    s1, s2 = m1 @ m1.T + 0.1 * np.eye(4), m2 @ m2.T + 0.1 * np.eye(4)
    mu1, mu2 = rng.normal(size=(2, 4))
    covmean = linalg.sqrtm(s1 @ s2).real
    expected = np.sum((mu1 - mu2) ** 2) + np.trace(s1 + s2 - 2 * covmean)
    assert frechet_distance(mu1, s1, mu2, s2) == pytest.approx(expected, rel=1e-9)
    assert frechet_distance(mu1, s1, mu1, s1) == pytest.approx(0.0, abs=1e-9)


def test_a_constant_feature_needs_no_regulator():
    s = np.diag([0.0, 1.0])  # e.g. Σ z = 1 for every jet
    assert frechet_distance(np.zeros(2), s, np.zeros(2), s) == pytest.approx(0.0, abs=1e-12)


def _fpd_direct(x, y, sizes, num_batches, seed):
    """jetnet 0.2.5's loop: rng.choice draws, np.cov, the sqrtm Fréchet distance, a + b/N fit."""
    maxes = np.abs(x).max(0)
    x, y = x / maxes, y / maxes
    rng = np.random.default_rng(seed)
    means = []
    for size in sizes:
        vals = []
        for _ in range(num_batches):
            a, b = x[rng.choice(len(x), size=size)], y[rng.choice(len(y), size=size)]
            s1, s2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
            d = a.mean(0) - b.mean(0)
            vals.append(d @ d + np.trace(s1 + s2 - 2 * linalg.sqrtm(s1 @ s2).real))
        means.append(np.mean(vals))
    slope, intercept = np.polyfit(1 / np.asarray(sizes, float), means, 1)
    return intercept, slope


def test_fpd_equals_the_direct_computation_with_the_same_draws():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 3)) @ np.array([[1, 0.3, 0], [0, 1, 0.2], [0, 0, 1]])
    y = rng.normal(0.4, 1.3, size=(400, 3))
    sizes = (1 / np.linspace(1 / 200, 1 / 500, 4)).astype("int32")
    intercept, slope = _fpd_direct(x, y, sizes, 3, seed=5)
    assert slope > 0 and intercept > 0  # the bounded fit then equals the free one
    got = fpd(x, y, min_samples=200, max_samples=500, num_batches=3, num_points=4, seed=5)
    assert got.value == pytest.approx(intercept, rel=1e-6)


def test_fpd_of_two_gaussian_samples_approaches_the_closed_form():
    rng = np.random.default_rng(1)
    cov1, cov2 = np.array([[1.0, 0.5], [0.5, 2.0]]), np.array([[1.5, -0.3], [-0.3, 0.8]])
    x = rng.multivariate_normal([0, 0], cov1, size=40_000)
    y = rng.multivariate_normal([0.5, -0.2], cov2, size=40_000)
    expected = frechet_distance(np.zeros(2), cov1, np.array([0.5, -0.2]), cov2)
    got = fpd(x, y, min_samples=2_000, max_samples=10_000, num_batches=5, num_points=4,
              normalise_features=False)
    assert got.value == pytest.approx(expected, rel=0.05)


def test_fpd_of_a_sample_with_itself_is_zero():
    x = np.random.default_rng(2).normal(size=(2_000, 4))
    got = fpd(x, x, min_samples=500, max_samples=2_000, num_batches=5, num_points=4)
    assert got.value < 1e-3 * fpd(x, x + 0.5, min_samples=500, max_samples=2_000,
                                   num_batches=5, num_points=4).value


@pytest.mark.parametrize("degree", [3, 4])
def test_polynomial_mmd_equals_the_brute_force_double_sum(degree):
    rng = np.random.default_rng(4)
    x, y = rng.normal(size=(5, 3)), rng.normal(0.3, 1, size=(4, 3))

    def k(a, b):
        return (a @ b / 3 + 1) ** degree

    kxx = sum(k(x[i], x[j]) for i in range(5) for j in range(5) if i != j) / 20
    kyy = sum(k(y[i], y[j]) for i in range(4) for j in range(4) if i != j) / 12
    kxy = sum(k(a, b) for a in x for b in y) / 20
    assert mmd2_polynomial(x, y, degree) == pytest.approx(kxx + kyy - 2 * kxy, rel=1e-12)


# pools larger than a batch: summed batch by batch; smaller: once over the pool, per column
@pytest.mark.parametrize(("n_x", "n_y"), [(120, 150), (40, 50)])
def test_kpd_equals_the_median_of_direct_mmds_with_jetnets_draws(n_x, n_y):
    rng = np.random.default_rng(6)
    x, y = rng.normal(size=(n_x, 3)), rng.normal(0.2, 1.1, size=(n_y, 3))
    maxes = np.abs(x).max(0)
    values = []
    for i in range(5):
        r = np.random.default_rng(42 + 1000 * i)
        a, b = x[r.choice(n_x, size=60)] / maxes, y[r.choice(n_y, size=60)] / maxes
        values.append(mmd2_polynomial(a, b))
    got = kpd(x, y, num_batches=5, batch_size=60)
    assert got.value == pytest.approx(np.median(values), rel=1e-10)
    assert got.error == pytest.approx(iqr(values, rng=(16.275, 83.725)) / 2, rel=1e-8)


def test_kpd_of_one_distribution_is_near_zero_and_grows_with_a_shift():
    rng = np.random.default_rng(7)
    x, y = rng.normal(size=(2, 1_000, 3))
    same = kpd(x, y, num_batches=5, batch_size=300)
    shifted = kpd(x, y + 1.0, num_batches=5, batch_size=300)
    assert abs(same.value) < 3 * same.error + 1e-3 < shifted.value


def _features(n: int, seed: int):
    jets = make_jetset(n, 10, seed)
    return feature_set(jets.particles, jets.mask, 1000.0)


def test_w1m_and_w1p_equal_scipy_on_jetnets_draws():
    real, gen = _features(50, 0), _features(60, 1)
    rng = np.random.default_rng(42)
    direct_m = []
    for _ in range(3):
        ia, ib = rng.choice(50, size=80), rng.choice(60, size=80)
        direct_m.append(wasserstein_distance(real.values("mass_rel")[ia],
                                             gen.values("mass_rel")[ib]))
    got_m = w1m(real, gen, num_eval_samples=80, num_batches=3)
    assert got_m.value == pytest.approx(np.mean(direct_m), rel=1e-9)
    assert got_m.error == pytest.approx(np.std(direct_m), rel=1e-6)
    got_p = w1p(real, gen, num_eval_samples=80, num_batches=3, seed=43)
    rng = np.random.default_rng(43)
    direct_p = []
    for _ in range(3):
        ia, ib = rng.choice(50, size=80), rng.choice(60, size=80)
        pa, pb = real.particles[ia][real.mask[ia]], gen.particles[ib][gen.mask[ib]]
        direct_p.append([wasserstein_distance(pa[:, k], pb[:, k]) for k in range(3)])
    assert got_p.value == pytest.approx(np.mean(direct_p), rel=1e-9)


def test_w1efp_uses_the_five_prime_n4_d4_efps_and_is_zero_for_one_sample():
    real = _features(40, 2)
    e = jet_efps(real)
    assert e.shape == (40, 36) and w1efp_features(e).shape == (40, 5)
    assert w1efp(e, e, num_eval_samples=40, num_batches=2).value >= 0
    same_draws = w1efp(e, e, num_eval_samples=40, num_batches=1)
    assert same_draws.value < w1efp(e, e * 2, num_eval_samples=40, num_batches=1).value


def test_bad_input_is_refused():
    with pytest.raises(JetvizInputError, match="same d"):
        fpd(np.ones((10, 3)), np.ones((10, 4)))
    with pytest.raises(JetvizInputError, match="finite"):
        kpd(np.full((10, 2), np.nan), np.ones((10, 2)))
    with pytest.raises(JetvizInputError, match="min_samples"):
        fpd(np.ones((10, 2)), np.ones((10, 2)), min_samples=100, max_samples=10)
    with pytest.raises(JetvizInputError, match=r"\(N, 36\)"):
        w1efp_features(np.ones((4, 5)))


def test_scores_and_rows_carry_the_reported_units_and_the_sample_size_warning():
    real, other = _features(60, 3), _features(60, 4)
    s = jetnet_scores(real, jet_efps(real), other, jet_efps(other))
    assert isinstance(s, JetNetScores) and s.below_recommended()
    rows = jetnet_rows(s, s)
    assert [r["sample"] for r in rows] == ["generated vs real", "truth vs truth"]
    assert rows[0]["FPD ×10³"] == Estimate(s.fpd.value, s.fpd.error).scaled(SCALES["fpd"])
    assert "KPD ×10⁶" in rows[0] and "W1EFP ×10⁵" in rows[0] and "W1M ×10³" in rows[0]
