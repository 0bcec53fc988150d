"""The jet data set every page uses: the sidebar picker and the cached loaders.

The picker (``data_set_sidebar``, called once by app.py on every page) offers the embedded
default set, a file the user uploads, or a path on the server — only inside the data roots
(``jetviz.serving``; ``JETVIZ_ALLOW_PATHS=0`` removes the path box). A file is read once
through ``jetviz.readers.load.load_jets_checked`` (at most ``MAX_JETS_DEFAULT`` jets) and
cached on (path, modification time, size); an upload is parsed from memory, never written to
disk, and held in its session only. A file that cannot be read shows the reader's message
with ``st.error``; the data set in use stays.

Pages call ``jets_in_use()`` for the JetSet and its cache key, and the cached wrappers below
around ``jetviz.dataset`` (``observables_of``, ``average_image_of``, ``neighbours_of``) so
nothing is recomputed on a rerun. Only widgets, session state and caches live here.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import streamlit as st

from jetviz.dataset import (
    class_average_image,
    class_count_text,
    class_neighbours,
    jet_observables,
    truncation_text,
)
from jetviz.errors import JetvizInputError
from jetviz.jets import JetSet
from jetviz.readers import MAX_JETS_DEFAULT  # the one cap, defined with the readers
from jetviz.serving import DEFAULT_JETS_ENV as DEFAULT_ENV  # noqa: F401 (tests set it)
from jetviz.serving import data_file, default_jets_path, path_entry_allowed

UPLOAD_TYPES = ["h5", "hdf5", "hdf", "he5", "root"]  # HDF5 formats, and JetClass ROOT files
SOURCES = ("Embedded default", "Upload a file", "File path")

_ACTIVE = "jetviz_data_active"  # DataChoice in use
_ATTEMPT = "jetviz_data_attempt"  # id of the last input we tried to load
_ERROR = "jetviz_data_error"  # (input id, message) of the last failed load
_UPLOAD = "jetviz_data_upload_jets"  # (sha256, JetSet) of this session's upload


@dataclass(frozen=True)
class DataChoice:
    """A jet file chosen in the picker.

    Attributes:
        kind: "default", "upload" or "path".
        path: the file read ("upload:<sha256>" for an upload, parsed from memory).
        label: what the user sees: "embedded default", or the file's own name.
        mtime_ns: modification time when chosen (part of the cache key).
        size: size in bytes when chosen (part of the cache key).
        jet_class: the JetNet class the user picked (None: read it from the file name).
    """

    kind: str
    path: str
    label: str
    mtime_ns: int
    size: int
    jet_class: str | None = None

    @property
    def key(self) -> str:
        """A string that changes whenever the jets would: use it to key cached results."""
        picked = "" if self.jet_class is None else f"|{self.jet_class}"
        return f"{self.path}|{self.mtime_ns}|{self.size}|{MAX_JETS_DEFAULT}{picked}"


def _choice(kind: str, path: str | os.PathLike, label: str,
            jet_class: str | None = None) -> DataChoice:
    """The file at ``path`` as a DataChoice (``jetviz.serving.data_file`` checks it)."""
    found = data_file(path, kind)
    return DataChoice(kind, found.path, label, found.mtime_ns, found.size, jet_class)


@st.cache_resource(max_entries=4, show_spinner="Reading jets …")
def _read(path: str, mtime_ns: int, size: int, label: str, max_jets: int,
          jet_class: str | None = None) -> JetSet:
    """Read a jet file once per (path, mtime, size); the JetSet is shared, never modified."""
    from jetviz.readers.load import load_jets_checked  # on first use: keeps the start fast

    return load_jets_checked(path, name=label, max_jets=max_jets, jet_class=jet_class)


def _upload_choice(name: str, data: bytes, jet_class: str | None = None) -> DataChoice:
    """Parse an upload from memory (never written to disk) and keep its jets in this session
    only (one upload per session: they go when the session ends or another is loaded)."""
    from jetviz.readers.load import load_uploaded_jets

    with st.spinner("Reading jets …"):
        digest, jets = load_uploaded_jets(name, data, max_jets=MAX_JETS_DEFAULT,
                                          jet_class=jet_class)
    st.session_state[_UPLOAD] = (digest, jets)
    return DataChoice("upload", f"upload:{digest}", name, 0, len(data), jet_class)


def _held_upload(choice: DataChoice) -> JetSet:
    held = st.session_state.get(_UPLOAD)
    if held is None or f"upload:{held[0]}" != choice.path:
        raise JetvizInputError(f"{choice.label}: this upload is no longer held; upload the "
                               "file again")
    return held[1]


def load_choice(choice: DataChoice) -> JetSet:
    """The jets of ``choice`` (cached); raises JetvizInputError with the reader's message."""
    if choice.kind == "upload":
        return _held_upload(choice)
    return _read(choice.path, choice.mtime_ns, choice.size, choice.label, MAX_JETS_DEFAULT,
                 choice.jet_class)


