"""Streamlit side of the theory-map page: cached loaders of the shipped models and maps, the
user's own events (upload or path) and their projection, map selections, and a clicked
point's nearest neighbours in the latent space with the events they hold.

Everything heavy is cached: summaries and maps with ``st.cache_data`` (keyed by directory and
modification time), encoders and projectors with ``st.cache_resource``. The user's file is
read once through ``jetviz.readers.load_events``; its projection is cached per (file, method,
set size). A file that cannot be read, or holds too few events for the set size, shows the
reader's message with ``st.error`` and leaves the map as it was.
"""

from __future__ import annotations

import hashlib
import io
import os
from pathlib import Path

import numpy as np
import pandas as pd
import streamlit as st

from jetviz.errors import JetvizInputError
from jetviz.events import EventSet
from jetviz.figures.contrastive import selected_map_rows
from jetviz.paths import CHECKPOINTS, ROOT
from jetviz.readers import MAX_EVENTS_DEFAULT, load_events
from jetviz.serving import resolve_data_path
from jetviz.theorymap.checkpoint import (
    load_map,
    load_model,
    load_scaler,
    load_summary,
    summary_stamp,
)
from jetviz.theorymap.features import Scaler
from jetviz.theorymap.maps import (
    MapProjector,
    Projection,
    TheoryMap,
    nearest_in_latent,
    project_events,
)
from jetviz.theorymap.maps import centroids as map_centroids
from jetviz.theorymap.model import SetEncoder
from jetviz.theorymap.train import accuracy_rows

DIR_ENV = "JETVIZ_THEORYMAP_DIR"  # overrides checkpoints/theorymap (tests, other trainings)
UPLOAD_TYPES = ["csv", "txt", "h5", "hdf5"]
_USER = "theorymap_user"  # (path, label) of the user's events in use
_USER_ERROR = "theorymap_user_error"  # message of the last failed load
_UPLOAD_PREFIX = "upload:"  # the "path" of an upload: upload:<sha256>


def checkpoint_dir() -> Path:
    """The shipped theory-map directory, or the one named by $JETVIZ_THEORYMAP_DIR."""
    override = os.environ.get(DIR_ENV)
    if override:
        return Path(override)
    return CHECKPOINTS / "theorymap"


@st.cache_data(show_spinner=False, max_entries=4)
def _summary(directory: str, stamp: int) -> dict:
    return load_summary(directory)


def summary() -> dict | None:
    """The summary of the theory-map directory, or None after showing an error."""
    directory = checkpoint_dir()
    try:
        return _summary(str(directory), summary_stamp(directory))
    except JetvizInputError as err:
        st.error(str(err))
        return None


@st.cache_data(show_spinner="Loading the stored map…", max_entries=16)
def _map(directory: str, method: str, set_size: int, stamp: int) -> TheoryMap:
    return load_map(directory, method, set_size)


def stored_map(method: str, set_size: int) -> TheoryMap:
    """The stored map of one method and set size (cached)."""
    directory = checkpoint_dir()
    return _map(str(directory), method, set_size, summary_stamp(directory))


@st.cache_resource(show_spinner="Loading the encoder…", max_entries=16)
def _model(directory: str, method: str, set_size: int, stamp: int) -> tuple[SetEncoder, Scaler]:
    model, meta = load_model(directory, method, set_size)
    return model, load_scaler(meta)


@st.cache_resource(show_spinner=False, max_entries=16)
def _projector(directory: str, method: str, set_size: int, stamp: int) -> MapProjector:
    return MapProjector(_map(directory, method, set_size, stamp))


@st.cache_data(show_spinner=False, max_entries=32)
def _centroids(directory: str, method: str, set_size: int, projection: str,
               stamp: int) -> np.ndarray:
    return map_centroids(_map(directory, method, set_size, stamp), projection)


def centroids(method: str, set_size: int, projection: str) -> np.ndarray:
    """(T, 2) mean position of every theory on the "umap" or "pca" map (cached)."""
    directory = checkpoint_dir()
    return _centroids(str(directory), method, set_size, projection, summary_stamp(directory))


def accuracy_table(summary: dict, set_size: int) -> pd.DataFrame:
    """Each method's KDE accuracy at one set size, as a table."""
    return pd.DataFrame(accuracy_rows(summary, set_size))


def selected_rows(event: object) -> np.ndarray:
    """Map rows of the points in a plotly selection (the user's own points are ignored)."""
    try:
        points = event.selection.points  # type: ignore[attr-defined]
    except AttributeError:
        points = []
    return selected_map_rows(points)


@st.cache_data(show_spinner=False, max_entries=64)
def _neighbours(directory: str, method: str, set_size: int, row: int,
                stamp: int) -> tuple[np.ndarray, np.ndarray]:
    return nearest_in_latent(_map(directory, method, set_size, stamp).latent, row, k=5)


def map_neighbours(method: str, set_size: int, row: int) -> tuple[np.ndarray, np.ndarray]:
    """The 5 points of a stored map nearest to point ``row`` in the latent space: (rows,
    Euclidean distances in latent units), nearest first (cached)."""
    directory = checkpoint_dir()
    return _neighbours(str(directory), method, set_size, row, summary_stamp(directory))


