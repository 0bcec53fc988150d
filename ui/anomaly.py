"""Streamlit side of the anomalies page: cached model loading, held-out scores, images.

The four shipped models live in checkpoints/anomaly/{ae,nae}_{qcd,top}/ (``$JETVIZ_ANOMALY_DIR``
overrides the folder, for tests). Models are cached as resources, scores and average images
as data, keyed on the checkpoint's modification time and the jet set's key.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import streamlit as st

from jetviz.jets import JetSet

ANOMALY_ENV = "JETVIZ_ANOMALY_DIR"
STRIP_PER_GROUP = 150  # jets per group drawn as clickable points under the histogram


def anomaly_dir() -> Path:
    override = os.environ.get(ANOMALY_ENV)
    if override:
        return Path(override)
    from jetviz.paths import CHECKPOINTS

    return CHECKPOINTS / "anomaly"


def model_dir(method: str, background: str) -> Path:
    return anomaly_dir() / f"{method}_{background}"


def _stamp(directory: Path) -> int:
    path = directory / "model.safetensors"
    return path.stat().st_mtime_ns if path.is_file() else 0


@st.cache_resource(max_entries=8, show_spinner="Loading the model …")
def _load(path: str, stamp: int):
    from jetviz.anomaly import checkpoint as ckpt

    return ckpt.load(path)


def load_model(method: str, background: str):
    """(model, config, record) of a shipped model; raises JetvizInputError when unusable."""
    path = model_dir(method, background)
    return _load(str(path), _stamp(path))


@st.cache_data(max_entries=8, show_spinner=False)
def _samples(path: str, stamp: int) -> dict[str, np.ndarray] | None:
    from jetviz.anomaly import checkpoint as ckpt

    samples = ckpt.load_samples(path)
    return None if samples is None else {k: v.numpy() for k, v in samples.items()}


def negative_samples(method: str, background: str) -> dict[str, np.ndarray] | None:
    path = model_dir(method, background)
    return _samples(str(path), _stamp(path))


@dataclass(frozen=True)
class Scored:
    """Held-out jets of the file in use, scored by one model.

    Attributes:
        index: (N,) indices into the jet set of the jets scored.
        scores: (N,) their energies.
        groups: group name -> boolean mask over the N jets (QCD, top, W, Z present).
        mean_input, mean_recon: group -> average (n, n) input and reconstructed image.
        held_out: True when the training jets of this file were left out.
    """

    index: np.ndarray
    scores: np.ndarray
    groups: dict[str, np.ndarray]
    mean_input: dict[str, np.ndarray]
    mean_recon: dict[str, np.ndarray]
    held_out: bool


def _same_file(file_path: str, n_jets: int, record: dict) -> bool:
    """Is the file in use the one the model trained on (same name, same number of jets)?"""
    data = record.get("data", {})
    name = data.get("file_name") or Path(str(data.get("source", ""))).name
    return Path(file_path).name == name and n_jets == data.get("n_jets", n_jets)


@st.cache_data(max_entries=8, show_spinner="Scoring the jets …")
def _score(path: str, stamp: int, _jets: JetSet, jets_key: str, file_path: str) -> Scored:
    import torch

    from jetviz.anomaly.data import held_out_indices, images_from_particles, test_start
    from jetviz.anomaly.evaluate import GROUPS, score_images

    model, config, record = _load(path, stamp)
    held = _same_file(file_path, len(_jets), record)
    index = (held_out_indices(_jets, test_start(config["train"])) if held
             else np.arange(len(_jets)))
    images = images_from_particles(_jets.particles[index], _jets.mask[index],
                                   model.config.n_pixels, _jets.radius)
    scores = score_images(model, images)
    labels = _jets.labels[index]
    groups, mean_in, mean_out = {}, {}, {}
    for group, classes in GROUPS.items():
        ks = [_jets.class_names.index(c) for c in classes if c in _jets.class_names]
        mask = np.isin(labels, ks)
        if not mask.any():
            continue
        groups[group] = mask
        sub = images[mask][:2000]
        with torch.inference_mode():
            recon = model(torch.from_numpy(sub)).numpy()
        mean_in[group], mean_out[group] = sub.mean(0)[0], recon.mean(0)[0]
    return Scored(index, scores, groups, mean_in, mean_out, held)


def scored(method: str, background: str, jets: JetSet, jets_key: str, file_path: str
           ) -> Scored:
    """The jets of the file in use scored by one model (held-out jets if it trained on it)."""
    path = model_dir(method, background)
    return _score(str(path), _stamp(path), jets, jets_key, file_path)


def strip_points(s: Scored, per_group: int = STRIP_PER_GROUP) -> dict[str, tuple]:
    """group -> (scores, jet ids) of a fixed random subset of each group's jets."""
    rng = np.random.default_rng(0)
    out = {}
    for group, mask in s.groups.items():
        where = np.flatnonzero(mask)
        pick = np.sort(rng.choice(where, size=min(per_group, where.size), replace=False))
        out[group] = (s.scores[pick], s.index[pick])
    return out


@st.cache_data(max_entries=64, show_spinner=False)
def jet_pair(path: str, stamp: int, _jets: JetSet, jets_key: str, jet: int
             ) -> tuple[np.ndarray, np.ndarray, float]:
    """One jet's image, its reconstruction and its score."""
    import torch

    from jetviz.anomaly.data import images_from_particles

    model = _load(path, stamp)[0]
    img = images_from_particles(_jets.particles[jet:jet + 1], _jets.mask[jet:jet + 1],
                                model.config.n_pixels, _jets.radius)
    with torch.inference_mode():
        x = torch.from_numpy(img)
        recon = model(x)
        energy = float(model.energy(x)[0])
    return img[0, 0], recon.numpy()[0, 0], energy


def selected_jet(method: str, background: str, jets: JetSet, jets_key: str, jet: int):
    path = model_dir(method, background)
    return jet_pair(str(path), _stamp(path), jets, jets_key, int(jet))


def auc_table() -> list[dict]:
    """The both-directions AUC rows of every shipped model that loads (from its record)."""
    from jetviz.anomaly.evaluate import auc_rows
    from jetviz.errors import JetvizInputError

    results = {}
    for method in ("ae", "nae"):
        for background in ("qcd", "top"):
            try:
                record = load_model(method, background)[2]
            except JetvizInputError:
                continue
            if "evaluation" in record:
                results[(method, background)] = record["evaluation"]
    return auc_rows(results)
