"""Readers for the jet and event files physicists already have, as published.

Every reader returns jetviz's one in-memory form: a :class:`~jetviz.jets.JetSet`
(particles (N, P, 3) = (ptrel, etarel, phirel) sorted by descending ptrel, padded rows zero,
mask (N, P), jet truth (N, 5) = (pT [GeV], η, φ, mass [GeV], multiplicity)) or an
:class:`~jetviz.events.EventSet` (N, 18). Formats, recognised by their content (the datasets
present), never by the file extension:

``jetviz``       jetviz's own files (see jetviz.readers.store).
``jetnet``       JetNet (Kansal et al., arXiv:2106.11535; Zenodo 6975118): ``particle_features``
                 (N, 30|150, 4) = (etarel, phirel, ptrel, mask) and ``jet_features`` (N, 4) =
                 (pT, η, mass, num_particles). One class per file: g/q/t/w/z.hdf5 (or g150.hdf5
                 …), else pass ``jet_class``. The jet φ is not stored: it is set to 0.
``hls4ml``       hls4ml LHC jets (Zenodo 3602254): ``jetConstituentList`` (N, P, 16) with
                 ``particleFeatureNames`` (17 names for 16 columns: the last, j1_pdgid, has no
                 column), ``jets`` (N, 59) with ``jetFeatureNames`` ending in the one-hot
                 j_g j_q j_w j_z j_t j_undef. Columns are picked by name (j1_ptrel, j1_etarel,
                 j1_phirel; j_pt, j_eta, j_mass, j_multiplicity); all-zero rows are padding. The
                 jet φ is not stored: it is j1_phi − j1_phirel of the hardest constituent when
                 both columns are present, else 0.
``toptagging``   Top-tagging reference (Kasieczka et al., arXiv:1902.09914; Zenodo 2603256):
                 a pandas HDF5 frame under key ``table`` with columns E_i, PX_i, PY_i, PZ_i
                 (i < 200), …, is_signal_new. Read with h5py from the pandas layout ("fixed":
                 ``table/axis0``, ``table/block{k}_items``, ``table/block{k}_values``; "table"
                 format also understood); never with pandas.read_hdf, which may unpickle
                 object columns. Constituents with
                 E = 0 are padding. Classes are ("qcd", "t"): is_signal_new 0 → "qcd" (the QCD
                 dijet background, gluon and quark jets mixed, so not jetviz's "q"), 1 → "t".
``darkmachines`` Dark Machines (arXiv:2105.14027; Zenodo 3685861) CSV, one event a line:
                 ``event id; process id; weight; MET; METphi; type,E,pt,eta,phi; …`` with types
                 j, b, e-, e+, m-, m+, g and energies in MeV. Events get jetviz's 18 features
                 (leading four j/b jets by pT, MET) in GeV; one theory per process id.

Reads are lazy and capped: only the first ``max_jets`` rows are read from disk (the app
passes ``MAX_JETS_DEFAULT``; the CLI reads whole files unless told otherwise), chunk by chunk,
never a whole dataset first, so a file that *declares* a billion rows costs no more than one
that holds the cap; ``attrs["n_rows_in_file"]`` and ``attrs["capped_at"]`` then say how many
rows the file declares and where reading stopped.
Files declaring more than ``MAX_PARTICLE_SLOTS`` particle slots per jet (or absurd name lists,
or CSV lines longer than ``MAX_LINE_BYTES``) are refused with a message. Messages never quote
the bytes of a file that is not the expected format (a server file must not leak through them).

Jets with no particle left after removing padding are dropped and counted in
``attrs["dropped_empty_jets"]``; a file in which every jet is empty is an error. Anything else
that is not what the format promises (not HDF5/CSV, a missing dataset, a wrong shape, NaN/inf,
no rows, an unknown class) raises :class:`~jetviz.errors.JetvizInputError` naming the file,
what was expected and what was found.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import os
import re
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import BinaryIO, TypeVar

import h5py
import numpy as np

from jetviz.errors import JetvizInputError
from jetviz.events import EVENT_FEATURES, EventSet, Theory
from jetviz.jets import CLASS_NAMES, JetSet
from jetviz.physics import relative_from_p4s, wrap_phi
from jetviz.readers import store
from jetviz.readers.pandas_hdf5 import PandasFrame

Source = str | os.PathLike | BinaryIO
T = TypeVar("T", JetSet, EventSet)

MAX_JETS_DEFAULT = 100_000  # jets the app reads from one file at most (uploads and paths)
MAX_EVENTS_DEFAULT = 200_000  # events read from one file at most
MAX_PARTICLE_SLOTS = 1_000  # particle slots per jet (published sets: 30–200)
MAX_FEATURES = 256  # columns per particle / per jet in a file (hls4ml: 16 and 59)
MAX_NAMES = 4_096  # entries of a name list (hls4ml feature names, pandas column names)
MAX_LINE_BYTES = 1 << 20  # one Dark Machines CSV line (an event has a few hundred bytes)
JET_FORMATS: tuple[str, ...] = ("jetviz", "jetnet", "hls4ml", "toptagging", "jetclass")
EVENT_FORMATS: tuple[str, ...] = ("jetviz", "darkmachines")
TOPTAGGING_CLASSES: tuple[str, ...] = ("qcd", "t")
HLS4ML_ONEHOT: tuple[str, ...] = ("j_g", "j_q", "j_w", "j_z", "j_t")  # order in the file
DARKMACHINES_TYPES: frozenset[str] = frozenset({"j", "b", "e-", "e+", "m-", "m+", "g"})
RADIUS = 0.8  # all three published jet data sets use anti-kT R = 0.8

_HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
_CHUNK_BYTES = 1 << 26  # read big datasets 64 MB at a time
_MEV = 1e-3  # GeV per MeV
_SUSY_NAME = re.compile(r"glgl(\d+)_neutralino(\d+)")  # Dark Machines gluino-pair signals


# ---------------------------------------------------------------- opening files


def source_name(source: Source, name: str | None = None) -> str:
    """The name used for ``source`` in messages: ``name``, a path, or the object's ``name``."""
    if name:
        return name
    if isinstance(source, str | os.PathLike):
        return str(source)
    return str(getattr(source, "name", "") or "uploaded file")


