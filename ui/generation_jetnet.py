"""Streamlit side of the generation page's JetNet-protocol table: cached EFPs and scores.

* the EFPs of the true jets (both halves) and the truth-vs-truth scores: ``st.cache_data`` on
  (data-set key, classes, P) — they do not depend on the generator, so switching generators
  never recomputes them;
* the generated jets' EFPs and scores: ``st.cache_data`` on (generator key, seed, n, data set).

What is computed is :mod:`jetviz.generation.jetnet_metrics`; this module only caches it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from jetviz.generation.evaluation import Truth, jetnet_rows
from jetviz.generation.generators import GeneratorSpec
from jetviz.generation.jetnet_metrics import (
    RECOMMENDED_JETS,
    JetNetScores,
    jet_efps,
    jetnet_scores,
)
from jetviz.generation.metrics import FeatureSet


@st.cache_data(max_entries=16, show_spinner="Computing the energy-flow polynomials of the true "
                                             "jets (once per class) …")
def _truth_efps(data_key: str, classes: tuple[str, ...], n_particles: int,
                _truth: Truth) -> tuple[np.ndarray, np.ndarray]:
    return jet_efps(_truth.reference), jet_efps(_truth.baseline)


@st.cache_data(max_entries=16, show_spinner="Computing FPD, KPD and the W1s truth vs truth "
                                             "(once per class) …")
def _baseline(data_key: str, classes: tuple[str, ...], n_particles: int, _truth: Truth,
              _efps: tuple[np.ndarray, np.ndarray]) -> JetNetScores:
    return jetnet_scores(_truth.reference, _efps[0], _truth.baseline, _efps[1])


@st.cache_data(max_entries=64, show_spinner="Computing FPD, KPD and the W1s of the generated "
                                             "jets (seconds, once per view) …")
def _generated(key: str, stamp: int, seed: int, n: int, data_key: str, _reference: FeatureSet,
               _reference_efps: np.ndarray, _fake: FeatureSet) -> JetNetScores:
    return jetnet_scores(_reference, _reference_efps, _fake, jet_efps(_fake))


def jetnet_scores_of(spec: GeneratorSpec, seed: int, n: int, data_key: str, truth: Truth,
                     fake: FeatureSet) -> tuple[JetNetScores, JetNetScores]:
    """(generated vs real, truth vs truth) with jetnet's defaults, from the caches."""
    n_particles = truth.reference.particles.shape[1]
    efps = _truth_efps(data_key, spec.classes, n_particles, truth)
    baseline = _baseline(data_key, spec.classes, n_particles, truth, efps)
    generated = _generated(spec.key, spec.stamp, seed, n, data_key, truth.reference, efps[0],
                           fake)
    return generated, baseline


def jetnet_table(spec: GeneratorSpec, seed: int, n: int, data_key: str, truth: Truth,
                 fake: FeatureSet) -> tuple[pd.DataFrame, str | None]:
    """The table (a generated row and a truth-vs-truth row) and, when a sample is below the
    protocol's 50,000 jets, a sentence saying so (else None)."""
    generated, baseline = jetnet_scores_of(spec, seed, n, data_key, truth, fake)
    note = None
    if generated.below_recommended() or baseline.below_recommended():
        note = (f"**Below the protocol's sample size:** arXiv:2211.10295 recommends at least "
                f"{RECOMMENDED_JETS:,} jets per sample; here the real reference has "
                f"{generated.n_real:,} jets, the generated sample {generated.n_other:,} and the "
                f"truth-vs-truth baseline {baseline.n_other:,}. jetnet then draws its batches "
                "(FPD 20,000–50,000 jets, KPD 5,000, the W1s 50,000) with replacement from "
                "these samples, so FPD and KPD measure the two finite samples and stay above "
                "0 even for two draws of real data: compare the generated row with the "
                "truth-vs-truth row, not with 0 or with published values.")
    return pd.DataFrame(jetnet_rows(generated, baseline)), note
