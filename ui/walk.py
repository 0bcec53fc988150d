"""Streamlit side of the latent walk page: decoded paths and principal directions, cached.

The walk itself (its geometry, decoding and observables) is ``jetviz.vae.explore``; a path
is decoded once per (model, sample, start jet, direction, β), so dragging the position
slider only looks up a decoded jet.
"""

from __future__ import annotations

import numpy as np
import streamlit as st

from jetviz.errors import JetvizInputError
from jetviz.vae.explore import Walk, decode_walk, principal_directions
from jetviz.vae.slider_emd import SAMPLE_SEED
from ui.vae import Loaded, Sample, prepared, reconstructed


def walk_path(loaded: Loaded, sample: Sample, jet: int, beta: float, kind: str,
              which: int) -> Walk | None:
    """The decoded path from jet ``jet`` of ``sample`` (cached), or None after a message.

    Args:
        loaded: the model.
        sample: the jets the walk starts from (and ends at, for a line).
        jet: index of the starting jet in ``sample``.
        beta: β of the encoder and decoder.
        kind: "dimension", "principal" or "line" (``jetviz.vae.explore.walk_geometry``).
        which: the latent dimension, principal direction or end jet.
    """
    try:
        return _walk(loaded.key, sample.key, int(jet), float(beta), kind, int(which),
                     loaded, sample)
    except JetvizInputError as err:
        st.error(f"Could not decode the walk with {loaded.choice.label}: {err}")
        return None


@st.cache_data(max_entries=256, show_spinner="Decoding the path …")
def _walk(model_key: str, sample_key: str, jet: int, beta: float, kind: str, which: int,
          _loaded: Loaded, _sample: Sample) -> Walk:
    rec = reconstructed(model_key, sample_key, beta, _loaded, _sample)
    pca = (_principal(model_key, sample_key, beta, _loaded, _sample)["pca"]
           if kind == "principal" else None)
    return decode_walk(_loaded.model, rec, jet, beta, kind, which, pca)


@st.cache_data(max_entries=64, show_spinner=False)
def _principal(model_key: str, sample_key: str, beta: float, _loaded: Loaded,
               _sample: Sample) -> dict:
    inputs = prepared(model_key, sample_key, _loaded, _sample)
    return principal_directions(_loaded.model, inputs, beta)


def principal_variances(loaded: Loaded, sample: Sample, beta: float) -> np.ndarray:
    """Variance of the latent means along each principal direction (largest first)."""
    return _principal(loaded.key, sample.key, float(beta), loaded, sample)["pca_variance"]


def jet_class_of(sample: Sample, index: int) -> str:
    """The class name of jet ``index`` of a jet sample."""
    data = sample.data
    return data.class_names[int(data.labels[index])]


def pick_random(key: str, n: int) -> None:
    """Button callback: set the widget ``key`` to a random index in [0, n) (seeded once per
    session, so a session's sequence of random jets is reproducible)."""
    rng = st.session_state.setdefault("vae_rng", np.random.default_rng(SAMPLE_SEED))
    st.session_state[key] = int(rng.integers(n))
