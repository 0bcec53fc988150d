"""Calibration and IBU on cases with known answers: a posterior equal to the true Gaussian
is calibrated and an overconfident one is not; IBU with a diagonal response returns its
input; IBU undoes a known smearing better than the smeared histogram; W1 of a shift."""

from __future__ import annotations

import numpy as np
import pytest

from jetviz.errors import JetvizInputError
from jetviz.unfolding.ibu import histogram, iterative_bayesian_unfolding, response_matrix
from jetviz.unfolding.metrics import (
    QUANTILES,
    calibration_error,
    coverage,
    pit_values,
    w1_binned,
    w1_hist,
)


def test_the_true_gaussian_posterior_is_calibrated_and_a_narrow_one_is_not():
    rng = np.random.default_rng(0)
    n, s = 4000, 400
    mu = rng.normal(0, 3, n)  # each event's posterior mean
    truth = mu + rng.standard_normal(n)  # truth ~ N(mu, 1): the posterior is N(mu, 1)
    right = mu[None, :] + rng.standard_normal((s, n))
    narrow = mu[None, :] + 0.5 * rng.standard_normal((s, n))
    assert calibration_error(pit_values(right, truth)) < 0.03
    assert calibration_error(pit_values(narrow, truth)) > 0.1
    c = coverage(pit_values(narrow, truth))
    assert c[0] > QUANTILES[0] and c[-1] < QUANTILES[-1]  # the S-shape of overconfidence


def test_ibu_with_a_diagonal_response_returns_the_input():
    data = np.array([5.0, 12.0, 30.0, 7.0, 1.0])
    prior = np.array([1.0, 1.0, 1.0, 1.0, 1.0])
    for iterations in (1, 4, 20):
        assert np.allclose(iterative_bayesian_unfolding(data, np.eye(5), prior, iterations),
                           data)


def test_ibu_undoes_a_known_smearing():
    rng = np.random.default_rng(3)
    edges = np.linspace(-4, 4, 33)
    truth_sim = rng.normal(0, 1, 200_000)
    response, prior = response_matrix(truth_sim, truth_sim + rng.normal(0, 0.5, 200_000),
                                      edges, edges)
    assert np.allclose(response.sum(axis=0)[prior > 0], 1.0)
    truth = rng.normal(0.3, 0.8, 50_000)  # another spectrum than the prior's
    measured = histogram(truth + rng.normal(0, 0.5, 50_000), edges)
    unfolded = iterative_bayesian_unfolding(measured, response, prior, iterations=20)
    target = histogram(truth, edges)
    assert unfolded.sum() == pytest.approx(measured.sum())
    assert w1_hist(unfolded, target, edges) < 0.3 * w1_hist(measured, target, edges)


def test_w1_of_a_shift_and_clear_errors():
    edges = np.linspace(0, 10, 101)
    a = np.full(1000, 2.05)
    assert w1_binned(a, a + 3.0, edges) == pytest.approx(3.0, abs=1e-9)
    with pytest.raises(JetvizInputError, match="response"):
        iterative_bayesian_unfolding(np.ones(3), np.eye(4), np.ones(4))
    with pytest.raises(JetvizInputError, match="samples"):
        pit_values(np.zeros((10, 3)), np.zeros(4))


def _observed(n: int, rng: np.random.Generator):
    from jetviz.unfolding.analysis import Observed

    truth = {"m_ll": rng.normal(91, 3, n), "m_jj": rng.normal(80, 3, n),
             "pt_j1": rng.gamma(4, 15, n), "pt_l1": rng.gamma(4, 15, n),
             "dphi_jj": rng.uniform(0, np.pi, n)}
    detector = {k: v + rng.normal(0, 0.05 * np.std(v), n) for k, v in truth.items()}
    detector["pt_j2"] = 0.7 * detector["pt_j1"]
    return Observed(detector, truth)


def test_perfect_posteriors_unfold_exactly_and_cuts_select_events():
    from jetviz.unfolding.analysis import unfold_all, w1_table
    from jetviz.unfolding.data import OBSERVABLES

    rng = np.random.default_rng(0)
    train, test = _observed(20_000, rng), _observed(4000, rng)
    samples = np.stack([test.truth[o] for o in OBSERVABLES], axis=-1)[None]  # (1, N, 5)
    results = unfold_all(test, samples, train, "pT,j1 = 30–100 GeV", rng, baseline_draws=3)
    keep = (test.detector["pt_j1"] >= 30) & (test.detector["pt_j1"] < 100)
    for name, u in results.items():
        assert u.n_events == keep.sum()
        assert u.w1["cinn"] == pytest.approx(0.0, abs=1e-12), name
        assert u.hists["truth"].sum() == keep.sum()
        assert u.w1["baseline"] > 0
    rows = w1_table({"cut": results})
    assert len(rows) == len(OBSERVABLES) and all(r["cINN / baseline"] == 0 for r in rows)