def _rewind(source: Source) -> None:
    if not isinstance(source, str | os.PathLike):
        source.seek(0)


def _head(source: Source, n: int = 4096) -> bytes:
    """The first ``n`` bytes of the source (the file-like object is rewound)."""
    if isinstance(source, str | os.PathLike):
        try:
            with open(source, "rb") as fh:
                return fh.read(n)
        except OSError as err:
            raise JetvizInputError(f"{source}: cannot open the file ({err.strerror})") from err
    source.seek(0)
    head = source.read(n)
    source.seek(0)
    return head


def _is_hdf5(head: bytes) -> bool:
    # The HDF5 superblock sits at byte 0, or after a user block of 512 · 2^k bytes.
    return any(head[o:o + 8] == _HDF5_SIGNATURE for o in (0, 512, 1024, 2048))


# What a caller that wants jets, events, or either is told to give (error messages name only
# the formats that would have worked for that caller).
EXPECTED: dict[str | None, str] = {
    "jets": "a JetNet, hls4ml, top-tagging or jetviz jet file (HDF5)",
    "events": "a Dark Machines .csv or a jetviz events file (HDF5)",
    None: "a JetNet, hls4ml, top-tagging or jetviz HDF5 file, or a Dark Machines .csv",
}


@contextlib.contextmanager
def _open_h5(source: Source, label: str, want: str | None = "jets") -> Iterator[h5py.File]:
    _rewind(source)
    try:
        h5 = h5py.File(source, "r")
    except (OSError, ValueError) as err:
        raise JetvizInputError(
            f"{label}: not a readable HDF5 file ({err}); expected {EXPECTED[want]}. If it "
            "is one, it may be damaged or truncated: download or copy it again") from err
    try:
        yield h5
    except OSError as err:  # h5py read errors: damaged or truncated data
        raise JetvizInputError(
            f"{label}: reading failed ({err}); the file looks damaged or truncated. "
            "Download or copy it again") from err
    finally:
        h5.close()


