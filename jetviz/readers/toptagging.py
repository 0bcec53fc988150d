"""Top-tagging reference data set (Kasieczka et al., arXiv:1902.09914; Zenodo 2603256) → JetSet.

Vocabulary
----------
The file is a pandas HDF5 frame under key ``table`` with columns E_i, PX_i, PY_i, PZ_i
(i < 200; four-momenta in GeV), …, is_signal_new. It is read with h5py from the pandas layout
(:mod:`jetviz.readers.pandas_hdf5`: "fixed" ``table/axis0``, ``table/block{k}_items``,
``table/block{k}_values``; the "table" format is also understood), never with
pandas.read_hdf, which may unpickle object columns. Constituents with E = 0 are padding.
Classes are ``TOPTAGGING_CLASSES`` = ("qcd", "t"): is_signal_new 0 → "qcd" (the QCD dijet
background, gluon and quark jets mixed, so not jetviz's "q"), 1 → "t". Relative coordinates
and the jet (pT, η, φ, m) come from the four-momenta (:func:`jetviz.physics.relative_from_p4s`).
"""

from __future__ import annotations

import re

import h5py
import numpy as np

from jetviz.errors import JetvizInputError
from jetviz.jets import JetSet
from jetviz.physics import relative_from_p4s
from jetviz.readers.hdf5 import (
    cap_attrs,
    check_finite,
    check_slots,
    chunks,
    finish_jets,
    rows_to_read,
)
from jetviz.readers.pandas_hdf5 import PandasFrame

TOPTAGGING_CLASSES: tuple[str, ...] = ("qcd", "t")


def read_toptagging(h5: h5py.File, label: str, *, max_jets: int | None = None,
                    n_particles: int | None = None) -> JetSet:
    """Top-tagging reference HDF5 → JetSet with classes ("qcd", "t") from is_signal_new."""
    frame = PandasFrame(h5, "table", label)
    n_const = sum(1 for c in frame.columns if re.fullmatch(r"E_\d+", c))
    check_slots(label, "table", (frame.n_rows, n_const))
    p4_names = [f"{c}_{i}" for i in range(n_const) for c in ("E", "PX", "PY", "PZ")]
    missing = [c for c in [*p4_names, "is_signal_new"] if c not in frame.where]
    if n_const == 0 or missing:
        raise JetvizInputError(
            f"{label}: expected top-tagging columns E_i, PX_i, PY_i, PZ_i (i = 0…199) and "
            f"is_signal_new; missing {missing[:6] if missing else ['E_0', '…']} (columns found: "
            f"{frame.columns[:6]}…)")
    n = rows_to_read(frame.n_rows, max_jets, label)
    particles = np.empty((n, n_const, 3), np.float32)
    mask = np.empty((n, n_const), bool)
    jets = np.empty((n, 5), np.float64)
    labels = np.empty(n, np.int64)
    for rows in chunks(n, 8 * (4 * n_const + 1)):
        cols = frame.read([*p4_names, "is_signal_new"], rows)  # (n_chunk, 4·K + 1)
        check_finite(cols, "table", label)
        p4 = cols[:, :-1].reshape(-1, n_const, 4)  # (n_chunk, K, 4) = (E, px, py, pz)
        m = p4[..., 0] > 0  # zero-energy constituents are padding
        rel, jet4 = relative_from_p4s(p4, m)  # (n_chunk, K, 3), (n_chunk, 4) = (pT, η, φ, m)
        particles[rows], mask[rows] = rel, m
        jets[rows] = np.concatenate([jet4, m.sum(1, keepdims=True)], axis=1)
        sig = cols[:, -1]
        if not np.isin(sig, (0, 1)).all():
            bad = np.flatnonzero(~np.isin(sig, (0, 1)))[0]
            raise JetvizInputError(
                f"{label}: is_signal_new must be 0 (QCD) or 1 (top); found {sig[bad]} at row "
                f"{rows.start + int(bad)}")
        labels[rows] = sig.astype(np.int64)
    attrs = {"format": "toptagging", "file": label, **cap_attrs(frame.n_rows, n),
             "labels": "is_signal_new: 0 → qcd, 1 → t"}
    return finish_jets(particles, mask, jets, labels, TOPTAGGING_CLASSES, label, attrs,
                        n_particles)
