"""JetNet (Kansal et al., arXiv:2106.11535; Zenodo 6975118) HDF5 files → JetSet.

Vocabulary
----------
A JetNet file holds ``particle_features`` (N, 30|150, 4) = (etarel, phirel, ptrel, mask) and
``jet_features`` (N, 4) = (pT [GeV], η, mass [GeV], num_particles). One class per file, named
only by the file name: g/q/t/w/z.hdf5 (or g150.hdf5 …), else the caller passes ``jet_class``.
The jet φ is not stored: it is set to 0. The JetSet returned is the one described in
:mod:`jetviz.readers.hdf5` (particles reordered to (ptrel, etarel, phirel), mask from the
fourth column).
"""

from __future__ import annotations

import re
from pathlib import Path

import h5py
import numpy as np

from jetviz.errors import JetvizInputError
from jetviz.jets import CLASS_NAMES, JetSet
from jetviz.readers.hdf5 import (
    cap_attrs,
    check_finite,
    check_numeric,
    check_slots,
    chunks,
    dataset,
    finish_jets,
    rows_to_read,
    shape_error,
)


def jetnet_class(label: str, jet_class: str | None = None) -> str:
    """The JetNet class: ``jet_class`` if given, else from the file name (g.hdf5, t150.hdf5…)."""
    if jet_class is not None:
        if jet_class not in CLASS_NAMES:
            raise JetvizInputError(
                f"{label}: unknown jet class {jet_class!r}; expected one of {CLASS_NAMES}")
        return jet_class
    match = re.fullmatch(r"([gqtwz])(\d*)", Path(label).stem.lower())
    if match is None:
        raise JetvizInputError(
            f"{label}: cannot tell the JetNet class from the file name; JetNet files are "
            f"named g, q, t, w or z.hdf5. Rename the file or give the class ({CLASS_NAMES})")
    return match.group(1)


def read_jetnet(h5: h5py.File, label: str, *, max_jets: int | None = None,
                n_particles: int | None = None, jet_class: str | None = None) -> JetSet:
    """JetNet HDF5 → JetSet (one class per file; jet φ = 0 since JetNet does not store it)."""
    cls = jetnet_class(label, jet_class)
    pf = dataset(h5, "particle_features", label, "JetNet")
    jf = dataset(h5, "jet_features", label, "JetNet")
    check_numeric(pf, "particle_features", label)
    check_numeric(jf, "jet_features", label)
    if pf.ndim != 3 or pf.shape[2] != 4:
        shape_error(label, "particle_features", "(N, 30 or 150, 4) = (etarel, phirel, ptrel, "
                     "mask)", pf.shape, "JetNet")
    if jf.ndim != 2 or jf.shape[1] != 4:
        shape_error(label, "jet_features", "(N, 4) = (pt, eta, mass, num_particles)",
                     jf.shape, "JetNet")
    if jf.shape[0] != pf.shape[0]:
        raise JetvizInputError(
            f"{label}: {pf.shape[0]} jets in 'particle_features' but {jf.shape[0]} in "
            "'jet_features'; expected the same number")
    check_slots(label, "particle_features", pf.shape)
    n = rows_to_read(pf.shape[0], max_jets, label)
    p = pf.shape[1]
    particles = np.empty((n, p, 3), np.float32)
    mask = np.empty((n, p), bool)
    for rows in chunks(n, p * 4 * pf.dtype.itemsize):
        raw = pf[rows].astype(np.float32)  # (n_chunk, P, 4) (etarel, phirel, ptrel, mask)
        check_finite(raw, "particle_features", label)
        mask[rows] = raw[..., 3] > 0.5
        particles[rows] = raw[..., [2, 0, 1]]
    jet = jf[:n].astype(np.float32)  # (N, 4) (pt, eta, mass, num_particles)
    check_finite(jet, "jet_features", label)
    jets = np.stack([jet[:, 0], jet[:, 1], np.zeros(n, np.float32), jet[:, 2], jet[:, 3]], -1)
    labels = np.full(n, CLASS_NAMES.index(cls), dtype=np.int64)
    attrs = {"format": "jetnet", "file": label, "jet_class": cls,
             **cap_attrs(pf.shape[0], n), "jet_phi": "not stored in JetNet; set to 0"}
    return finish_jets(particles, mask, jets, labels, CLASS_NAMES, label, attrs, n_particles)