def _hdf5_format(h5: h5py.File, label: str, want: str | None = None) -> str:
    kind = h5.attrs.get("kind", b"")
    kind = kind.decode() if isinstance(kind, bytes) else str(kind)
    if kind in ("jetviz-jets", "jetviz-events"):
        return "jetviz"
    if "particle_features" in h5 or "jet_features" in h5:
        return "jetnet"
    if "jetConstituentList" in h5:
        return "hls4ml"
    if "table" in h5 and isinstance(h5["table"], h5py.Group):
        return "toptagging"
    found = f"an HDF5 file of no known layout; found top-level entries {sorted(h5.keys())[:12]}"
    if want == "events":
        raise JetvizInputError(
            f"{label}: {found}. Expected {EXPECTED['events']}, whose attribute 'kind' is "
            "'jetviz-events'")
    raise JetvizInputError(
        f"{label}: {found}. Expected 'particle_features' + 'jet_features' (JetNet), "
        "'jetConstituentList' + 'jets' (hls4ml), 'table' (top tagging, pandas) or a jetviz file")


def detect_format(source: Source, *, name: str | None = None, want: str | None = None) -> str:
    """Which format ``source`` holds, from its content: one of JET_FORMATS or EVENT_FORMATS.

    Args:
        source: a path or a binary file-like object.
        name: the file's name for messages.
        want: "jets", "events" or None: which formats an error message offers instead.
    """
    label = source_name(source, name)
    head = _head(source)
    if not head:
        raise JetvizInputError(f"{label}: the file is empty (0 bytes); expected {EXPECTED[want]}")
    if _is_hdf5(head):
        with _open_h5(source, label, want) as h5:
            return _hdf5_format(h5, label, want)
    if head[:4] == b"root":  # a ROOT file: JetClass (jetviz.readers.jetclass)
        return "jetclass"
    first = head.split(b"\n", 1)[0].decode("utf-8", errors="replace")
    if first.count(";") >= 4 and "\x00" not in first:
        return "darkmachines"
    what = {"jets": "not an HDF5 file", None: "neither an HDF5 file nor a Dark Machines CSV",
            "events": "neither an HDF5 file nor a Dark Machines CSV (';'-separated)"}[want]
    raise JetvizInputError(
        f"{label}: {what}. Give {EXPECTED[want]}")


def _jetviz_kind(source: Source, label: str) -> str:
    with _open_h5(source, label, None) as h5:
        kind = h5.attrs.get("kind", b"")
    return kind.decode() if isinstance(kind, bytes) else str(kind)


# ---------------------------------------------------------------- dataset helpers


def _dataset(h5: h5py.File, key: str, label: str, layout: str) -> h5py.Dataset:
    if key not in h5 or not isinstance(h5[key], h5py.Dataset):
        raise JetvizInputError(
            f"{label}: dataset {key!r} is missing, which a {layout} file must have; "
            f"found {sorted(h5.keys())[:12]}")
    ds = h5[key]
    if not (np.issubdtype(ds.dtype, np.number) or ds.dtype.kind in "SOU"):
        raise JetvizInputError(f"{label}: dataset {key!r} holds {ds.dtype}, expected numbers")
    return ds


def _numeric(ds: h5py.Dataset, key: str, label: str) -> None:
    if not np.issubdtype(ds.dtype, np.number):
        raise JetvizInputError(
            f"{label}: dataset {key!r} holds {ds.dtype} values, expected numbers")


def _shape_error(label: str, key: str, expected: str, found: tuple, layout: str) -> None:
    raise JetvizInputError(
        f"{label}: dataset {key!r} has shape {found}, expected {expected} as in the "
        f"published {layout} files; is this really a {layout} file?")


def _rows(n_rows: int, max_rows: int | None, label: str, what: str = "jets") -> int:
    """Rows to read: ``min(n_rows, max_rows)`` (``max_rows`` None: all of them)."""
    if n_rows == 0:
        raise JetvizInputError(f"{label}: the file holds no {what} (0 rows)")
    if max_rows is not None and max_rows < 1:
        raise JetvizInputError(f"{label}: max_{what} must be ≥ 1, got {max_rows}")
    return n_rows if max_rows is None else min(n_rows, max_rows)


def _cap_attrs(n_rows: int, n: int) -> dict:
    """``n_rows_in_file`` and, when fewer rows were read, ``capped_at``."""
    return {"n_rows_in_file": int(n_rows), **({"capped_at": int(n)} if n < n_rows else {})}


