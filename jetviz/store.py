"""jetviz's own HDF5 files, and atomic writes for every file jetviz makes.

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
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import h5py
import numpy as np

from jetviz.errors import JetvizInputError
from jetviz.events import EventSet, Theory
from jetviz.jets import JetSet

SCHEMA_VERSION = 1
_COMPRESS = {"compression": "gzip", "compression_opts": 6, "shuffle": True}


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` only on success.

    An interrupted or failing write leaves any existing file at ``path`` untouched and
    removes the temporary file.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; give the file the usual permissions
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _write_attrs(h5: h5py.File, attrs: dict) -> None:
    for key, value in attrs.items():
        h5.attrs[key] = value if isinstance(value, str | int | float) else json.dumps(value)


def _read_attrs(h5: h5py.File) -> dict:
    out = {}
    for key, value in h5.attrs.items():
        out[key] = value.decode() if isinstance(value, bytes) else (
            value.item() if isinstance(value, np.generic) else value)
    return out


def write_jets(path: str | os.PathLike, jets: JetSet, p4: np.ndarray | None = None) -> None:
    """Write a jet set (and optionally its constituent four-vectors) atomically."""
    with atomic_path(path) as tmp, h5py.File(tmp, "w") as h5:
        h5.create_dataset("particles", data=jets.particles.astype(np.float32), **_COMPRESS)
        h5.create_dataset("mask", data=jets.mask, **_COMPRESS)
        if p4 is not None:
            h5.create_dataset("p4", data=p4.astype(np.float32), **_COMPRESS)
        h5.create_dataset("jets", data=jets.jets.astype(np.float32), **_COMPRESS)
        h5.create_dataset("labels", data=jets.labels.astype(np.int8), **_COMPRESS)
        _write_attrs(h5, {**jets.attrs, "kind": "jetviz-jets", "schema_version": SCHEMA_VERSION,
                          "class_names": list(jets.class_names), "radius": float(jets.radius)})


def _require(h5: h5py.File, name: str, path: str | os.PathLike) -> np.ndarray:
    if name not in h5:
        raise JetvizInputError(
            f"{path}: dataset {name!r} is missing; found {sorted(h5.keys())}")
    return h5[name][()]


def _open(path: str | os.PathLike, kind: str) -> h5py.File:
    try:
        h5 = h5py.File(path, "r")
    except (OSError, ValueError) as err:
        raise JetvizInputError(f"{path}: not a readable HDF5 file ({err})") from err
    found = h5.attrs.get("kind", "")
    found = found.decode() if isinstance(found, bytes) else found
    if found != kind:
        h5.close()
        raise JetvizInputError(f"{path}: expected a {kind} file, found kind {found!r}")
    return h5


def read_jets(path: str | os.PathLike, with_p4: bool = False) -> JetSet | tuple[JetSet, np.ndarray]:
    """Read a jetviz jet file; with ``with_p4`` also return the (N, P, 4) four-vectors."""
    with _open(path, "jetviz-jets") as h5:
        attrs = _read_attrs(h5)
        particles = _require(h5, "particles", path).astype(np.float32)
        mask = _require(h5, "mask", path).astype(bool)
        jets = _require(h5, "jets", path).astype(np.float32)
        labels = _require(h5, "labels", path).astype(np.int64)
        p4 = h5["p4"][()] if with_p4 and "p4" in h5 else None
    class_names = tuple(json.loads(attrs.pop("class_names")))
    radius = float(attrs.pop("radius", 0.8))
    jetset = JetSet(particles, mask, jets, labels, class_names, str(path), attrs, radius)
    if with_p4:
        if p4 is None:
            raise JetvizInputError(f"{path}: this file stores no four-vectors ('p4')")
        return jetset, p4
    return jetset


def write_events(path: str | os.PathLike, events: EventSet) -> None:
    """Write an event set atomically."""
    table = [
        {"name": t.name, "kind": t.kind,
         "m_gluino": None if math.isnan(t.m_gluino) else t.m_gluino,
         "m_neutralino": None if math.isnan(t.m_neutralino) else t.m_neutralino}
        for t in events.theories
    ]
    with atomic_path(path) as tmp, h5py.File(tmp, "w") as h5:
        h5.create_dataset("features", data=events.features.astype(np.float32), **_COMPRESS)
        h5.create_dataset("theory", data=events.theory.astype(np.int16), **_COMPRESS)
        _write_attrs(h5, {**events.attrs, "kind": "jetviz-events",
                          "schema_version": SCHEMA_VERSION, "theories": table})


def read_events(path: str | os.PathLike) -> EventSet:
    """Read a jetviz event file."""
    with _open(path, "jetviz-events") as h5:
        attrs = _read_attrs(h5)
        features = _require(h5, "features", path).astype(np.float32)
        theory = _require(h5, "theory", path).astype(np.int64)
    theories = tuple(
        Theory(t["name"], t["kind"],
               float("nan") if t["m_gluino"] is None else float(t["m_gluino"]),
               float("nan") if t["m_neutralino"] is None else float(t["m_neutralino"]))
        for t in json.loads(attrs.pop("theories"))
    )
    return EventSet(features, theory, theories, str(path), attrs)
