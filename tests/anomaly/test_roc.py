"""ROC curves and AUC (jetviz.roc): perfect, inverted and tied scores; the AUC is the area
under the curve; the same numbers as scikit-learn's roc_curve / roc_auc_score (which the
JetCLR code calls for the same quantities)."""

from __future__ import annotations

import numpy as np
import pytest

from jetviz import roc
from jetviz.errors import JetvizInputError


def test_auc_of_perfect_inverted_and_tied_scores():
    sig, bkg = np.array([2.0, 3.0, 4.0]), np.array([0.0, 1.0])
    assert roc.auc(sig, bkg) == 1.0
    assert roc.auc(-sig, -bkg) == 0.0
    assert roc.auc(np.ones(3), np.ones(4)) == 0.5
    es, eb = roc.roc_curve(sig, bkg)
    assert (es[0], eb[0], es[-1], eb[-1]) == (0.0, 0.0, 1.0, 1.0)
    assert np.all(np.diff(es) >= 0) and np.all(np.diff(eb) >= 0)
    assert roc.inverse_eb_at(sig, bkg, 0.5) == float("inf")


def test_auc_equals_the_trapezoid_area_under_the_roc_curve():
    rng = np.random.default_rng(0)
    sig, bkg = rng.normal(1, 1, 500).round(1), rng.normal(0, 1, 700).round(1)  # with ties
    es, eb = roc.roc_curve(sig, bkg)
    assert roc.auc(sig, bkg) == pytest.approx(np.trapezoid(es, eb), abs=1e-12)
    with pytest.raises(JetvizInputError, match="NaN"):
        roc.auc(np.array([np.nan]), bkg)


def test_roc_and_auc_agree_with_scikit_learn():
    from sklearn.metrics import roc_auc_score, roc_curve

    rng = np.random.default_rng(1)
    sig, bkg = rng.normal(0.7, 1, 300).round(1), rng.normal(0, 1, 400).round(1)
    scores, labels = np.r_[sig, bkg], np.r_[np.ones(300), np.zeros(400)]
    assert roc.auc(sig, bkg) == pytest.approx(roc_auc_score(labels, scores), abs=1e-12)
    eb_sk, es_sk, _ = roc_curve(labels, scores)
    es, eb = roc.roc_curve(sig, bkg)
    grid = np.linspace(0.05, 1, 20)
    assert np.allclose(np.interp(grid, es, eb), np.interp(grid, es_sk, eb_sk), atol=1e-12)
