"""hls4ml LHC jets (Zenodo 3602254) HDF5 files → JetSet with the five classes g, q, t, w, z.

Vocabulary
----------
An hls4ml file holds ``jetConstituentList`` (N, P, 16) with ``particleFeatureNames`` (17
names for 16 columns: the last, j1_pdgid, has no column) and ``jets`` (N, 59) with
``jetFeatureNames`` ending in the one-hot j_g j_q j_w j_z j_t j_undef (``HLS4ML_ONEHOT``, in
the file's order). Columns are picked by name (j1_ptrel, j1_etarel, j1_phirel; j_pt, j_eta,
j_mass, j_multiplicity); all-zero constituent rows are padding. The jet φ is not stored: it is
j1_phi − j1_phirel of the hardest constituent when both columns are present, else 0. Units:
GeV. The JetSet returned is the one described in :mod:`jetviz.readers.hdf5`.
"""

from __future__ import annotations

import h5py
import numpy as np

from jetviz.errors import JetvizInputError
from jetviz.jets import CLASS_NAMES, JetSet
from jetviz.physics import wrap_phi
from jetviz.readers.hdf5 import (
    cap_attrs,
    check_finite,
    check_numeric,
    check_slots,
    chunks,
    dataset,
    finish_jets,
    name_list,
    rows_to_read,
    shape_error,
)

HLS4ML_ONEHOT: tuple[str, ...] = ("j_g", "j_q", "j_w", "j_z", "j_t")  # order in the file


def read_hls4ml(h5: h5py.File, label: str, *, max_jets: int | None = None,
                n_particles: int | None = None) -> JetSet:
    """hls4ml LHC-jets HDF5 → JetSet with the five classes from the one-hot jet labels."""
    layout = "hls4ml LHC-jets"
    pnames = name_list(h5, "particleFeatureNames", label, layout)
    jnames = name_list(h5, "jetFeatureNames", label, layout)
    cl = dataset(h5, "jetConstituentList", label, layout)
    jt = dataset(h5, "jets", label, layout)
    check_numeric(cl, "jetConstituentList", label)
    check_numeric(jt, "jets", label)
    if cl.ndim != 3 or cl.shape[2] > len(pnames):
        shape_error(label, "jetConstituentList",
                     f"(N, P, F) with F ≤ {len(pnames)} (one column per particleFeatureName)",
                     cl.shape, layout)
    if jt.ndim != 2 or jt.shape[1] != len(jnames) or jt.shape[0] != cl.shape[0]:
        shape_error(label, "jets", f"({cl.shape[0]}, {len(jnames)}): one row per jet, one "
                     "column per jetFeatureName", jt.shape, layout)
    pcol = {nm: i for i, nm in enumerate(pnames[:cl.shape[2]])}  # the 17th name has no column
    jcol = {nm: i for i, nm in enumerate(jnames)}
    for needed, have, key in ((("j1_ptrel", "j1_etarel", "j1_phirel"), pcol,
                               "particleFeatureNames"),
                              (("j_pt", "j_eta", "j_mass", *HLS4ML_ONEHOT), jcol,
                               "jetFeatureNames")):
        missing = [nm for nm in needed if nm not in have]
        if missing:
            raise JetvizInputError(
                f"{label}: {key} lacks {missing}; expected the hls4ml names (found "
                f"{list(have)[:8]}…)")
    check_slots(label, "jetConstituentList", cl.shape)
    check_slots(label, "jets", (jt.shape[0], 0, *jt.shape[1:]))
    n = rows_to_read(cl.shape[0], max_jets, label)
    p, f = cl.shape[1], cl.shape[2]
    use = [pcol["j1_ptrel"], pcol["j1_etarel"], pcol["j1_phirel"]]
    has_phi = "j1_phi" in pcol
    particles = np.empty((n, p, 3), np.float32)
    mask = np.empty((n, p), bool)
    phi_abs = np.zeros((n, p), np.float32)
    for rows in chunks(n, p * f * cl.dtype.itemsize):
        block = cl[rows].astype(np.float32)  # (n_chunk, P, F)
        check_finite(block, "jetConstituentList", label)
        mask[rows] = (block != 0).any(-1)  # all-zero rows are padding
        particles[rows] = block[..., use]
        if has_phi:
            phi_abs[rows] = block[..., pcol["j1_phi"]]
    jet = jt[:n].astype(np.float64)  # (N, 59)
    check_finite(jet, "jets", label)
    onehot = jet[:, [jcol[nm] for nm in HLS4ML_ONEHOT]]  # (N, 5) in the file's order g q w z t
    undef = jet[:, jcol["j_undef"]] if "j_undef" in jcol else np.zeros(n)
    ok = (onehot.sum(1) == 1) & ((onehot == 0) | (onehot == 1)).all(1) & (undef == 0)
    if not ok.all():
        bad = np.flatnonzero(~ok)
        raise JetvizInputError(
            f"{label}: {bad.size} jets have no single class among {HLS4ML_ONEHOT} (j_undef set "
            f"or not one-hot), first at row {int(bad[0])}; expected exactly one of "
            "j_g, j_q, j_w, j_z, j_t equal to 1")
    labels = np.array([CLASS_NAMES.index(nm[2:]) for nm in HLS4ML_ONEHOT])[onehot.argmax(1)]
    multiplicity = (jet[:, jcol["j_multiplicity"]] if "j_multiplicity" in jcol
                    else mask.sum(1).astype(np.float64))
    if has_phi:  # φ_jet = φ − φrel of the hardest real constituent
        hardest = np.argmax(np.where(mask, particles[..., 0], -np.inf), axis=1)
        pick = np.arange(n), hardest
        jet_phi = wrap_phi(phi_abs[pick] - particles[..., 2][pick])
    else:
        jet_phi = np.zeros(n)
    jets = np.stack([jet[:, jcol["j_pt"]], jet[:, jcol["j_eta"]], jet_phi,
                     jet[:, jcol["j_mass"]], multiplicity], -1)
    attrs = {"format": "hls4ml", "file": label, **cap_attrs(cl.shape[0], n),
             "jet_phi": "j1_phi − j1_phirel of the hardest constituent" if has_phi
             else "not stored; set to 0"}
    return finish_jets(particles, mask, jets, labels, CLASS_NAMES, label, attrs, n_particles)
