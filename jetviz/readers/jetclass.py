"""JetClass ROOT files (Qu, Li, Qian, arXiv:2202.03772; the data set behind ParT) → JetSet.

Vocabulary
----------
A **JetClass file** is a ROOT file with one TTree (``tree``) of jets, one entry per jet:

* particles, jagged (one list per jet): ``part_px``, ``part_py``, ``part_pz``,
  ``part_energy`` [GeV];
* jet: ``jet_pt`` [GeV], ``jet_eta``, ``jet_phi``, ``jet_energy`` [GeV], ``jet_sdmass``
  [GeV] (soft-drop mass), ``jet_tau1`` … ``jet_tau4`` (N-subjettiness);
* one-hot labels ``label_QCD``, ``label_Hbb``, ``label_Hcc``, ``label_Hgg``, ``label_H4q``,
  ``label_Hqql``, ``label_Zqq``, ``label_Wqq``, ``label_Tbqq``, ``label_Tbl``
  (:data:`JETCLASS_CLASSES`, in this order).

They become the in-memory form every reader returns (:class:`jetviz.jets.JetSet`):
particles (N, P, 3) = (ptrel = pT/pT_jet, etarel = η − η_jet, phirel = φ − φ_jet wrapped to
(−π, π]), pT-ordered, padded with zeros and masked; jets (N, 5) = (pT, η, φ, mass,
multiplicity), the mass from the jet's four-momentum (E, pT, η, φ) with the sign of m²
kept (``copysign(sqrt(|m²|), m²)``); class names :data:`JETCLASS_CLASSES`. The soft-drop
mass and τ1…τ4 travel beside it in :attr:`JetClassJets.substructure`.

Files are read one after the other until ``max_jets`` jets are in (the rest of a file is
never read); a single file can be read from entry ``start`` on, so the chunked reader
(:mod:`jetviz.readers.stream`) reads the entries [start, start + max_jets) of it and nothing
else (uproot's entry ranges). JetClass jets have at most 128 particles (R = 0.8, anti-kT).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from jetviz.errors import JetvizInputError
from jetviz.jets import JetSet
from jetviz.physics import (
    etas_from_p4s,
    ms_from_p4s,
    p4s_from_ptetaphims,
    phis_from_p4s,
    pts_from_p4s,
    wrap_phi,
)

JETCLASS_CLASSES: tuple[str, ...] = (
    "QCD", "Hbb", "Hcc", "Hgg", "H4q", "Hqql", "Zqq", "Wqq", "Tbqq", "Tbl")
PARTICLE_BRANCHES = ("part_px", "part_py", "part_pz", "part_energy")
JET_BRANCHES = ("jet_pt", "jet_eta", "jet_phi", "jet_energy", "jet_sdmass",
                "jet_tau1", "jet_tau2", "jet_tau3", "jet_tau4")
LABEL_BRANCHES = tuple(f"label_{c}" for c in JETCLASS_CLASSES)
TREE = "tree"
MAX_PARTICLES = 128  # JetClass keeps at most 128 particles per jet
RADIUS = 0.8
ROOT_MAGIC = b"root"  # the first four bytes of every ROOT file


@dataclass(frozen=True)
class JetClassJets:
    """Jets read from JetClass files.

    Attributes:
        jets: the JetSet (class names :data:`JETCLASS_CLASSES`).
        substructure: name → (N,) ``jet_sdmass`` [GeV] and ``jet_tau1`` … ``jet_tau4``.
    """

    jets: JetSet
    substructure: dict[str, np.ndarray]


def is_root_file(head: bytes) -> bool:
    """Whether the first bytes of a file are a ROOT file's."""
    return head[:4] == ROOT_MAGIC


def read_jetclass(paths: str | os.PathLike | Sequence[str | os.PathLike], *,
                  max_jets: int | None = None, n_particles: int = MAX_PARTICLES,
                  name: str | None = None, start: int = 0) -> JetClassJets:
    """Read JetClass ROOT files, file by file, until ``max_jets`` jets are in.

    Args:
        paths: one file or several (read in the given order).
        max_jets: at most this many jets in total (None: all).
        n_particles: keep the ``n_particles`` hardest particles per jet.
        name: the source's name for messages (default: the first path).
        start: the first entry to read (one file only).

    Returns:
        The jets and their substructure.

    Raises:
        JetvizInputError: a file that is not a JetClass ROOT file (no ``tree``, a missing
            branch, a jet with no label or two), or nothing to read.
    """
    import awkward as ak
    import uproot

    files = [Path(paths)] if isinstance(paths, str | os.PathLike) else [Path(p) for p in paths]
    if not files:
        raise JetvizInputError("no JetClass file given; pass one or more .root files")
    if max_jets is not None and max_jets < 1:
        raise JetvizInputError(f"max_jets must be ≥ 1, got {max_jets}")
    if not 1 <= n_particles <= MAX_PARTICLES:
        raise JetvizInputError(f"n_particles must be in 1…{MAX_PARTICLES}, got {n_particles}")
    if start and len(files) > 1:
        raise JetvizInputError(f"start = {start} reads one JetClass file; got {len(files)}")
    label = name or str(files[0])
    parts: list[dict[str, np.ndarray]] = []
    remaining = max_jets
    for path in files:
        if remaining is not None and remaining <= 0:
            break
        try:
            with uproot.open(path) as root:
                tree = _tree(root, path)
                arrays = tree.arrays([*PARTICLE_BRANCHES, *JET_BRANCHES, *LABEL_BRANCHES],
                                     entry_start=start, library="ak",
                                     entry_stop=None if remaining is None else start + remaining)
        except (OSError, ValueError) as err:
            raise JetvizInputError(f"{path}: not a readable ROOT file ({err}); expected a "
                                   "JetClass .root file") from err
        parts.append(_file_arrays(arrays, path, n_particles, ak))
        if remaining is not None:
            remaining -= len(parts[-1]["jets"])
    return _assemble(parts, label, files, n_particles)


