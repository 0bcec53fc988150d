"""Streamlit side of the jet-representations page: cached loaders of the shipped JetCLR
results, the augmentations of one jet, and the map's jets with their nearest neighbours by
exact EMD (a clicked point).

The shipped files live in checkpoints/jetclr/ (``$JETVIZ_JETCLR_DIR`` overrides it, for
tests and other runs); they are made by ``jetviz jetclr ablation`` (see README). Everything
is cached on the files' modification times, so nothing is recomputed on a rerun.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import streamlit as st

from jetviz.emd.neighbours import nearest_by_emd
from jetviz.errors import JetvizInputError
from jetviz.jetclr import augment
from jetviz.jetclr.checkpoint import (
    ABLATION,
    SHIPPED,
    describe,
    load_map,
    load_results,
    results_stamp,
)
from jetviz.jets import JetSet
from jetviz.paths import CHECKPOINTS
from jetviz.serving import default_jets_path

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


@st.cache_resource(max_entries=2, show_spinner="Reading the map's jets …")
def _map_jets(directory: str, stamp: int, jets_path: str, jets_mtime: int) -> JetSet:
    from jetviz.readers import load_jets

    index = _map(directory, stamp)["index"]
    jets = load_jets(jets_path)
    if len(index) and int(index.max()) >= len(jets):
        raise JetvizInputError(
            f"{jets_path} holds {len(jets):,} jets but the JetCLR map refers to jet "
            f"{int(index.max())}: the map was made from another file")
    return jets.subset(index)


def map_jets() -> JetSet:
    """The jets of the shipped map, in map order (from the default jet file the encoder was
    trained on; raises JetvizInputError if that file does not match the map)."""
    directory, path = jetclr_dir(), default_jets_path()
    return _map_jets(str(directory), results_stamp(directory), str(path),
                     Path(path).stat().st_mtime_ns)


@st.cache_data(max_entries=64, show_spinner="Finding the 5 nearest jets by exact EMD …")
def _map_neighbours(directory: str, stamp: int, jets_path: str,
                    row: int) -> tuple[np.ndarray, np.ndarray]:
    jets = map_jets()  # the jets of jets_path (part of the key)
    return nearest_by_emd(jets, row, np.arange(len(jets)), k=5)


def map_neighbours(row: int) -> tuple[np.ndarray, np.ndarray]:
    """The 5 map jets nearest to map jet ``row`` by exact EMD: (rows, EMDs in GeV)."""
    directory = jetclr_dir()
    return _map_neighbours(str(directory), results_stamp(directory), str(default_jets_path()),
                           row)
