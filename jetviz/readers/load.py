"""The readers' entry points: read jets or events from any supported file, or count them.

Vocabulary
----------
``load_jets`` returns a :class:`~jetviz.jets.JetSet` (see :mod:`jetviz.readers.hdf5` for its
arrays), ``load_events`` an :class:`~jetviz.events.EventSet` (N, 18). The format is detected
from the content (:func:`jetviz.readers.detect.detect_format`) unless ``fmt`` names it:
``jetviz`` (:mod:`.store`), ``jetnet``, ``hls4ml``, ``toptagging``, ``jetclass`` for jets,
``jetviz`` and ``darkmachines`` for events. ``max_jets`` / ``max_events`` cap the rows read
(lazily: the rest of the file is never loaded); ``count_jets`` / ``count_events`` say how many
rows a file holds without reading them. Every failure is a
:class:`~jetviz.errors.JetvizInputError` naming the file.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import os
from collections.abc import Callable, Mapping
from typing import TypeVar

from jetviz.errors import JetvizInputError
from jetviz.events import EventSet
from jetviz.jets import JetSet
from jetviz.readers import store
from jetviz.readers.darkmachines import csv_lines, read_darkmachines
from jetviz.readers.detect import (
    EVENT_FORMATS,
    JET_FORMATS,
    Source,
    detect_format,
    jetviz_kind,
    open_h5,
    rewind,
    source_name,
)
from jetviz.readers.hdf5 import dataset
from jetviz.readers.hls4ml import read_hls4ml
from jetviz.readers.jetnet import read_jetnet
from jetviz.readers.pandas_hdf5 import PandasFrame
from jetviz.readers.toptagging import read_toptagging

T = TypeVar("T", JetSet, EventSet)


def _check_fmt(fmt: str, allowed: tuple[str, ...], label: str, what: str) -> None:
    if fmt not in (*JET_FORMATS, *EVENT_FORMATS):
        raise JetvizInputError(
            f"{label}: unknown format {fmt!r}; expected 'auto' or one of {allowed}")
    if fmt not in allowed:
        other = "events" if what == "jets" else "jets"
        raise JetvizInputError(
            f"{label}: a {fmt} file holds {other}, not {what}; expected one of {allowed}. "
            f"Load it as {other} instead")


def _from_store(reader: Callable[[Source], T], source: Source, label: str) -> T:
    """Call a store reader, naming the file by ``label`` in its messages and result."""
    rewind(source)
    try:
        out = reader(source)
    except JetvizInputError as err:
        raise JetvizInputError(str(err).replace(str(source), label)) from err
    return dataclasses.replace(out, source=label)


def load_jets(source: Source, *, fmt: str = "auto", name: str | None = None,
              max_jets: int | None = None, n_particles: int | None = None,
              jet_class: str | None = None) -> JetSet:
    """Read jets from any supported file into a JetSet.

    Args:
        source: a path, or a binary file-like object (an upload, a BytesIO).
        fmt: "auto" (detect from the content) or one of JET_FORMATS.
        name: the file's name for messages and JetNet class detection (defaults to the path
            or the object's ``name``).
        max_jets: read only the first ``max_jets`` rows (the rest is never loaded). Empty jets
            among them are dropped, so the set may hold fewer.
        n_particles: keep the ``n_particles`` hardest particles per jet (default: all slots).
        jet_class: JetNet only, the class of the file when its name does not say it.

    Returns:
        The JetSet; ``attrs`` records the format, the file and ``dropped_empty_jets``.
    """
    label = source_name(source, name)
    fmt = detect_format(source, name=label, want="jets") if fmt == "auto" else fmt
    _check_fmt(fmt, JET_FORMATS, label, "jets")
    if fmt == "jetviz":
        kind = jetviz_kind(source, label)
        if kind != "jetviz-jets":
            raise JetvizInputError(
                f"{label}: a jetviz file of kind {kind!r}, which holds events, not jets; "
                "expected kind 'jetviz-jets'. Load it as events instead")
        jets = _from_store(lambda src: store.read_jets(src, max_rows=max_jets), source, label)
        return jets if n_particles is None else jets.truncated(n_particles)
    if fmt == "jetclass":
        return _jetclass(source, label, max_jets, n_particles).jets
    with open_h5(source, label, "jets") as h5:
        if fmt == "jetnet":
            return read_jetnet(h5, label, max_jets=max_jets, n_particles=n_particles,
                               jet_class=jet_class)
        if fmt == "hls4ml":
            return read_hls4ml(h5, label, max_jets=max_jets, n_particles=n_particles)
        return read_toptagging(h5, label, max_jets=max_jets, n_particles=n_particles)


def load_events(source: Source, *, fmt: str = "auto", name: str | None = None,
                max_events: int | None = None,
                kinds: Mapping[str, str] | None = None) -> EventSet:
    """Read events (a Dark Machines CSV or a jetviz event file) into an EventSet.

    Args:
        source: a path, or a binary file-like object.
        fmt: "auto" or one of EVENT_FORMATS.
        name: the file's name for messages.
        max_events: read only the first ``max_events`` events.
        kinds: Dark Machines only, the kind of a process id ("susy", "background",
            "unphysical"); see :func:`read_darkmachines`.
    """
    label = source_name(source, name)
    fmt = detect_format(source, name=label, want="events") if fmt == "auto" else fmt
    _check_fmt(fmt, EVENT_FORMATS, label, "events")
    if fmt == "darkmachines":
        return read_darkmachines(source, label, max_events=max_events, kinds=kinds)
    kind = jetviz_kind(source, label)
    if kind != "jetviz-events":
        raise JetvizInputError(
            f"{label}: a jetviz file of kind {kind!r}, which holds jets, not events; "
            "expected kind 'jetviz-events'. Load it as jets instead")
    return _from_store(lambda src: store.read_events(src, max_rows=max_events), source, label)


def count_jets(source: Source, *, fmt: str = "auto", name: str | None = None) -> int:
    """How many jet rows the file holds (empty jets included), without loading them."""
    label = source_name(source, name)
    fmt = detect_format(source, name=label, want="jets") if fmt == "auto" else fmt
    _check_fmt(fmt, JET_FORMATS, label, "jets")
    if fmt == "jetclass":
        import uproot

        with uproot.open(_path_of(source, label)) as root:
            return int(root["tree"].num_entries) if "tree" in root else 0
    with open_h5(source, label, "jets") as h5:
        if fmt == "toptagging":
            return PandasFrame(h5, "table", label).n_rows
        key = {"jetviz": "particles", "jetnet": "particle_features",
               "hls4ml": "jetConstituentList"}[fmt]
        return int(dataset(h5, key, label, fmt).shape[0])


def count_events(source: Source, *, fmt: str = "auto", name: str | None = None) -> int:
    """How many events the file holds (non-empty CSV lines), without parsing them."""
    label = source_name(source, name)
    fmt = detect_format(source, name=label, want="events") if fmt == "auto" else fmt
    _check_fmt(fmt, EVENT_FORMATS, label, "events")
    if fmt == "darkmachines":
        return sum(1 for raw in csv_lines(source, label) if raw.strip())
    with open_h5(source, label, "events") as h5:
        return int(dataset(h5, "features", label, "jetviz events").shape[0])


def _path_of(source: Source, label: str) -> str | os.PathLike:
    """The path of ``source``: ROOT files are read by path (uproot), not from a stream."""
    if isinstance(source, str | os.PathLike):
        return source
    raise JetvizInputError(f"{label}: a ROOT (JetClass) file must be read from a path on the "
                           "server; save it first")


def _jetclass(source: Source, label: str, max_jets: int | None, n_particles: int | None):
    from jetviz.readers.jetclass import MAX_PARTICLES, read_jetclass

    return read_jetclass(_path_of(source, label), max_jets=max_jets, name=label,
                         n_particles=MAX_PARTICLES if n_particles is None else n_particles)


def load_jets_checked(source: Source, *, name: str, max_jets: int | None,
                      jet_class: str | None = None) -> JetSet:
    """:func:`load_jets` for the app: a failure the readers did not foresee also becomes a
    JetvizInputError naming the file (and quoting nothing of it), never a crash."""
    try:
        return load_jets(source, name=name, max_jets=max_jets, jet_class=jet_class)
    except JetvizInputError:
        raise
    except Exception as err:
        raise JetvizInputError(
            f"{name}: could not be read as jets ({type(err).__name__}); expected a jetviz, "
            "JetNet, hls4ml or top-tagging HDF5 file") from err


def load_uploaded_jets(name: str, data: bytes, *, max_jets: int | None,
                       jet_class: str | None = None) -> tuple[str, JetSet]:
    """The jets of an uploaded file, parsed from memory (never written to disk), and the
    file's SHA-256 hex digest, which identifies the upload."""
    jets = load_jets_checked(io.BytesIO(data), name=name, max_jets=max_jets,
                             jet_class=jet_class)
    return hashlib.sha256(data).hexdigest(), jets