def _attempt(input_id: str, choose: Callable[[], DataChoice]) -> None:
    """Load the input once per ``input_id``: make it the data set in use, or keep the
    current one and remember the error message."""
    if st.session_state.get(_ATTEMPT) == input_id:
        return
    st.session_state[_ATTEMPT] = input_id
    try:
        choice = choose()
        load_choice(choice)
    except JetvizInputError as err:
        st.session_state[_ERROR] = (input_id, str(err))
        return
    st.session_state[_ACTIVE] = choice
    st.session_state.pop(_ERROR, None)


def data_set_sidebar() -> None:
    """The data-set picker in the sidebar; shows a load error at the top of the page."""
    with st.sidebar:
        st.subheader("Jet data set")
        sources = SOURCES if path_entry_allowed() else SOURCES[:2]
        source = st.radio(
            "Source", sources, key="jetviz_data_source",
            help=("Every page uses the jets chosen here. The embedded default holds real "
                  "Pythia 8 jets made by `jetviz generate`; you can also read your own "
                  "JetNet, hls4ml, top-tagging or jetviz HDF5 file, "
                  f"at most {MAX_JETS_DEFAULT:,} jets of it."),
        )
        input_id = None
        if source == SOURCES[0]:
            path = default_jets_path()
            input_id = f"default:{path}"
            _attempt(input_id, lambda: _choice("default", path, "embedded default"))
        elif source == SOURCES[1]:
            jet_class = jetnet_class_picker()
            upload = st.file_uploader(
                "Jet file", type=UPLOAD_TYPES, key="jetviz_data_upload",
                help=("JetNet, hls4ml LHC-jets or top-tagging HDF5 as published, or a file "
                      "made by `jetviz generate`. The format is detected from the content. "
                      "(JetClass ROOT files are read by path.)"),
            )
            if upload is not None:
                input_id = f"upload:{upload.file_id}:{jet_class}"
                _attempt(input_id, lambda: _upload_choice(upload.name, upload.getvalue(),
                                                          jet_class))
        else:
            jet_class = jetnet_class_picker()
            text = st.text_input(
                "Path on the server", key="jetviz_data_path",
                placeholder="/data/jetnet/t.hdf5",
                help=("A jet file on the machine running the app, inside the folders the "
                      "administrator allows (checkpoints/ and $JETVIZ_DATA_ROOTS); press "
                      "Enter to load it."),
            ).strip()
            if text:
                input_id = f"path:{text}:{jet_class}"
                _attempt(input_id, lambda: _choice("path", text, Path(text).name, jet_class))
        jets = _active_jets()
        active = current_choice()
        if jets is not None:
            st.caption(f"In use: **{active.label}** — {len(jets):,} jets, "
                       f"{class_count_text(jets)}, P = {jets.n_particles}")
            if "capped_at" in jets.attrs:
                st.caption(f"Capped: the file declares {jets.attrs['n_rows_in_file']:,} jets; "
                           f"only the first {jets.attrs['capped_at']:,} were read.")
    error = st.session_state.get(_ERROR)
    if error is not None and error[0] in (input_id, "active"):
        still = f" Still using: {active.label}." if active is not None else ""
        hint = (" Pick its class under **JetNet class** above." if "JetNet class" in error[1]
                and source != SOURCES[0] else "")
        st.error(f"Could not load this data set. {error[1].rstrip('.')}.{hint}{still}")


FROM_NAME = "from the file name"


