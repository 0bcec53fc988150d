"""The jet data set every page uses: the sidebar picker and the cached loaders.

The picker (``data_set_sidebar``, called once by app.py on every page) offers the embedded
default set, a file the user uploads, or a path on the server — only inside the data roots
(``jetviz.serving``; ``JETVIZ_ALLOW_PATHS=0`` removes the path box). A file is read once
through ``jetviz.readers.load_jets`` (at most ``MAX_JETS_DEFAULT`` jets) and cached on (path,
modification time, size); an upload is parsed from memory, never written to disk, and held
in its session only. A file that cannot be read shows the reader's message with
``st.error``; the data set in use stays.

Pages call ``jets_in_use()`` for the JetSet and its cache key, and the cached helpers below
(``observables_of``, ``average_image_of``) so nothing is recomputed on a rerun.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import streamlit as st

from jetviz.errors import JetvizInputError
from jetviz.jets import JetSet
from jetviz.readers import MAX_JETS_DEFAULT  # the one cap, defined with the readers
from jetviz.serving import path_entry_allowed, resolve_data_path

DEFAULT_ENV = "JETVIZ_DEFAULT_JETS"  # overrides jetviz.paths.DEFAULT_JETS (tests, other sets)
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


def default_jets_path() -> Path:
    """The embedded default jet file, or the file named by $JETVIZ_DEFAULT_JETS."""
    override = os.environ.get(DEFAULT_ENV)
    if override:
        return Path(override)
    from jetviz.paths import DEFAULT_JETS

    return DEFAULT_JETS


def _choice(kind: str, path: str | os.PathLike, label: str,
            jet_class: str | None = None) -> DataChoice:
    if kind == "path":  # typed by the user: only inside the data roots, else one message
        path = resolve_data_path(str(path))
    path = Path(path).expanduser()
    if path.is_dir():
        raise JetvizInputError(f"{path}: is a folder; give the path of one jet file inside it")
    if not path.is_file():
        what = "the embedded default data set" if kind == "default" else "a jet file"
        hint = ("make it with `jetviz generate` (see README) or load your own file"
                if kind == "default" else "check the path (it is read on the server)")
        raise JetvizInputError(f"{path}: expected {what} here, found no such file; {hint}")
    stat = path.stat()
    return DataChoice(kind, str(path.resolve()), label, stat.st_mtime_ns, stat.st_size,
                      jet_class)


@st.cache_resource(max_entries=4, show_spinner="Reading jets …")
def _read(path: str, mtime_ns: int, size: int, label: str, max_jets: int,
          jet_class: str | None = None) -> JetSet:
    """Read a jet file once per (path, mtime, size); the JetSet is shared, never modified."""
    from jetviz.readers import load_jets  # imported on first use: keeps the app start fast

    return load_jets(path, name=label, max_jets=max_jets, jet_class=jet_class)


def _upload_choice(name: str, data: bytes, jet_class: str | None = None) -> DataChoice:
    """Parse an upload from memory (never written to disk) and keep its jets in this session
    only (one upload per session: they go when the session ends or another is loaded)."""
    import io

    from jetviz.readers import load_jets

    digest = hashlib.sha256(data).hexdigest()
    try:
        with st.spinner("Reading jets …"):
            jets = load_jets(io.BytesIO(data), name=name, max_jets=MAX_JETS_DEFAULT,
                             jet_class=jet_class)
    except JetvizInputError:
        raise
    except Exception as err:  # a file the reader did not foresee must not crash the page
        raise JetvizInputError(
            f"{name}: could not be read as jets ({type(err).__name__}); expected a jetviz, "
            "JetNet, hls4ml or top-tagging HDF5 file") from err
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
    try:
        if choice.kind == "upload":
            return _held_upload(choice)
        return _read(choice.path, choice.mtime_ns, choice.size, choice.label, MAX_JETS_DEFAULT,
                     choice.jet_class)
    except JetvizInputError:
        raise
    except Exception as err:  # a file the reader did not foresee must not crash the page
        raise JetvizInputError(
            f"{choice.label}: could not be read as jets ({type(err).__name__}: {err}); "
            "expected a jetviz, JetNet, hls4ml or top-tagging HDF5 file"
        ) from err


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


def class_count_text(jets: JetSet) -> str:
    """"3 classes" counting only the classes that have jets ("1 class: w" for one)."""
    present = [name for name, n in jets.counts().items() if n > 0]
    if len(present) == 1:
        return f"1 class: {present[0]}"
    return f"{len(present)} classes"


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


@dataclass(frozen=True)
class DataSetSummary:
    """What the home page shows about a data set.

    Attributes:
        classes: one row per class: class, name, jets, share.
        provenance: one row per short attribute recorded in the file (generator, versions,
            seed…); a flat dictionary is written as "key value, …".
        details: nested attributes (settings, statistics) for a JSON view.
        command: the command that made the file, if it records one.
    """

    classes: list[dict]
    provenance: list[dict]
    details: dict
    command: str | None


_HIDDEN_ATTRS = frozenset({"kind", "schema_version", "command"})


def data_set_summary(jets: JetSet) -> DataSetSummary:
    """Class counts and provenance of ``jets`` as rows for ``st.table``."""
    from jetviz.jets import CLASS_LABELS

    counts = jets.counts()
    total = max(len(jets), 1)
    classes = [
        {"class": name, "name": CLASS_LABELS.get(name, name), "jets": n,
         "share": f"{100 * n / total:.1f} %"}
        for name, n in counts.items() if n > 0  # a one-class file lists only its class
    ]
    provenance, details = [], {}
    for key, value in sorted(jets.attrs.items()):
        if key in _HIDDEN_ATTRS:
            continue
        parsed = _json_or_none(value)
        if isinstance(parsed, dict) and all(not isinstance(v, dict | list)
                                            for v in parsed.values()):
            provenance.append({"field": key,
                               "value": ", ".join(f"{k} {v}" for k, v in parsed.items())})
        elif isinstance(parsed, dict | list):
            details[key] = parsed
        else:
            provenance.append({"field": key, "value": _short(value)})
    command = jets.attrs.get("command")
    return DataSetSummary(classes, provenance, details, str(command) if command else None)


def _json_or_none(value: object) -> object:
    if isinstance(value, str) and value[:1] in "{[":
        try:
            return json.loads(value)
        except ValueError:
            return None
    return None


def _short(value: object, limit: int = 240) -> str:
    text = str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


@st.cache_data(max_entries=16, show_spinner=False)
def _count(path: str, mtime_ns: int, size: int, label: str) -> int:
    from jetviz.readers import count_jets

    return count_jets(path, name=label)


def truncation_note(jets: JetSet) -> str | None:
    """A sentence for the page when the file holds more jets than were read."""
    choice = current_choice()
    if "capped_at" in jets.attrs:
        return (f"Only the first {jets.attrs['capped_at']:,} jets of the "
                f"{jets.attrs['n_rows_in_file']:,} in the file were read (jetviz's size limit "
                "per file, which keeps every page responsive).")
    if choice is None or choice.kind == "upload" or len(jets) < MAX_JETS_DEFAULT:
        return None
    try:
        total = _count(choice.path, choice.mtime_ns, choice.size, choice.label)
    except JetvizInputError:
        total = None
    if total is not None and total <= len(jets):
        return None
    of_total = f" of the {total:,} in the file" if total else ""
    return (f"Only the first {MAX_JETS_DEFAULT:,} jets{of_total} were read (jetviz's size "
            "limit per file, which keeps every page responsive).")


@st.cache_data(max_entries=8, show_spinner="Computing jet observables (once per data set) …")
def observables_of(_jets: JetSet, key: str) -> dict[str, np.ndarray]:
    """Per-jet observables for the data page, computed once per data set.

    pT, η, mass and multiplicity are the whole jet's, as stored in the file (all
    constituents); the N-subjettiness τ1, τ2, τ3, τ21, τ32 and ``mass_p`` (the mass of the
    P stored particles) come from ``jetviz.physics.observables`` on the stored particles.

    Args:
        _jets: the jets (not hashed: ``key`` identifies them).
        key: the data set's cache key (``DataChoice.key``).

    Returns:
        name -> (N,) float64 array.
    """
    from jetviz.jets import JET_FEATURES
    from jetviz.physics import observables

    from_particles = observables(_jets.particles, _jets.mask, _jets.jets[:, 0], _jets.radius)
    values = {name: _jets.jets[:, i].astype(np.float64) for i, name in enumerate(JET_FEATURES)}
    values.update({k: from_particles[k] for k in ("tau1", "tau2", "tau3", "tau21", "tau32")})
    values["mass_p"] = from_particles["mass"]
    return values


@st.cache_data(max_entries=8, show_spinner=False)
def class_histograms_of(_jets: JetSet, key: str):
    """The data page's per-class histogram figure (go.Figure), built once per data set."""
    from jetviz.figures.data import class_histograms

    return class_histograms(observables_of(_jets, key), _jets.labels, _jets.class_names)