@st.cache_resource(show_spinner="Reading the map's events…", max_entries=2)
def _training_events(path: str, mtime_ns: int) -> EventSet:
    return load_events(path)


def training_events(summary: dict) -> EventSet | None:
    """The event file the maps were trained on (the summary's ``events``, relative to the
    repository), or None when it is not here (the maps store no event features)."""
    path = Path(str(summary.get("events", "")))
    path = path if path.is_absolute() else ROOT / path
    if not path.is_file():
        return None
    try:
        return _training_events(str(path), path.stat().st_mtime_ns)
    except JetvizInputError:
        return None


# ------------------------------------------------------------------------- the user's events


def _mtime_of(path: str) -> int:
    """Modification time of a file ("upload:<sha256>": 0, the hash already keys it)."""
    return 0 if path.startswith(_UPLOAD_PREFIX) else Path(path).stat().st_mtime_ns


@st.cache_data(show_spinner="Reading your events…", max_entries=4, ttl=3600)
def _read_events(path: str, mtime_ns: int, label: str, _data: bytes | None = None) -> EventSet:
    """The events of a file in a data root, or of uploaded bytes parsed from memory (an
    upload is keyed by its hash and never written to disk)."""
    if path.startswith(_UPLOAD_PREFIX):
        if _data is None:
            raise JetvizInputError(f"{label}: this upload is no longer held; upload it again")
        return load_events(io.BytesIO(_data), name=label, max_events=MAX_EVENTS_DEFAULT)
    return load_events(path, name=label, max_events=MAX_EVENTS_DEFAULT)


def _try_load(path: str, label: str, data: bytes | None = None) -> None:
    try:
        _read_events(path, _mtime_of(path), label, data)
    except JetvizInputError as err:
        st.session_state[_USER_ERROR] = str(err)
        return
    st.session_state[_USER] = (path, label)
    st.session_state.pop(_USER_ERROR, None)


def try_load_user_events(path: str | os.PathLike, label: str) -> None:
    """Read the user's events from a typed path (only inside the data roots, see
    ``jetviz.serving``); on success they replace the ones in use, on failure an error is
    remembered for the page to show and the events in use stay."""
    try:
        real = resolve_data_path(str(path))
        if not real.is_file():
            raise JetvizInputError(
                f"{path}: expected a Dark Machines CSV or a jetviz events file here, found no "
                "such file inside the allowed folders; check the path")
    except JetvizInputError as err:
        st.session_state[_USER_ERROR] = str(err)
        return
    _try_load(str(real), label)


def load_upload(uploaded: object) -> None:
    """Parse an uploaded file from memory (keyed by its content hash) and try to use it."""
    data = uploaded.getvalue()  # type: ignore[attr-defined]
    digest = hashlib.sha256(data).hexdigest()
    _try_load(f"{_UPLOAD_PREFIX}{digest}", uploaded.name, data)  # type: ignore[attr-defined]


def user_events_error() -> str | None:
    """The message of the last failed load of the user's events, if any."""
    return st.session_state.get(_USER_ERROR)


def clear_user_events() -> None:
    """Forget the user's events (the map shows only the stored points)."""
    st.session_state.pop(_USER, None)
    st.session_state.pop(_USER_ERROR, None)


def user_events() -> tuple[EventSet, str] | None:
    """The user's events in use and their label, or None."""
    held = st.session_state.get(_USER)
    if held is None:
        return None
    path, label = held
    try:
        return _read_events(path, _mtime_of(path), label), label
    except (OSError, JetvizInputError):
        clear_user_events()
        return None


@st.cache_data(show_spinner="Projecting your events onto the map…", max_entries=16, ttl=3600)
def _projection(path: str, mtime_ns: int, label: str, directory: str, method: str,
                set_size: int, stamp: int) -> Projection:
    events = _read_events(path, mtime_ns, label)
    model, scaler = _model(directory, method, set_size, stamp)
    projector = _projector(directory, method, set_size, stamp)
    return project_events(model, projector, scaler, events, np.random.default_rng(0))


def user_projection(method: str, set_size: int) -> Projection | None:
    """The user's events projected onto the stored map (None if there are none).

    Raises:
        JetvizInputError: the user's events cannot form one set of this size.
    """
    held = st.session_state.get(_USER)
    if held is None:
        return None
    path, label = held
    directory = checkpoint_dir()
    return _projection(path, _mtime_of(path), label, str(directory), method,
                       set_size, summary_stamp(directory))


def first_events(summary: dict, tmap: TheoryMap, rows: np.ndarray
                 ) -> tuple[np.ndarray, np.ndarray] | None:
    """The first event of each point's set, (K, 18) raw, and (K,) whether it is stored (the
    unphysical sample's shuffled events are not); None when the event file is not here."""
    events = training_events(summary)
    if events is None:
        return None
    index = tmap.event_index[np.asarray(rows, dtype=int), 0]
    stored = (index >= 0) & (index < len(events))
    features = np.zeros((len(index), events.features.shape[1]), dtype=np.float32)
    features[stored] = events.features[index[stored]]
    return features, stored
