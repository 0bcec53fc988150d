"""The generation page's histograms: one binning (figures.binning), identical samples give a
ratio of one, integer and log observables get their own bins and axes."""

from __future__ import annotations

import numpy as np

from jetviz.figures.generation import observable_histograms


def test_identical_samples_give_ratio_one_and_observables_keep_their_bins():
    rng = np.random.default_rng(0)
    values = {"mass": rng.normal(80, 10, 2000), "multiplicity": rng.integers(5, 30, 2000),
              "ptrel": rng.lognormal(-4, 1, 2000)}
    fig = observable_histograms(values, values, list(values), {}, {"mass": "GeV"},
                                title="t", n_cols=3)
    ratios = [t for t in fig.data if t.name == "ratio"]
    assert len(ratios) == 3
    for trace in ratios:
        finite = np.asarray(trace.y, float)[np.isfinite(np.asarray(trace.y, float))]
        np.testing.assert_allclose(finite, 1.0)
    true = [t for t in fig.data if t.name == "true"]
    multiplicity_edges = np.asarray(true[1].x)
    np.testing.assert_allclose(multiplicity_edges % 1, 0.5)  # one bin per integer
    ptrel_edges = np.asarray(true[2].x)
    assert np.allclose(np.diff(np.log(ptrel_edges)), np.log(ptrel_edges[1] / ptrel_edges[0]))
    assert fig.layout.xaxis3.type == "log" and fig.layout.title.text == "t"
