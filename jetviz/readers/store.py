"""jetviz's own HDF5 files (written atomically through :func:`jetviz.files.atomic_path`).

Jet file schema (``kind = "jetviz-jets"``)
------------------------------------------
  particles  (N, P, 3) float32  (ptrel, etarel, phirel), padded rows zero
  mask       (N, P)    bool     True for a real particle
  p4         (N, P, 4) float32  constituents (E, px, py, pz) in GeV (optional)
  jets       (N, 5)    float32  (pT [GeV], η, φ, mass [GeV], multiplicity)
  labels     (N,)      int8     index into the attribute ``class_names``
  attributes: kind, schema_version, class_names (JSON list), radius, and any provenance
  (generator, versions, settings as JSON, seed, command).

Event file schema (``kind = "jetviz-events"``)
----------------------------------------------
  features   (N, 18)   float32  see jetviz.events.EVENT_FEATURES
  theory     (N,)      int16    index into the theory table
  theories   attribute: JSON list of {name, kind, m_gluino, m_neutralino}
  attributes as above.

Reading is lazy: ``read_jets(..., max_rows=n)`` and ``read_events(..., max_rows=n)`` read only
the first n rows of each dataset (h5py slicing), after checking every dataset's declared
shape, so a file declaring a billion rows costs what n rows cost. ``attrs["n_rows_in_file"]``
records the declared rows and ``attrs["capped_at"]`` where reading stopped, if it did.

Other jetviz files (the unfolding samples and posteriors) use the same container through
:func:`write_file` / :func:`read_file`: named gzip-compressed datasets plus attributes, one
of them ``kind`` (strings and numbers stored as they are, anything else as JSON).
"""

from __future__ import annotations

import contextlib
import json
import math
import os
from collections.abc import Mapping, Sequence

import h5py
import numpy as np

from jetviz.errors import JetvizInputError
from jetviz.events import EVENT_FEATURES, EventSet, Theory
from jetviz.files import atomic_path
from jetviz.jets import JetSet
from jetviz.readers.detect import MAX_PARTICLE_SLOTS
from jetviz.readers.hdf5 import cap_attrs, rows_to_read

SCHEMA_VERSION = 1
_COMPRESS = {"compression": "gzip", "compression_opts": 6, "shuffle": True}


def _write_attrs(h5: h5py.File, attrs: dict) -> None:
    for key, value in attrs.items():
        h5.attrs[key] = value if isinstance(value, str | int | float) else json.dumps(value)


def _read_attrs(h5: h5py.File) -> dict:
    out = {}
    for key, value in h5.attrs.items():
        out[key] = value.decode() if isinstance(value, bytes) else (
            value.item() if isinstance(value, np.generic) else value)
    return out


def write_file(path: str | os.PathLike, kind: str, datasets: Mapping[str, np.ndarray],
               attrs: Mapping[str, object]) -> None:
    """Write a jetviz HDF5 file atomically: gzip-compressed datasets and attributes.

    Args:
        path: the file to (re)place.
        kind: the file's ``kind`` attribute, which :func:`read_file` checks.
        datasets: name -> array, stored with the array's dtype (convert before).
        attrs: further attributes; strings and numbers as they are, anything else as JSON.
    """
    with atomic_path(path) as tmp, h5py.File(tmp, "w") as h5:
        for name, data in datasets.items():
            h5.create_dataset(name, data=data, **_COMPRESS)
        _write_attrs(h5, {**attrs, "kind": kind})


def read_file(path: str | os.PathLike, kind: str,
              names: Sequence[str]) -> tuple[dict[str, np.ndarray], dict]:
    """The datasets ``names`` (read whole) and the attributes of a jetviz file of ``kind``.

    For files jetviz itself writes and reads by its own path; a user's files go through the
    capped readers. Raises JetvizInputError for an unreadable file, another kind or a
    missing dataset.
    """
    with _open(path, kind) as h5:
        return {name: read_dataset(h5, name, path) for name in names}, _read_attrs(h5)


def read_file_rows(path: str | os.PathLike, kind: str, names: Sequence[str], start: int,
                   stop: int, max_rows: int) -> tuple[dict[str, np.ndarray], dict, int]:
    """The rows [start, stop) of the datasets ``names`` of a jetviz file of ``kind``, its
    attributes and its row count: :func:`read_file` by row ranges (h5py slicing; the rest of
    the file is not read). Every dataset must have the same rows; at most ``max_rows`` rows
    are read at once (a larger range is an error, not a full load)."""
    with _open(path, kind) as h5:
        lengths = {name: read_shape(h5, name, path)[0] for name in names}
        n_file = next(iter(lengths.values()))
        if len(set(lengths.values())) != 1:
            raise JetvizInputError(f"{path}: datasets of unequal rows {lengths}")
        if not 0 <= start <= stop <= n_file:
            raise JetvizInputError(f"{path}: rows [{start}, {stop}) are outside the file's "
                                   f"{n_file} rows")
        if stop - start > max_rows:
            raise JetvizInputError(f"{path}: {stop - start} rows asked for at once; at most "
                                   f"{max_rows} are read together")
        return ({name: h5[name][start:stop] for name in names}, _read_attrs(h5), n_file)


