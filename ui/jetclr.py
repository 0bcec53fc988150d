"""Streamlit side of the jet-representations page: cached loaders of the shipped JetCLR
results and the augmentations of one jet.

The shipped files live in checkpoints/jetclr/ (``$JETVIZ_JETCLR_DIR`` overrides it, for
tests and other runs); they are made by ``jetviz jetclr ablation`` (see README). Everything
is cached on the files' modification times, so nothing is recomputed on a rerun.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import streamlit as st

from jetviz.jetclr import augment
from jetviz.jetclr.checkpoint import (
    ABLATION,
    SHIPPED,
    describe,
    load_map,
    load_results,
    results_stamp,
)
from jetviz.paths import CHECKPOINTS

JETCLR_ENV = "JETVIZ_JETCLR_DIR"


def jetclr_dir() -> Path:
    """Where the JetCLR files are read from."""
    override = os.environ.get(JETCLR_ENV)
    if override:
        return Path(override)
    return CHECKPOINTS / "jetclr"


@st.cache_data(max_entries=4, show_spinner=False)
def _results(directory: str, stamp: int) -> dict:
    return load_results(Path(directory) / ABLATION)


@st.cache_data(max_entries=4, show_spinner=False)
def _map(directory: str, stamp: int) -> dict[str, np.ndarray]:
    return load_map(Path(directory) / SHIPPED)


@st.cache_data(max_entries=4, show_spinner=False)
def _encoder_info(directory: str, stamp: int) -> dict:
    return describe(Path(directory) / SHIPPED)


def ablation_results() -> dict:
    """ablation.json of the shipped run (raises JetvizInputError if missing)."""
    directory = jetclr_dir()
    return _results(str(directory), results_stamp(directory))


def map_arrays() -> dict[str, np.ndarray]:
    """The shipped 2-D map arrays (raises JetvizInputError if missing)."""
    directory = jetclr_dir()
    return _map(str(directory), results_stamp(directory))


def encoder_info() -> dict:
    """The shipped encoder's config, training record and held-out scores."""
    directory = jetclr_dir()
    return _encoder_info(str(directory), results_stamp(directory))


@st.cache_data(max_entries=64, show_spinner=False)
def augmented_views(particles: np.ndarray, mask: np.ndarray, jet_pt: float, seed: int,
                    radius: float) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """One jet under each panel's augmentations (cached): title -> (particles, mask)."""
    return augment.augmented_views(particles, mask, jet_pt, seed, radius)
