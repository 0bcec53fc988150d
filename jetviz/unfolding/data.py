"""Paired ZW events on disk and the five observables the Unfolding page shows.

Vocabulary
----------
Four-vectors are (E, px, py, pz) in GeV. One file holds N events matched one to one:

  parton     (N, 4, 4) float32  hard-process (ℓ⁻, ℓ⁺, q, q̄′)
  parton_id  (N, 4)    int8     their PDG ids
  leptons    (N, 2, 4) float32  detector-level (ℓ⁻, ℓ⁺), smeared
  jets       (N, J, 4) float32  detector-level anti-kT R = 0.4 jets, leading J by pT,
                                zero rows when the event has fewer
  n_jets     (N,)      int16    reconstructed jets in the event (may exceed J)
  attributes: kind = "jetviz-unfolding", schema_version, command, seed, settings,
  detector_card, generator, versions, stats (JSON).

Observables (``OBSERVABLES``), the same names at both levels — at parton level "j" means a
quark: m_ℓℓ, m_jj (of the two quarks or the two leading jets), pT of the leading jet
(quark), pT of the leading lepton, Δφ_jj = |φ_j1 − φ_j2| wrapped into [0, π].

The test sample is the last ``n_test`` events of a file (events are independent and come in
seeded chunks, so this is a random split fixed by the seed).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import numpy as np

from jetviz.errors import JetvizInputError
from jetviz.physics import ms_from_p4s, phis_from_p4s, pts_from_p4s, wrap_phi
from jetviz.readers.store import read_file, read_file_rows, write_file

KIND = "jetviz-unfolding"
SCHEMA_VERSION = 1
OBSERVABLES = ("m_ll", "m_jj", "pt_j1", "pt_l1", "dphi_jj")
LABELS = {"m_ll": "m<sub>ℓℓ</sub> [GeV]", "m_jj": "m<sub>jj</sub> [GeV]",
          "pt_j1": "p<sub>T,j1</sub> [GeV]", "pt_l1": "p<sub>T,ℓ1</sub> [GeV]",
          "dphi_jj": "Δφ<sub>jj</sub>"}
# the same as plain text (tables): "m_ℓℓ [GeV]"
TEXT_LABELS = {k: v.replace("<sub>", "_").replace("</sub>", "") for k, v in LABELS.items()}
# The talk's detector-level cuts (arXiv:2006.06685): name → {observable: (low, high)} in GeV
CUTS: dict[str, dict[str, tuple[float, float]]] = {
    "inclusive": {},
    "pT,j1 = 30–100 GeV": {"pt_j1": (30.0, 100.0)},
    "pT,j1 = 30–60, pT,j2 = 30–50 GeV": {"pt_j1": (30.0, 60.0), "pt_j2": (30.0, 50.0)},
}


@dataclass(frozen=True)
class PairedEvents:
    """N paired events (see the module docstring for shapes)."""

    parton: np.ndarray
    parton_id: np.ndarray
    leptons: np.ndarray
    jets: np.ndarray
    n_jets: np.ndarray
    attrs: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        n = len(self.parton)
        if self.parton.shape != (n, 4, 4) or self.leptons.shape != (n, 2, 4):
            raise JetvizInputError(
                f"expected parton (N, 4, 4) and leptons (N, 2, 4), got {self.parton.shape} "
                f"and {self.leptons.shape}")
        if self.jets.ndim != 3 or self.jets.shape[0] != n or self.jets.shape[2] != 4:
            raise JetvizInputError(f"expected jets (N, J, 4) with N = {n}, got {self.jets.shape}")
        if len(self.n_jets) != n or len(self.parton_id) != n:
            raise JetvizInputError("parton_id and n_jets need one row per event")

    def __len__(self) -> int:
        return len(self.parton)

    def subset(self, index: np.ndarray | slice) -> PairedEvents:
        return PairedEvents(self.parton[index], self.parton_id[index], self.leptons[index],
                            self.jets[index], self.n_jets[index], self.attrs)

    def split(self, n_test: int) -> tuple[PairedEvents, PairedEvents]:
        """(train, test): the test sample is the last ``n_test`` events."""
        if not 0 < n_test < len(self):
            raise JetvizInputError(f"n_test = {n_test}: need 0 < n_test < {len(self)} events")
        return self.subset(slice(0, len(self) - n_test)), self.subset(slice(len(self) - n_test,
                                                                             None))


_DATASETS = ("parton", "parton_id", "leptons", "jets", "n_jets")


def write_pairs(path: str | os.PathLike, events: PairedEvents) -> None:
    """Write paired events atomically (float32, gzip)."""
    floats = {name: getattr(events, name).astype(np.float32) for name in ("parton", "leptons",
                                                                          "jets")}
    write_file(path, KIND, {**floats, "parton_id": events.parton_id.astype(np.int8),
                            "n_jets": events.n_jets.astype(np.int16)},
               {**events.attrs, "schema_version": SCHEMA_VERSION})


def read_pairs(path: str | os.PathLike) -> PairedEvents:
    """Read a file written by ``jetviz unfold generate``."""
    arrays, attrs = read_file(path, KIND, _DATASETS)
    return PairedEvents(**arrays, attrs=attrs)


def read_pair_rows(path: str | os.PathLike, start: int, stop: int, max_rows: int
                   ) -> tuple[PairedEvents, int]:
    """(the events [start, stop) of a paired file, the file's event count), reading only
    those rows (at most ``max_rows``; ``start = stop`` reads none, to count)."""
    arrays, attrs, n_file = read_file_rows(path, KIND, _DATASETS, start, stop, max_rows)
    return PairedEvents(**arrays, attrs=attrs), n_file


def _dphi(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.abs(wrap_phi(phis_from_p4s(a) - phis_from_p4s(b)))


def observables_from_objects(leptons: np.ndarray, jets: np.ndarray) -> dict[str, np.ndarray]:
    """The five observables from two leptons (..., 2, 4) and two jets/quarks (..., 2, 4)."""
    pt_j = pts_from_p4s(jets[..., :2, :])
    pt_l = pts_from_p4s(leptons)
    return {
        "m_ll": ms_from_p4s(leptons[..., 0, :] + leptons[..., 1, :]),
        "m_jj": ms_from_p4s(jets[..., 0, :] + jets[..., 1, :]),
        "pt_j1": pt_j.max(axis=-1),
        "pt_l1": pt_l.max(axis=-1),
        "dphi_jj": _dphi(jets[..., 0, :], jets[..., 1, :]),
    }


def parton_observables(parton: np.ndarray) -> dict[str, np.ndarray]:
    """Observables of parton-level events (..., 4, 4)."""
    return observables_from_objects(parton[..., :2, :], parton[..., 2:, :])


def detector_observables(events: PairedEvents) -> dict[str, np.ndarray]:
    """Detector-level observables, plus ``pt_j2`` (for the talk's second cut)."""
    out = observables_from_objects(events.leptons, events.jets[:, :2])
    out["pt_j2"] = pts_from_p4s(events.jets[:, 1])
    return out


def cut_mask(detector: dict[str, np.ndarray], cut: str) -> np.ndarray:
    """Events passing one of the talk's detector-level ``CUTS`` (by name)."""
    if cut not in CUTS:
        raise JetvizInputError(f"unknown cut {cut!r}; choose one of {list(CUTS)}")
    keep = np.ones(len(detector["pt_j1"]), dtype=bool)
    for name, (low, high) in CUTS[cut].items():
        keep &= (detector[name] >= low) & (detector[name] < high)
    return keep