def _check_slots(label: str, key: str, shape: tuple) -> None:
    """Refuse absurd per-row sizes before anything is read (a row must fit in memory)."""
    if len(shape) >= 2 and shape[1] > MAX_PARTICLE_SLOTS:
        raise JetvizInputError(
            f"{label}: dataset {key!r} declares {shape[1]:,} particle slots per jet; jetviz "
            f"reads at most {MAX_PARTICLE_SLOTS:,} (published jet sets have 30–200)")
    if len(shape) >= 2 and shape[-1] > MAX_FEATURES:
        raise JetvizInputError(
            f"{label}: dataset {key!r} declares {shape[-1]:,} columns; jetviz reads at most "
            f"{MAX_FEATURES}")


def _finite(arr: np.ndarray, key: str, label: str) -> None:
    bad = ~np.isfinite(arr)
    if bad.any():
        first = np.argwhere(bad)[0].tolist()
        raise JetvizInputError(
            f"{label}: {int(bad.sum())} NaN/inf values in {key!r} (first at index {first}); "
            "expected finite numbers. Repair or remove those jets and load the file again")


def _names(h5: h5py.File, key: str, label: str, layout: str) -> list[str]:
    ds = _dataset(h5, key, label, layout)
    if ds.ndim != 1:
        _shape_error(label, key, "a 1-D list of names", ds.shape, layout)
    if ds.shape[0] > MAX_NAMES:
        raise JetvizInputError(
            f"{label}: {key!r} declares {ds.shape[0]:,} names; expected at most {MAX_NAMES:,}")
    return [v.decode() if isinstance(v, bytes) else str(v) for v in ds[()]]


