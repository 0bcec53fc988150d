"""Streamlit side of the Unfolding page: cached loaders of the shipped paired events, cINN
and precomputed test-sample posteriors, and the per-event posterior.

Files live in checkpoints/unfolding/ (``$JETVIZ_UNFOLD_DIR`` overrides it, for tests); what
they hold is in :mod:`jetviz.unfolding.bundle`. Everything is cached on the files'
modification times; the model in ``st.cache_resource``, arrays in ``st.cache_data``.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import streamlit as st

from jetviz.unfolding import bundle as files
from jetviz.unfolding.bundle import Bundle

UNFOLD_ENV = "JETVIZ_UNFOLD_DIR"
SPLIT_SEED = 5  # draws the truth-vs-truth baseline events
POSTERIOR_SAMPLES = 1000
BASELINE_DRAWS = 10  # truth-vs-truth W1 averaged over this many draws (as the benchmark)


def unfold_dir() -> Path:
    """Where the unfolding files are read from."""
    override = os.environ.get(UNFOLD_ENV)
    if override:
        return Path(override)
    from jetviz.paths import CHECKPOINTS

    return CHECKPOINTS / "unfolding"


def stamps() -> tuple[str, int, int, int]:
    """(directory, modification times of data, model, summary); raises if a file is missing."""
    d = unfold_dir()
    return (str(d), *files.modified_ns(d))


@st.cache_resource(max_entries=2, show_spinner=False)
def _model(directory: str, stamp: int):
    import torch

    from jetviz.unfolding.checkpoint import load_cinn

    torch.set_num_threads(1)  # the page's sampling is fastest on one thread
    return load_cinn(Path(directory) / files.MODEL)


@st.cache_data(max_entries=2, show_spinner="Reading the paired events …")
def _bundle(directory: str, data_stamp: int, model_stamp: int, summary_stamp: int) -> Bundle:
    _, record = _model(directory, model_stamp)
    return files.read_bundle(directory, int(record["n_test"]))


def bundle() -> Bundle:
    """Test and training observables, detector features, PITs, kept posterior samples."""
    return _bundle(*stamps())


@st.cache_data(max_entries=64, show_spinner=False)
def _event_posterior(directory: str, stamps_: tuple, index: int, seed: int
                     ) -> dict[str, np.ndarray]:
    model, _ = _model(directory, stamps_[1])
    return files.event_posterior(model, _bundle(directory, *stamps_), index,
                                 POSTERIOR_SAMPLES, seed)


def event_posterior(index: int, seed: int = 0) -> dict[str, np.ndarray]:
    """1,000 posterior samples of test event ``index``: {observable: (1000,)}."""
    s = stamps()
    return _event_posterior(s[0], s[1:], int(index), int(seed))


@st.cache_data(max_entries=8, show_spinner="Unfolding the test sample …")
def _unfolded(directory: str, stamps_: tuple, cut: str, iterations: int) -> dict:
    from jetviz.unfolding.analysis import unfold_all

    b = _bundle(directory, *stamps_)
    return unfold_all(b.test, b.samples, b.train, cut, np.random.default_rng(SPLIT_SEED),
                      iterations, baseline_draws=BASELINE_DRAWS)


def unfolded(cut: str, iterations: int) -> dict:
    """``jetviz.unfolding.analysis.unfold_all`` of the test sample under ``cut``."""
    s = stamps()
    return _unfolded(s[0], s[1:], cut, int(iterations))


def coverages() -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """(q, {observable: c(q)}) of the test sample's posteriors."""
    from jetviz.unfolding.metrics import QUANTILES

    return QUANTILES, bundle().coverages()
