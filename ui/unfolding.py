"""Streamlit side of the Unfolding page: cached loaders of the shipped paired events, cINN
and precomputed test-sample posteriors, and the per-event posterior.

Files live in checkpoints/unfolding/ (``$JETVIZ_UNFOLD_DIR`` overrides it, for tests):
``zw_events.h5`` (``jetviz unfold generate``), ``cinn/`` (``jetviz unfold train``) and
``posterior.h5`` (``jetviz unfold posterior``). Everything is cached on the files'
modification times; the model in ``st.cache_resource``, arrays in ``st.cache_data``.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import streamlit as st
import torch

from jetviz.errors import JetvizInputError

UNFOLD_ENV = "JETVIZ_UNFOLD_DIR"
DATA, MODEL, SUMMARY = "zw_events.h5", "cinn", "posterior.h5"
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


def _stamp(path: Path) -> int:
    if path.is_dir():
        path = path / "model.safetensors"
    if not path.exists():
        raise JetvizInputError(f"{path} is missing")
    return path.stat().st_mtime_ns


def stamps() -> tuple[str, int, int, int]:
    """(directory, modification times of data, model, summary); raises if a file is missing."""
    d = unfold_dir()
    return str(d), _stamp(d / DATA), _stamp(d / MODEL), _stamp(d / SUMMARY)


@st.cache_resource(max_entries=2, show_spinner=False)
def _model(directory: str, stamp: int):
    from jetviz.unfolding.checkpoint import load_cinn

    torch.set_num_threads(1)
    return load_cinn(Path(directory) / MODEL)


@st.cache_data(max_entries=2, show_spinner="Reading the paired events …")
def _samples(directory: str, data_stamp: int, model_stamp: int, summary_stamp: int) -> dict:
    from jetviz.unfolding.analysis import Observed
    from jetviz.unfolding.data import detector_observables, parton_observables, read_pairs
    from jetviz.unfolding.summary import read_summary
    from jetviz.unfolding.training import model_inputs

    _, record = _model(directory, model_stamp)
    events = read_pairs(Path(directory) / DATA)
    train, test = events.split(int(record["n_test"]))
    _, y, phi_ref = model_inputs(test)
    pit, samples, attrs = read_summary(Path(directory) / SUMMARY)
    if len(pit) > len(test):
        raise JetvizInputError(f"{SUMMARY} has {len(pit)} events but the test sample only "
                               f"{len(test)}; rerun `jetviz unfold posterior`")
    test = test.subset(slice(0, len(pit)))  # the summarised test events
    return {
        "test": Observed(detector_observables(test), parton_observables(test.parton)),
        "train": Observed(detector_observables(train), parton_observables(train.parton)),
        "y": y, "phi_ref": phi_ref, "pit": pit, "samples": samples,
        "summary_attrs": attrs, "record": record, "data_attrs": events.attrs,
    }


def bundle() -> dict:
    """Test and training observables, detector features, PITs, kept posterior samples."""
    return _samples(*stamps())


@st.cache_data(max_entries=64, show_spinner=False)
def _event_posterior(directory: str, stamps_: tuple, index: int, seed: int
                     ) -> dict[str, np.ndarray]:
    from jetviz.unfolding.summary import posterior_observables

    model, _ = _model(directory, stamps_[1])
    b = _samples(directory, *stamps_)
    gen = torch.Generator().manual_seed(seed)
    obs = posterior_observables(model, b["y"][index:index + 1], b["phi_ref"][index:index + 1],
                                POSTERIOR_SAMPLES, gen)
    return {k: v[:, 0] for k, v in obs.items()}


def event_posterior(index: int, seed: int = 0) -> dict[str, np.ndarray]:
    """1,000 posterior samples of test event ``index``: {observable: (1000,)}."""
    s = stamps()
    return _event_posterior(s[0], s[1:], int(index), int(seed))


@st.cache_data(max_entries=8, show_spinner="Unfolding the test sample …")
def _unfolded(directory: str, stamps_: tuple, cut: str, iterations: int) -> dict:
    from jetviz.unfolding.analysis import unfold_all

    b = _samples(directory, *stamps_)
    return unfold_all(b["test"], b["samples"], b["train"], cut,
                      np.random.default_rng(SPLIT_SEED), iterations,
                      baseline_draws=BASELINE_DRAWS)


def unfolded(cut: str, iterations: int) -> dict:
    """``jetviz.unfolding.analysis.unfold_all`` of the test sample under ``cut``."""
    s = stamps()
    return _unfolded(s[0], s[1:], cut, int(iterations))


def coverages() -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """(q, {observable: c(q)}) of the test sample's posteriors."""
    from jetviz.unfolding.data import OBSERVABLES
    from jetviz.unfolding.metrics import QUANTILES, coverage

    pit = bundle()["pit"]
    return QUANTILES, {name: coverage(pit[:, k]) for k, name in enumerate(OBSERVABLES)}
