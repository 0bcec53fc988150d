"""Streamlit side of the anomalies page: cached model loading, scores and images.

The four shipped models on sharp images live in checkpoints/anomaly/{ae,nae}_{qcd,top}/, the
four on blurred images (σ = 1 pixel) beside them in checkpoints/anomaly_blur/
(``$JETVIZ_ANOMALY_DIR`` overrides the first folder, for tests; the second is its name +
``_blur``). Models are cached as resources, scores and average images as data, keyed on the
checkpoint's modification time and the jet set's key; the arithmetic is in
:mod:`jetviz.anomaly.explore`.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import streamlit as st

from jetviz.anomaly import checkpoint as ckpt
from jetviz.anomaly import explore
from jetviz.jets import JetSet

ANOMALY_ENV = "JETVIZ_ANOMALY_DIR"
STRIP_PER_GROUP = 150  # jets per group drawn as clickable points under the histogram
IMAGES = {"sharp": "sharp (binned pT)", "blurred": "blurred (σ = 1 pixel)"}


def anomaly_dir(images: str = "sharp") -> Path:
    """The folder of the models on ``images`` ("sharp" or "blurred")."""
    override = os.environ.get(ANOMALY_ENV)
    if override:
        base = Path(override)
    else:
        from jetviz.paths import CHECKPOINTS

        base = CHECKPOINTS / "anomaly"
    return base if images == "sharp" else base.with_name(base.name + "_blur")


def model_dir(method: str, background: str, images: str = "sharp") -> Path:
    return anomaly_dir(images) / f"{method}_{background}"


def _key(method: str, background: str, images: str) -> tuple[str, int]:
    path = model_dir(method, background, images)
    return str(path), ckpt.modified_ns(path)


@st.cache_resource(max_entries=8, show_spinner="Loading the model …")
def _load(path: str, stamp: int):
    return ckpt.load(path)


def load_model(method: str, background: str, images: str = "sharp"):
    """(model, config, record) of a shipped model; raises JetvizInputError when unusable."""
    return _load(*_key(method, background, images))


@st.cache_data(max_entries=8, show_spinner=False)
def _negatives(path: str, stamp: int, n: int) -> list[np.ndarray]:
    return explore.negative_images(path, n)


def negative_images(background: str, n: int, images: str = "sharp") -> list[np.ndarray]:
    """The first ``n`` negative samples of the NAE trained on ``background`` (or none)."""
    return _negatives(*_key("nae", background, images), n)


@st.cache_data(max_entries=8, show_spinner="Scoring the jets …")
def _score(path: str, stamp: int, _jets: JetSet, jets_key: str, file_path: str
           ) -> explore.Scored:
    model, config, record = _load(path, stamp)
    return explore.score_file(model, config["train"], record, _jets, file_path)


def scored(method: str, background: str, jets: JetSet, jets_key: str, file_path: str,
           images: str = "sharp") -> explore.Scored:
    """The jets of the file in use scored by one model (test jets if it trained on it)."""
    return _score(*_key(method, background, images), jets, jets_key, file_path)


def strip_points(s: explore.Scored) -> dict[str, tuple]:
    """group -> (scores, jet ids) of the clickable jets under the histogram."""
    return s.strip(STRIP_PER_GROUP)


@st.cache_data(max_entries=64, show_spinner=False)
def _jet(path: str, stamp: int, _jets: JetSet, jets_key: str, jet: int
         ) -> tuple[np.ndarray, np.ndarray, float]:
    return explore.jet_and_reconstruction(_load(path, stamp)[0], _jets, jet)


def selected_jet(method: str, background: str, jets: JetSet, jets_key: str, jet: int,
                 images: str = "sharp"):
    """(image, reconstruction, energy) of one jet under one model."""
    return _jet(*_key(method, background, images), jets, jets_key, int(jet))


def auc_table() -> list[dict]:
    """The both-directions AUC rows of every shipped model, sharp then blurred (records)."""
    from jetviz.anomaly.evaluate import auc_rows

    return [{"images": label, **row} for images, label in IMAGES.items()
            for row in auc_rows(explore.stored_evaluations(anomaly_dir(images)))]