def _tree(root, path: Path):
    """The JetClass TTree of an open ROOT file, checked to have every JetClass branch."""
    if TREE not in root:
        raise JetvizInputError(
            f"{path}: a ROOT file without a TTree '{TREE}'; found {root.keys()[:8]}. "
            "Expected a JetClass file (Qu et al., Zenodo 6619768)")
    tree = root[TREE]
    missing = [b for b in (*PARTICLE_BRANCHES, *JET_BRANCHES, *LABEL_BRANCHES) if b not in tree]
    if missing:
        raise JetvizInputError(
            f"{path}: the TTree '{TREE}' lacks the JetClass branches {missing}; "
            "expected part_px…part_energy, jet_pt…jet_tau4 and label_QCD…label_Tbl")
    return tree


def read_jetclass_labels(path: str | os.PathLike, start: int, stop: int) -> np.ndarray:
    """The class indices (into :data:`JETCLASS_CLASSES`) of the entries [start, stop) of one
    JetClass file, reading only the label branches (how the chunked reader counts the jets
    of some classes)."""
    import uproot

    try:
        with uproot.open(path) as root:
            arrays = _tree(root, Path(path)).arrays(list(LABEL_BRANCHES), entry_start=start,
                                                    entry_stop=stop, library="np")
    except (OSError, ValueError) as err:
        raise JetvizInputError(f"{path}: not a readable ROOT file ({err}); expected a "
                               "JetClass .root file") from err
    return np.stack([arrays[b] for b in LABEL_BRANCHES], 1).argmax(1)


def _file_arrays(arrays, path: Path, n_particles: int, ak) -> dict[str, np.ndarray]:
    """One file's jets as dense arrays: particles (N, P, 3), mask, jets (N, 5), labels."""
    # part_energy is required by the layout, but a JetSet keeps particles as massless
    # (ptrel, etarel, phirel), like every other format
    px, py, pz = (arrays[b] for b in PARTICLE_BRANCHES[:3])
    order = ak.argsort(np.hypot(px, py), axis=1, ascending=False)  # pT-ordered
    # the n_particles hardest, zero-padded: (N, P, 4) = (E, px, py, pz) with E unused (0)
    momenta = [ak.to_numpy(ak.fill_none(ak.pad_none(v[order][:, :n_particles], n_particles,
                                                    axis=1, clip=True), 0.0))
               for v in (px, py, pz)]
    p4 = np.stack([np.zeros_like(momenta[0]), *momenta], -1).astype(np.float64)
    counts = ak.to_numpy(ak.num(px, axis=1))
    mask = np.arange(n_particles)[None, :] < np.minimum(counts, n_particles)[:, None]
    jet = {b: ak.to_numpy(arrays[b]).astype(np.float64) for b in JET_BRANCHES}
    ptrel = np.where(mask, pts_from_p4s(p4) / jet["jet_pt"][:, None], 0.0)
    etarel = np.where(mask, etas_from_p4s(p4) - jet["jet_eta"][:, None], 0.0)
    phirel = np.where(mask, wrap_phi(phis_from_p4s(p4) - jet["jet_phi"][:, None]), 0.0)
    onehot = np.stack([ak.to_numpy(arrays[b]).astype(np.float64) for b in LABEL_BRANCHES], 1)
    bad = np.flatnonzero(onehot.sum(1) != 1)
    if bad.size:
        raise JetvizInputError(
            f"{path}: jet {int(bad[0])} has {int(onehot[bad[0]].sum())} labels set; expected "
            "exactly one of label_QCD…label_Tbl per jet")
    # the jet's four-momentum: massless at (pT, η, φ), with the stored energy
    jet_p4 = p4s_from_ptetaphims(np.stack([jet["jet_pt"], jet["jet_eta"], jet["jet_phi"],
                                           np.zeros_like(jet["jet_pt"])], -1))
    jet_p4[:, 0] = jet["jet_energy"]
    mass = ms_from_p4s(jet_p4)  # m² = E² − |p|², sign kept
    jets = np.stack([jet["jet_pt"], jet["jet_eta"], jet["jet_phi"], mass, counts], axis=-1)
    return {"particles": np.stack([ptrel, etarel, phirel], -1).astype(np.float32),
            "mask": mask, "jets": jets.astype(np.float32), "labels": onehot.argmax(1),
            **{b: jet[b] for b in JET_BRANCHES if b.startswith(("jet_sdmass", "jet_tau"))}}


def _assemble(parts: list[dict], label: str, files: list[Path],
              n_particles: int) -> JetClassJets:
    if not parts or sum(len(p["jets"]) for p in parts) == 0:
        raise JetvizInputError(f"{label}: no jets in the JetClass file(s); expected ≥ 1 entry")
    jets = JetSet(
        particles=np.concatenate([p["particles"] for p in parts]),
        mask=np.concatenate([p["mask"] for p in parts]),
        jets=np.concatenate([p["jets"] for p in parts]),
        labels=np.concatenate([p["labels"] for p in parts]).astype(np.int64),
        class_names=JETCLASS_CLASSES, source=label, radius=RADIUS,
        attrs={"format": "jetclass", "files": ", ".join(f.name for f in files),
               "n_particles": n_particles})
    substructure = {b: np.concatenate([p[b] for p in parts])
                    for b in ("jet_sdmass", "jet_tau1", "jet_tau2", "jet_tau3", "jet_tau4")}
    return JetClassJets(jets, substructure)