@st.cache_data(max_entries=64, show_spinner="Averaging jet images …")
def average_image_of(_jets: JetSet, key: str, class_name: str, n_pixels: int,
                     preprocessed: bool = False) -> np.ndarray:
    """The average jet image of one class, (n_pixels, n_pixels), once per set of arguments.

    Args:
        _jets: the jets (not hashed: ``key`` identifies them).
        key: the data set's cache key.
        class_name: the class averaged over.
        n_pixels: pixels per side over [−R, R].
        preprocessed: centre, rotate and flip each jet first (``jetviz.physics.frame``), so
            the prongs of W, Z and top jets line up and show in the average.
    """
    from jetviz.physics.frame import preprocess
    from jetviz.physics.images import average_jet_image

    sub = _jets.of_class(class_name)
    particles = preprocess(sub.particles, sub.mask)[0] if preprocessed else sub.particles
    return average_jet_image(particles, sub.mask, n_pixels=n_pixels, R=_jets.radius)


def pick_random_jet(key: str, n: int) -> None:
    """Button callback: set the widget ``key`` to a random jet index in [0, n).

    The generator is seeded once per session, so a session's sequence of random jets is
    reproducible.
    """
    rng = st.session_state.setdefault("jetviz_jet_rng", np.random.default_rng(20251122))
    st.session_state[key] = int(rng.integers(n))


NEIGHBOUR_POOL = 2_000  # jets of the class searched for neighbours (exact EMD, ≈ 0.3 ms each)


@st.cache_data(max_entries=64, show_spinner="Finding the 5 nearest jets by exact EMD …")
def neighbours_of(_jets: JetSet, key: str, class_name: str, index: int,
                  k: int = 5) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` jets of ``class_name`` nearest to its jet ``index`` by exact EMD.

    Searches the first ``NEIGHBOUR_POOL`` jets of the class; indices are within the class
    (as the page's jet number), EMDs in GeV.
    """
    from jetviz.emd.neighbours import nearest_by_emd

    sub = _jets.of_class(class_name)
    pool = np.arange(min(len(sub), NEIGHBOUR_POOL))
    return nearest_by_emd(sub, index, pool, k)