def _chunks(n: int, row_bytes: int) -> Iterator[slice]:
    step = max(1, _CHUNK_BYTES // max(row_bytes, 1))
    for start in range(0, n, step):
        yield slice(start, min(n, start + step))


# ---------------------------------------------------------------- common finishing


def _finish_jets(particles: np.ndarray, mask: np.ndarray, jets: np.ndarray, labels: np.ndarray,
                 class_names: tuple[str, ...], label: str, attrs: dict,
                 n_particles: int | None) -> JetSet:
    """Zero the padding, sort by ptrel, drop empty jets, truncate to ``n_particles``.

    Works in place, chunk by chunk, on the arrays it is given (the reader's own), so the
    peak memory stays near one copy of the jets.
    """
    p = particles.shape[1]
    for rows in _chunks(len(particles), p * 3 * 4 * 4):
        part, m = particles[rows], mask[rows]
        part[~m] = 0.0  # (n_chunk, P, 3)
        order = np.argsort(np.where(m, -part[..., 0], np.inf), axis=1, kind="stable")
        particles[rows] = np.take_along_axis(part, order[..., None], axis=1)
        mask[rows] = np.take_along_axis(m, order, axis=1)
    empty = ~mask.any(axis=1)
    if empty.all():
        raise JetvizInputError(
            f"{label}: no jets after removing padding: all {empty.size} jets read are empty "
            "(every particle row is padding). Check that this is the right file")
    if empty.any():
        keep = ~empty
        particles, mask, jets, labels = particles[keep], mask[keep], jets[keep], labels[keep]
    if n_particles is not None:
        if not 1 <= n_particles <= p:
            raise JetvizInputError(
                f"{label}: cannot keep {n_particles} particles per jet; the file has {p} "
                f"particle slots. Choose n_particles between 1 and {p}")
        particles, mask = particles[:, :n_particles], mask[:, :n_particles]
    attrs = {**attrs, "dropped_empty_jets": int(empty.sum()), "n_particles_in_file": p}
    return JetSet(particles=np.ascontiguousarray(particles, dtype=np.float32),
                  mask=np.ascontiguousarray(mask), jets=jets.astype(np.float32),
                  labels=labels.astype(np.int64), class_names=class_names, source=label,
                  attrs=attrs, radius=RADIUS)


# ---------------------------------------------------------------- JetNet


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
    pf = _dataset(h5, "particle_features", label, "JetNet")
    jf = _dataset(h5, "jet_features", label, "JetNet")
    _numeric(pf, "particle_features", label)
    _numeric(jf, "jet_features", label)
    if pf.ndim != 3 or pf.shape[2] != 4:
        _shape_error(label, "particle_features", "(N, 30 or 150, 4) = (etarel, phirel, ptrel, "
                     "mask)", pf.shape, "JetNet")
    if jf.ndim != 2 or jf.shape[1] != 4:
        _shape_error(label, "jet_features", "(N, 4) = (pt, eta, mass, num_particles)",
                     jf.shape, "JetNet")
    if jf.shape[0] != pf.shape[0]:
        raise JetvizInputError(
            f"{label}: {pf.shape[0]} jets in 'particle_features' but {jf.shape[0]} in "
            "'jet_features'; expected the same number")
    _check_slots(label, "particle_features", pf.shape)
    n = _rows(pf.shape[0], max_jets, label)
    p = pf.shape[1]
    particles = np.empty((n, p, 3), np.float32)
    mask = np.empty((n, p), bool)
    for rows in _chunks(n, p * 4 * pf.dtype.itemsize):
        raw = pf[rows].astype(np.float32)  # (n_chunk, P, 4) (etarel, phirel, ptrel, mask)
        _finite(raw, "particle_features", label)
        mask[rows] = raw[..., 3] > 0.5
        particles[rows] = raw[..., [2, 0, 1]]
    jet = jf[:n].astype(np.float32)  # (N, 4) (pt, eta, mass, num_particles)
    _finite(jet, "jet_features", label)
    jets = np.stack([jet[:, 0], jet[:, 1], np.zeros(n, np.float32), jet[:, 2], jet[:, 3]], -1)
    labels = np.full(n, CLASS_NAMES.index(cls), dtype=np.int64)
    attrs = {"format": "jetnet", "file": label, "jet_class": cls,
             **_cap_attrs(pf.shape[0], n), "jet_phi": "not stored in JetNet; set to 0"}
    return _finish_jets(particles, mask, jets, labels, CLASS_NAMES, label, attrs, n_particles)


# ---------------------------------------------------------------- hls4ml


def read_hls4ml(h5: h5py.File, label: str, *, max_jets: int | None = None,
                n_particles: int | None = None) -> JetSet:
    """hls4ml LHC-jets HDF5 → JetSet with the five classes from the one-hot jet labels."""
    layout = "hls4ml LHC-jets"
    pnames = _names(h5, "particleFeatureNames", label, layout)
    jnames = _names(h5, "jetFeatureNames", label, layout)
    cl = _dataset(h5, "jetConstituentList", label, layout)
    jt = _dataset(h5, "jets", label, layout)
    _numeric(cl, "jetConstituentList", label)
    _numeric(jt, "jets", label)
    if cl.ndim != 3 or cl.shape[2] > len(pnames):
        _shape_error(label, "jetConstituentList",
                     f"(N, P, F) with F ≤ {len(pnames)} (one column per particleFeatureName)",
                     cl.shape, layout)
    if jt.ndim != 2 or jt.shape[1] != len(jnames) or jt.shape[0] != cl.shape[0]:
        _shape_error(label, "jets", f"({cl.shape[0]}, {len(jnames)}): one row per jet, one "
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
    _check_slots(label, "jetConstituentList", cl.shape)
    _check_slots(label, "jets", (jt.shape[0], 0, *jt.shape[1:]))
    n = _rows(cl.shape[0], max_jets, label)
    p, f = cl.shape[1], cl.shape[2]
    use = [pcol["j1_ptrel"], pcol["j1_etarel"], pcol["j1_phirel"]]
    has_phi = "j1_phi" in pcol
    particles = np.empty((n, p, 3), np.float32)
    mask = np.empty((n, p), bool)
    phi_abs = np.zeros((n, p), np.float32)
    for rows in _chunks(n, p * f * cl.dtype.itemsize):
        block = cl[rows].astype(np.float32)  # (n_chunk, P, F)
        _finite(block, "jetConstituentList", label)
        mask[rows] = (block != 0).any(-1)  # all-zero rows are padding
        particles[rows] = block[..., use]
        if has_phi:
            phi_abs[rows] = block[..., pcol["j1_phi"]]
    jet = jt[:n].astype(np.float64)  # (N, 59)
    _finite(jet, "jets", label)
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
    attrs = {"format": "hls4ml", "file": label, **_cap_attrs(cl.shape[0], n),
             "jet_phi": "j1_phi − j1_phirel of the hardest constituent" if has_phi
             else "not stored; set to 0"}
    return _finish_jets(particles, mask, jets, labels, CLASS_NAMES, label, attrs, n_particles)


# ---------------------------------------------------------------- top tagging (pandas fixed)


def read_toptagging(h5: h5py.File, label: str, *, max_jets: int | None = None,
                    n_particles: int | None = None) -> JetSet:
    """Top-tagging reference HDF5 → JetSet with classes ("qcd", "t") from is_signal_new."""
    frame = PandasFrame(h5, "table", label)
    n_const = sum(1 for c in frame.columns if re.fullmatch(r"E_\d+", c))
    _check_slots(label, "table", (frame.n_rows, n_const))
    p4_names = [f"{c}_{i}" for i in range(n_const) for c in ("E", "PX", "PY", "PZ")]
    missing = [c for c in [*p4_names, "is_signal_new"] if c not in frame.where]
    if n_const == 0 or missing:
        raise JetvizInputError(
            f"{label}: expected top-tagging columns E_i, PX_i, PY_i, PZ_i (i = 0…199) and "
            f"is_signal_new; missing {missing[:6] if missing else ['E_0', '…']} (columns found: "
            f"{frame.columns[:6]}…)")
    n = _rows(frame.n_rows, max_jets, label)
    particles = np.empty((n, n_const, 3), np.float32)
    mask = np.empty((n, n_const), bool)
    jets = np.empty((n, 5), np.float64)
    labels = np.empty(n, np.int64)
    for rows in _chunks(n, 8 * (4 * n_const + 1)):
        cols = frame.read([*p4_names, "is_signal_new"], rows)  # (n_chunk, 4·K + 1)
        _finite(cols, "table", label)
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
    attrs = {"format": "toptagging", "file": label, **_cap_attrs(frame.n_rows, n),
             "labels": "is_signal_new: 0 → qcd, 1 → t"}
    return _finish_jets(particles, mask, jets, labels, TOPTAGGING_CLASSES, label, attrs,
                        n_particles)


# ---------------------------------------------------------------- Dark Machines CSV


def _lines(source: Source, label: str = "") -> Iterator[bytes]:
    """The lines of a CSV, each at most ``MAX_LINE_BYTES`` long (a longer one is an error)."""
    with contextlib.ExitStack() as stack:
        if isinstance(source, str | os.PathLike):
            fh = stack.enter_context(open(source, "rb"))
        else:
            fh = source
            fh.seek(0)
        lineno = 0
        while line := fh.readline(MAX_LINE_BYTES + 1):
            lineno += 1
            if len(line) > MAX_LINE_BYTES and not line.endswith(b"\n"):
                raise JetvizInputError(
                    f"{label or source_name(source)}, line {lineno}: longer than "
                    f"{MAX_LINE_BYTES:,} bytes; a Dark Machines event line has a few hundred")
            yield line


def _float(text: str, what: str, label: str, lineno: int) -> float:
    try:
        value = float(text)
    except ValueError:
        raise JetvizInputError(
            f"{label}, line {lineno}: {what} is not a number; expected a number "
            "(Dark Machines format: event id; process id; weight; MET; METphi; "
            "type,E,pt,eta,phi; …)") from None
    if not math.isfinite(value):
        raise JetvizInputError(f"{label}, line {lineno}: {what} is {value}, expected finite")
    return value


def _darkmachines_event(line: str, label: str, lineno: int) -> tuple[str, np.ndarray]:
    """One CSV line → (process id, the 18 jetviz features in GeV)."""
    fields = [f.strip() for f in line.split(";")]
    while fields and fields[-1] == "":  # lines end with a trailing ';'
        fields.pop()
    if len(fields) < 5:
        raise JetvizInputError(
            f"{label}, line {lineno}: {len(fields)} ';'-separated fields, expected at least 5 "
            "(event id; process id; weight; MET; METphi; then objects type,E,pt,eta,phi)")
    process = fields[1]
    _float(fields[2], "the weight", label, lineno)
    met = _float(fields[3], "MET", label, lineno) * _MEV
    met_phi = _float(fields[4], "METphi", label, lineno)
    jets = []
    for k, obj in enumerate(fields[5:], start=1):
        parts = [p.strip() for p in obj.split(",")]
        if len(parts) != 5 or parts[0] not in DARKMACHINES_TYPES:
            raise JetvizInputError(
                f"{label}, line {lineno}: object {k} is not of the form type,E,pt,eta,phi "
                f"with type one of {sorted(DARKMACHINES_TYPES)}")
        e, pt, eta, phi = (_float(v, f"object {k} {w}", label, lineno)
                           for v, w in zip(parts[1:], ("E", "pt", "eta", "phi"), strict=True))
        if parts[0] in ("j", "b"):
            jets.append((pt, eta, phi, e))
    jets.sort(key=lambda j: -j[0])
    feats = np.zeros(len(EVENT_FEATURES), np.float64)
    for i, (pt, eta, phi, e) in enumerate(jets[:4]):
        m2 = e**2 - (pt * math.cosh(eta)) ** 2  # m² = E² − |p|², |p| = pT cosh η
        feats[4 * i:4 * i + 4] = (pt * _MEV, eta, phi, math.copysign(math.sqrt(abs(m2)), m2)
                                  * _MEV)
    feats[16:] = met, met_phi
    return process, feats


def _theory(process: str, kinds: Mapping[str, str]) -> Theory:
    match = _SUSY_NAME.fullmatch(process)
    default = "susy" if match else "background"
    kind = kinds.get(process, default)
    if match and kind == "susy":
        return Theory(process, kind, float(match.group(1)), float(match.group(2)))
    return Theory(process, kind)


def read_darkmachines(source: Source, label: str, *, max_events: int | None = None,
                      kinds: Mapping[str, str] | None = None) -> EventSet:
    """Dark Machines CSV → EventSet: leading four j/b jets by pT and MET, MeV → GeV.

    One theory per process id, in order of first appearance. Its kind is ``kinds[process]``
    when given ("susy", "background" or "unphysical"); otherwise "susy" for gluino-pair names
    ``glgl<m_g̃>_neutralino<m_χ̃>`` (masses read from the name) and "background" for the rest.
    The event weights are read (and checked) but not kept.
    """
    if max_events is not None and max_events < 1:
        raise JetvizInputError(f"{label}: max_events must be ≥ 1, got {max_events}")
    kinds = dict(kinds or {})
    rows, processes, order = [], [], {}
    for lineno, raw in enumerate(_lines(source, label), start=1):
        try:
            line = raw.decode("utf-8").strip()
        except UnicodeDecodeError:
            raise JetvizInputError(
                f"{label}, line {lineno}: not UTF-8 text; expected a Dark Machines CSV") from None
        if not line:
            continue
        process, feats = _darkmachines_event(line, label, lineno)
        order.setdefault(process, len(order))
        processes.append(order[process])
        rows.append(feats)
        if max_events is not None and len(rows) >= max_events:
            break
    if not rows:
        raise JetvizInputError(f"{label}: the file holds no events (no non-empty lines)")
    theories = tuple(_theory(p, kinds) for p in order)
    attrs = {"format": "darkmachines", "file": label, "units": "GeV (converted from MeV)"}
    return EventSet(np.asarray(rows, np.float32), np.asarray(processes, np.int64), theories,
                    label, attrs)


# ---------------------------------------------------------------- entry points


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
    _rewind(source)
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
        kind = _jetviz_kind(source, label)
        if kind != "jetviz-jets":
            raise JetvizInputError(
                f"{label}: a jetviz file of kind {kind!r}, which holds events, not jets; "
                "expected kind 'jetviz-jets'. Load it as events instead")
        jets = _from_store(lambda src: store.read_jets(src, max_rows=max_jets), source, label)
        return jets if n_particles is None else jets.truncated(n_particles)
    if fmt == "jetclass":
        return _jetclass(source, label, max_jets, n_particles).jets
    with _open_h5(source, label, "jets") as h5:
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
    kind = _jetviz_kind(source, label)
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
    with _open_h5(source, label, "jets") as h5:
        if fmt == "toptagging":
            return PandasFrame(h5, "table", label).n_rows
        key = {"jetviz": "particles", "jetnet": "particle_features",
               "hls4ml": "jetConstituentList"}[fmt]
        return int(_dataset(h5, key, label, fmt).shape[0])


def count_events(source: Source, *, fmt: str = "auto", name: str | None = None) -> int:
    """How many events the file holds (non-empty CSV lines), without parsing them."""
    label = source_name(source, name)
    fmt = detect_format(source, name=label, want="events") if fmt == "auto" else fmt
    _check_fmt(fmt, EVENT_FORMATS, label, "events")
    if fmt == "darkmachines":
        return sum(1 for raw in _lines(source, label) if raw.strip())
    with _open_h5(source, label, "events") as h5:
        return int(_dataset(h5, "features", label, "jetviz events").shape[0])


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
