"""Shared histogram binning: ranges, integer and log edges, degenerate samples."""

import numpy as np

from jetviz.figures.binning import histogram_edges


def test_range_ignores_outliers_and_pools_samples():
    rng = np.random.default_rng(0)
    a, b = rng.normal(0, 1, 5000), rng.normal(3, 1, 5000)
    edges = histogram_edges([a, np.append(b, 1e9)], 40)
    assert len(edges) == 41 and np.all(np.diff(edges) > 0)
    assert edges[0] < -2 and 5 < edges[-1] < 10


def test_integer_edges_centre_each_integer():
    edges = histogram_edges(np.array([3, 4, 4, 7, 9]), 40, integer=True, quantiles=(0, 1))
    np.testing.assert_allclose(edges, np.arange(2.5, 9.5 + 1e-9, 1.0))


def test_log_edges_are_geometric_and_positive():
    edges = histogram_edges(np.array([0.0, 1e-4, 1e-2, 1.0]), 10, log=True, quantiles=(0, 1))
    assert edges[0] == 1e-4 and np.isclose(edges[-1], 1.0)
    np.testing.assert_allclose(edges[1:] / edges[:-1], edges[1] / edges[0])


def test_constant_and_empty_samples_get_a_range():
    assert np.all(np.diff(histogram_edges(np.full(10, 2.0), 5)) > 0)
    np.testing.assert_array_equal(histogram_edges(np.array([np.nan]), 4),
                                  np.linspace(0, 1, 5))
