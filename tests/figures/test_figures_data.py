"""Figures of the data page: histograms are normalised per class, the event display draws
exactly the real particles with pT = ptrel · pT_jet, the jet image keeps its orientation."""

from __future__ import annotations

import numpy as np
import pytest

from jetviz.figures.data import (
    OBSERVABLE_AXES,
    class_histograms,
    event_display,
    jet_image_figure,
)
from tests.conftest import make_jetset


def _values(n: int, seed: int) -> tuple[dict[str, np.ndarray], np.ndarray]:
    rng = np.random.default_rng(seed)
    values = {key: rng.normal(size=n) for key in OBSERVABLE_AXES}
    values["multiplicity"] = rng.integers(5, 60, size=n).astype(float)
    values["mass"][0] = 1e6  # an outlier must not swallow the range
    labels = rng.integers(0, 3, size=n)
    return values, labels


def test_histograms_have_unit_area_per_class_and_panel():
    values, labels = _values(2000, seed=0)
    fig = class_histograms(values, labels, ("g", "q", "t"))
    assert len(fig.data) == 3 * len(OBSERVABLE_AXES)
    for trace in fig.data:
        edges, density = np.asarray(trace.x), np.asarray(trace.y)[:-1]
        assert np.sum(density * np.diff(edges)) == pytest.approx(1.0)
    mass_edges = np.asarray(fig.data[0].x)
    assert mass_edges[-1] < 10  # the 1e6 outlier sits in the last bin, not in the range
    assert sum(t.showlegend for t in fig.data) == 3  # one legend entry per class
    assert fig.layout.font.size >= 14


def test_integer_observables_get_one_bin_per_integer():
    values, labels = _values(2000, seed=1)
    values["multiplicity"] = np.random.default_rng(1).integers(5, 30, size=2000).astype(float)
    fig = class_histograms(values, labels, ("g", "q", "t"), observables=("multiplicity",))
    edges = np.asarray(fig.data[0].x)
    np.testing.assert_allclose(edges - np.floor(edges), 0.5)
    np.testing.assert_allclose(np.diff(edges), 1.0)  # 25 integers, fewer than 40 bins
    assert edges[0] < values["multiplicity"].min() and edges[-1] > values["multiplicity"].max()


def test_event_display_draws_the_real_particles_with_their_pt():
    jets = make_jetset(n=4, p=12, seed=2)
    i = int(np.argmin(jets.mask.sum(1)))  # a jet with padding
    fig = event_display(jets.particles[i], jets.mask[i], 1000.0, 0.8, "jet")
    particles = fig.data[-1]
    real = jets.particles[i][jets.mask[i]]
    np.testing.assert_allclose(particles.x, real[:, 1])
    np.testing.assert_allclose(particles.y, real[:, 2])
    np.testing.assert_allclose(np.asarray(particles.customdata)[:, 0], 1000.0 * real[:, 0],
                               rtol=1e-6)
    circle = fig.layout.shapes[0]
    assert (circle.type, circle.x1, circle.y1) == ("circle", 0.8, 0.8)
    assert fig.layout.yaxis.scaleanchor == "x"  # equal scales: the circle looks round
    assert "GeV" in particles.hovertemplate


def test_jet_image_is_log_scaled_with_eta_across():
    image = np.zeros((5, 5))
    image[4, 2] = 0.5  # largest η, central φ
    image[2, 2] = 1e-3
    fig = jet_image_figure(image, 0.8, "image", decades=4)
    z = np.asarray(fig.data[0].z, dtype=float)
    assert z[2, 4] == pytest.approx(np.log10(0.5))  # rows are φ, columns are η
    assert z[2, 2] == pytest.approx(-3.0)
    assert np.isnan(z[0, 0])  # empty pixels are blank, not log(0)
    assert fig.data[0].zmax - fig.data[0].zmin == pytest.approx(4.0)
    assert fig.data[0].x[-1] == pytest.approx(0.8 - 1.6 / 5 / 2)  # last pixel centre