def jetnet_class_picker() -> str | None:
    """The JetNet class of the user's file (None: the reader takes it from the file name).

    JetNet stores one class per file and says which only in the name (g.hdf5, t150.hdf5…),
    so a renamed file needs the class from the user; other formats ignore it.
    """
    from jetviz.jets import CLASS_LABELS, CLASS_NAMES

    picked = st.selectbox(
        "JetNet class", (FROM_NAME, *CLASS_NAMES), key="jetviz_data_jet_class",
        format_func=lambda c: c if c == FROM_NAME else f"{c} — {CLASS_LABELS.get(c, c)}",
        help=("A JetNet file holds one class and names it only in the file name (g, q, t, w "
              "or z.hdf5). For a renamed file (e.g. my_jets.h5) pick its class here; files "
              "in the other formats carry their labels and ignore this."))
    return None if picked == FROM_NAME else picked


def _active_jets() -> JetSet | None:
    """The jets in use; if their file has become unreadable (deleted, replaced by something
    else) since it was chosen, drop it and remember why."""
    active = current_choice()
    if active is None:
        return None
    try:
        return load_choice(active)
    except JetvizInputError as err:
        st.session_state.pop(_ACTIVE, None)
        st.session_state[_ERROR] = ("active", str(err))
        return None


def current_choice() -> DataChoice | None:
    """The data set in use, or None if none could be loaded."""
    return st.session_state.get(_ACTIVE)


def jets_in_use() -> tuple[JetSet, str]:
    """The jets in use and their cache key; stops the page with a message if there are none."""
    jets = _active_jets()
    if jets is None:
        st.info("No jet data set is loaded: choose one in the sidebar (**Jet data set**).")
        st.stop()
    return jets, current_choice().key


@st.cache_data(max_entries=16, show_spinner=False)
def _count(path: str, mtime_ns: int, size: int, label: str) -> int:
    from jetviz.readers import count_jets

    return count_jets(path, name=label)


def truncation_note(jets: JetSet) -> str | None:
    """A sentence for the page when the file holds more jets than were read."""
    choice = current_choice()

    def count_in_file() -> int | None:
        try:
            return _count(choice.path, choice.mtime_ns, choice.size, choice.label)
        except JetvizInputError:
            return None

    uncounted = choice is None or choice.kind == "upload"
    return truncation_text(jets, MAX_JETS_DEFAULT, None if uncounted else count_in_file)


@st.cache_data(max_entries=8, show_spinner="Computing jet observables (once per data set) …")
def observables_of(_jets: JetSet, key: str) -> dict[str, np.ndarray]:
    """``jetviz.dataset.jet_observables`` once per data set (``key``: ``DataChoice.key``;
    ``_jets`` is not hashed)."""
    return jet_observables(_jets)


@st.cache_data(max_entries=8, show_spinner=False)
def class_histograms_of(_jets: JetSet, key: str):
    """The data page's per-class histogram figure (go.Figure), built once per data set."""
    from jetviz.figures.data import class_histograms

    return class_histograms(observables_of(_jets, key), _jets.labels, _jets.class_names)


@st.cache_data(max_entries=64, show_spinner="Averaging jet images …")
def average_image_of(_jets: JetSet, key: str, class_name: str, n_pixels: int,
                     preprocessed: bool = False) -> np.ndarray:
    """``jetviz.dataset.class_average_image`` once per set of arguments (``preprocessed``:
    the jets aligned first)."""
    return class_average_image(_jets, class_name, n_pixels, preprocessed)


def pick_random_jet(key: str, n: int) -> None:
    """Button callback: set the widget ``key`` to a random jet index in [0, n).

    The generator is seeded once per session, so a session's sequence of random jets is
    reproducible.
    """
    rng = st.session_state.setdefault("jetviz_jet_rng", np.random.default_rng(20251122))
    st.session_state[key] = int(rng.integers(n))


@st.cache_data(max_entries=64, show_spinner="Finding the 5 nearest jets by exact EMD …")
def neighbours_of(_jets: JetSet, key: str, class_name: str, index: int,
                  k: int = 5) -> tuple[np.ndarray, np.ndarray]:
    """``jetviz.dataset.class_neighbours`` once per jet: the ``k`` jets of ``class_name``
    nearest to its jet ``index`` (indices within the class, EMDs in GeV)."""
    return class_neighbours(_jets, class_name, index, k)
