"""A parametric detector response in the style of a Delphes card, written as data.

Each object type (electron, muon, jet) has regions in |η|; in a region an object with energy
E and transverse momentum pT is kept with probability ``efficiency`` (if pT ≥ ``pt_min``) and
its energy is smeared by a Gaussian of relative width

    σ/E = a/√E ⊕ b ⊕ c/E ⊕ k·pT          (⊕: sum in quadrature; E, pT in GeV)

The four-vector is scaled by E'/E, so direction and m/E are kept. Objects beyond the last
region's ``eta_max`` are outside the acceptance.

The default card (``ATLAS_CARD``) takes its numbers from Delphes' ``cards/delphes_card_ATLAS.tcl``
(github.com/delphes/delphes): electrons from its ECal resolution (a = 0.101 √GeV,
b = 0.0017) and ElectronEfficiency; muons from MuonMomentumSmearing (σ/pT = b ⊕ k·pT in three
|η| bins) and MuonEfficiency within the tracker's |η| < 2.5; jets from its HCal resolution
(|η| ≤ 1.7: a = 0.5205, b = 0.0302, c = 1.59 GeV; 1.7–3.2: a = 0.706, b = 0.05) applied to the
whole jet energy — a simplification of Delphes, which smears towers before clustering.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

import numpy as np

from jetviz.errors import JetvizInputError
from jetviz.physics.kinematics import etas_from_p4s, pts_from_p4s

OBJECTS = ("electron", "muon", "jet")


@dataclass(frozen=True)
class Region:
    """The response of one object type for |η| below ``eta_max`` (and above the last region)."""

    eta_max: float  # upper |η| edge of the region
    a: float = 0.0  # stochastic term (√GeV): σ/E ∋ a/√E
    b: float = 0.0  # constant term: σ/E ∋ b
    c: float = 0.0  # noise term (GeV): σ/E ∋ c/E
    k: float = 0.0  # tracking term (1/GeV): σ/E ∋ k·pT
    efficiency: float = 1.0  # probability to reconstruct the object
    pt_min: float = 0.0  # GeV, objects below are never reconstructed


@dataclass(frozen=True)
class DetectorCard:
    """Regions per object type (ordered by |η|), the jet definition and the source."""

    electron: tuple[Region, ...]
    muon: tuple[Region, ...]
    jet: tuple[Region, ...]
    jet_radius: float = 0.4  # anti-kT R
    particle_eta_max: float = 4.9  # calorimeter acceptance of particles entering jets
    source: str = ""

    def regions(self, kind: str) -> tuple[Region, ...]:
        if kind not in OBJECTS:
            raise JetvizInputError(f"unknown object type {kind!r}; expected one of {OBJECTS}")
        return getattr(self, kind)

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> DetectorCard:
        raw = json.loads(text)
        try:
            return cls(**{**raw, **{k: tuple(Region(**r) for r in raw[k]) for k in OBJECTS}})
        except (KeyError, TypeError) as err:
            raise JetvizInputError(f"malformed detector card ({err})") from err


ATLAS_CARD = DetectorCard(
    electron=(Region(1.5, a=0.101, b=0.0017, efficiency=0.95, pt_min=10.0),
              Region(2.5, a=0.101, b=0.0017, efficiency=0.85, pt_min=10.0)),
    muon=(Region(0.5, b=0.01, k=1.0e-4, efficiency=0.95, pt_min=10.0),
          Region(1.5, b=0.015, k=1.5e-4, efficiency=0.95, pt_min=10.0),
          Region(2.5, b=0.025, k=3.5e-4, efficiency=0.85, pt_min=10.0)),
    jet=(Region(1.7, a=0.5205, b=0.0302, c=1.59, pt_min=25.0),
         Region(2.5, a=0.706, b=0.05, pt_min=25.0)),
    source="Delphes cards/delphes_card_ATLAS.tcl (github.com/delphes/delphes): ECal, HCal, "
           "MuonMomentumSmearing, ElectronEfficiency, MuonEfficiency; jets |η| < 2.5, pT > 25 GeV",
)


def region_index(card: DetectorCard, kind: str, eta: np.ndarray) -> np.ndarray:
    """Index of the region of each |η| (len(regions) when outside the acceptance)."""
    edges = np.array([r.eta_max for r in card.regions(kind)])
    return np.searchsorted(edges, np.abs(eta), side="left")


def relative_resolution(card: DetectorCard, kind: str, energy: np.ndarray, pt: np.ndarray,
                        eta: np.ndarray) -> np.ndarray:
    """σ/E of each object from the card (NaN outside the acceptance).

    Args:
        energy, pt, eta: arrays of the same shape (GeV, GeV, η).
    """
    regions = card.regions(kind)
    idx = region_index(card, kind, eta)
    out = np.full(np.shape(energy), np.nan)
    e = np.maximum(np.asarray(energy, dtype=float), 1e-9)
    for i, r in enumerate(regions):
        sel = idx == i
        out[sel] = np.sqrt(r.a**2 / e[sel] + r.b**2 + (r.c / e[sel])**2 + (r.k * pt[sel])**2)
    return out


def efficiency(card: DetectorCard, kind: str, pt: np.ndarray, eta: np.ndarray) -> np.ndarray:
    """Reconstruction probability of each object (0 outside acceptance or below pt_min)."""
    regions = card.regions(kind)
    idx = region_index(card, kind, eta)
    out = np.zeros(np.shape(pt))
    for i, r in enumerate(regions):
        sel = (idx == i) & (np.asarray(pt) >= r.pt_min)
        out[sel] = r.efficiency
    return out


def smear_p4s(card: DetectorCard, kind: str, p4s: np.ndarray, rng: np.random.Generator
              ) -> tuple[np.ndarray, np.ndarray]:
    """Detector response to objects (..., 4) = (E, px, py, pz).

    Returns:
        (smeared four-vectors, kept) where ``kept`` is True for objects inside the acceptance
        that pass the efficiency draw and, after smearing, the region's pT threshold.
    """
    p4s = np.asarray(p4s, dtype=float)
    if p4s.shape[-1] != 4:
        raise JetvizInputError(f"expected four-vectors (..., 4), got shape {p4s.shape}")
    pt, eta = pts_from_p4s(p4s), etas_from_p4s(p4s)
    sigma = relative_resolution(card, kind, p4s[..., 0], pt, eta)
    inside = np.isfinite(sigma)
    scale = 1.0 + np.where(inside, sigma, 0.0) * rng.standard_normal(pt.shape)
    scale = np.maximum(scale, 1e-3)  # a Gaussian tail below −100 % would flip the momentum
    out = p4s * scale[..., None]
    kept = inside & (rng.random(pt.shape) < efficiency(card, kind, pt, eta))
    thresholds = np.array([r.pt_min for r in card.regions(kind)] + [np.inf])
    kept &= pt * scale >= thresholds[region_index(card, kind, eta)]
    return out, kept