def read_shape(h5: h5py.File, name: str, path: str | os.PathLike) -> tuple[int, ...]:
    """The declared shape of dataset ``name`` of an open jetviz file (nothing is read)."""
    if name not in h5 or not isinstance(h5[name], h5py.Dataset):
        raise JetvizInputError(
            f"{path}: dataset {name!r} is missing; found {sorted(h5.keys())[:12]}")
    return h5[name].shape


def write_jets(path: str | os.PathLike, jets: JetSet, p4: np.ndarray | None = None) -> None:
    """Write a jet set (and optionally its constituent four-vectors) atomically."""
    datasets = {"particles": jets.particles.astype(np.float32), "mask": jets.mask,
                **({} if p4 is None else {"p4": p4.astype(np.float32)}),
                "jets": jets.jets.astype(np.float32), "labels": jets.labels.astype(np.int8)}
    write_file(path, "jetviz-jets", datasets, {
        **jets.attrs, "schema_version": SCHEMA_VERSION, "class_names": list(jets.class_names),
        "radius": float(jets.radius)})


def _require(h5: h5py.File, name: str, path: str | os.PathLike, tail: tuple[int | None, ...],
             n_rows: int | None = None) -> h5py.Dataset:
    """The dataset ``name``, checked to have shape (n_rows, *tail) (None: any size)."""
    if name not in h5 or not isinstance(h5[name], h5py.Dataset):
        raise JetvizInputError(
            f"{path}: dataset {name!r} is missing; found {sorted(h5.keys())[:12]}")
    ds = h5[name]
    shape = ds.shape
    ok = (len(shape) == 1 + len(tail) and (n_rows is None or shape[0] == n_rows)
          and all(t is None or s == t for s, t in zip(shape[1:], tail, strict=True)))
    if not ok:
        want = ", ".join(["N", *("P" if t is None else str(t) for t in tail)])
        raise JetvizInputError(
            f"{path}: dataset {name!r} has shape {shape}, expected ({want})"
            + (f" with N = {n_rows}" if n_rows is not None else ""))
    if len(shape) >= 2 and shape[1] > MAX_PARTICLE_SLOTS:
        raise JetvizInputError(
            f"{path}: dataset {name!r} declares {shape[1]:,} slots per row; jetviz reads at "
            f"most {MAX_PARTICLE_SLOTS:,}")
    return ds


def read_dataset(h5: h5py.File, name: str, path: str | os.PathLike) -> np.ndarray:
    """The whole dataset ``name`` of a jetviz file (for files jetviz itself ships and reads
    by its own path, such as the unfolding data; user files go through the capped readers)."""
    read_shape(h5, name, path)
    return h5[name][()]


def read_layout(path: str | os.PathLike, kinds: Sequence[str]
                ) -> tuple[str, dict[str, tuple[tuple[int, ...], np.dtype]], dict]:
    """The kind, every dataset's (shape, dtype) and the attributes of a jetviz file of one of
    ``kinds``, without reading the data (for ``jetviz merge``)."""
    with _open(path, kinds) as h5:
        attrs = _read_attrs(h5)
        layout = {name: (ds.shape, ds.dtype) for name, ds in h5.items()
                  if isinstance(ds, h5py.Dataset)}
    return attrs["kind"], layout, attrs


def write_concatenated(path: str | os.PathLike, kind: str,
                       pieces: Sequence[tuple[str | os.PathLike, int, int]],
                       attrs: Mapping[str, object]) -> int:
    """Write atomically a jetviz file whose every dataset is the rows [start, stop) of the
    same dataset of each ``(file, start, stop)`` piece, in order, one piece in memory at a time.

    Dataset names, dtypes and row shapes are the first piece's file's (the caller checks
    that all files agree). Returns the number of rows written.
    """
    n = sum(stop - start for _, start, stop in pieces)
    with h5py.File(pieces[0][0], "r") as first:
        layout = {name: (ds.shape[1:], ds.dtype) for name, ds in first.items()
                  if isinstance(ds, h5py.Dataset)}
    with contextlib.ExitStack() as stack:
        sources = {str(p): stack.enter_context(h5py.File(p, "r")) for p, _, _ in pieces}
        tmp = stack.enter_context(atomic_path(path))
        h5 = stack.enter_context(h5py.File(tmp, "w"))
        out = {name: h5.create_dataset(name, shape=(n, *tail), dtype=dtype, **_COMPRESS)
               for name, (tail, dtype) in layout.items()}
        row = 0
        for source, start, stop in pieces:
            for name, ds in out.items():
                ds[row:row + stop - start] = sources[str(source)][name][start:stop]
            row += stop - start
        _write_attrs(h5, {**attrs, "kind": kind})
    return n


def _open(path: str | os.PathLike, kind: str | Sequence[str]) -> h5py.File:
    kinds = (kind,) if isinstance(kind, str) else tuple(kind)
    try:
        h5 = h5py.File(path, "r")
    except (OSError, ValueError) as err:
        raise JetvizInputError(f"{path}: not a readable HDF5 file ({err})") from err
    found = h5.attrs.get("kind", "")
    found = found.decode() if isinstance(found, bytes) else found
    if found not in kinds:
        h5.close()
        raise JetvizInputError(f"{path}: expected a {' or '.join(kinds)} file, found kind "
                               f"{found!r}")
    return h5


def read_jets(path: str | os.PathLike, with_p4: bool = False,
              max_rows: int | None = None, start: int = 0) -> JetSet | tuple[JetSet, np.ndarray]:
    """Read a jetviz jet file; with ``with_p4`` also return the (N, P, 4) four-vectors.

    Args:
        path: the file (or a binary file-like object).
        with_p4: also return the constituent four-vectors.
        max_rows: read only ``max_rows`` jets (None: all).
        start: the first row to read (the chunked reader of
            :mod:`jetviz.readers.stream` reads the rows [start, start + max_rows)).
    """
    with _open(path, "jetviz-jets") as h5:
        attrs = _read_attrs(h5)
        ds = _require(h5, "particles", path, (None, 3))
        n_file, p = ds.shape[0], ds.shape[1]
        if not 0 <= start < max(n_file, 1):
            raise JetvizInputError(f"{path}: row {start} is outside the file's {n_file} rows")
        rows = slice(start, start + rows_to_read(n_file - start, max_rows, path, "jets"))
        n = rows.stop
        particles = ds[rows].astype(np.float32, copy=False)
        mask = _require(h5, "mask", path, (p,), n_file)[rows].astype(bool, copy=False)
        jets = _require(h5, "jets", path, (5,), n_file)[rows].astype(np.float32, copy=False)
        labels = _require(h5, "labels", path, (), n_file)[rows].astype(np.int64)
        p4 = (_require(h5, "p4", path, (p, 4), n_file)[rows]
              if with_p4 and "p4" in h5 else None)
    attrs.update(cap_attrs(n_file, n))
    class_names = tuple(json.loads(attrs.pop("class_names")))
    radius = float(attrs.pop("radius", 0.8))
    jetset = JetSet(particles, mask, jets, labels, class_names, str(path), attrs, radius)
    if with_p4:
        if p4 is None:
            raise JetvizInputError(f"{path}: this file stores no four-vectors ('p4')")
        return jetset, p4
    return jetset


def read_labels(path: str | os.PathLike, start: int = 0,
                max_rows: int | None = None) -> np.ndarray:
    """The class indices of the rows [start, start + max_rows) of a jetviz jet file, reading
    only its labels (how :mod:`jetviz.readers.stream` counts the jets of some classes)."""
    with _open(path, "jetviz-jets") as h5:
        ds = _require(h5, "labels", path, ())
        stop = ds.shape[0] if max_rows is None else min(ds.shape[0], start + max_rows)
        return ds[start:stop].astype(np.int64)


def write_events(path: str | os.PathLike, events: EventSet) -> None:
    """Write an event set atomically."""
    table = [
        {"name": t.name, "kind": t.kind,
         "m_gluino": None if math.isnan(t.m_gluino) else t.m_gluino,
         "m_neutralino": None if math.isnan(t.m_neutralino) else t.m_neutralino}
        for t in events.theories
    ]
    write_file(path, "jetviz-events", {"features": events.features.astype(np.float32),
                                       "theory": events.theory.astype(np.int16)},
               {**events.attrs, "schema_version": SCHEMA_VERSION, "theories": table})


def read_events(path: str | os.PathLike, max_rows: int | None = None) -> EventSet:
    """Read a jetviz event file (only its first ``max_rows`` events when given)."""
    with _open(path, "jetviz-events") as h5:
        attrs = _read_attrs(h5)
        ds = _require(h5, "features", path, (len(EVENT_FEATURES),))
        n_file = ds.shape[0]
        n = rows_to_read(n_file, max_rows, path, "events")
        features = ds[:n].astype(np.float32, copy=False)
        theory = _require(h5, "theory", path, (), n_file)[:n].astype(np.int64)
    attrs.update(cap_attrs(n_file, n))
    theories = tuple(
        Theory(t["name"], t["kind"],
               float("nan") if t["m_gluino"] is None else float(t["m_gluino"]),
               float("nan") if t["m_neutralino"] is None else float(t["m_neutralino"]))
        for t in json.loads(attrs.pop("theories"))
    )
    return EventSet(features, theory, theories, str(path), attrs)
