"""Coordinates the cINN works in: parton events as 10 numbers, detector events as a vector.

Parton level
------------
The hard process ZW has zero total transverse momentum, so (ℓ⁻, ℓ⁺, q, q̄′) with massless
decay products are fixed by 10 numbers (``PARTON_COORDS``):

  0, 1  z_Z, z_W   the boson masses through the Breit–Wigner's own cumulative distribution,
                   z = Φ⁻¹(½ + arctan((m² − M²)/(MΓ))/π): an exact Breit–Wigner becomes
                   N(0, 1), so the resonance peaks the talk found hard to learn are flat here
  2     log pT     of the Z (= pT of the W), GeV
  3     δφ_Z       φ_Z − φ_ref wrapped into (−π, π]; φ_ref is the detector dilepton's φ,
                   so the rotation symmetry about the beam is taken out by the condition
  4, 5  y_Z, y_W   rapidities
  6, 8  t_ℓ, t_q   atanh(cos θ*) of ℓ⁻ (of q) in its boson's rest frame, polar axis the
                   boson's flight direction (helicity frame)
  7, 9  φ*_ℓ, φ*_q azimuth there, about that axis, from the plane of the beam and the boson

``coords_from_partons`` and ``partons_from_coords`` are inverse to each other up to the
daughters' masses (quark masses ≤ 4.8 GeV are set to zero), so m_ℓℓ and m_jj of a sampled
event are the sampled boson masses exactly.

Detector level
--------------
``condition_from_detector`` turns leptons (N, 2, 4) and jets (N, J, 4) into (N, 9 + 6J + 5)
features, rotated by −φ_ref: per lepton log pT, η, sin φ, cos φ; the lepton flavour; per jet
log pT, η, sin φ, cos φ, log(1 + m), present flag (zeros when absent); then m_ℓℓ/100,
log pT_ℓℓ, m_jj/100, log pT_jj and log of the jet count. ``model_inputs`` gives both, and
φ_ref, for a set of paired events: what the cINN trains on and is conditioned on.
"""

from __future__ import annotations

import numpy as np
from scipy.special import ndtr, ndtri

from jetviz.errors import JetvizInputError
from jetviz.physics import etas_from_p4s, ms_from_p4s, phis_from_p4s, pts_from_p4s, wrap_phi
from jetviz.unfolding.data import PairedEvents

M_Z, GAMMA_Z = 91.1876, 2.4952  # GeV (Pythia 8 defaults)
M_W, GAMMA_W = 80.385, 2.085  # GeV
M_MIN = 1.0  # GeV, the smallest boson mass a coordinate maps to (the BW's far tail is m² < 0)
PARTON_COORDS = ("z_Z", "z_W", "log_pt", "dphi_Z", "y_Z", "y_W", "t_l", "phi_l", "t_q", "phi_q")
_EPS = 1e-9
_T_MAX = 8.0  # |atanh(cos θ)| cap: cos θ = ±(1 − 2e−16)


def z_from_mass(m: np.ndarray, mass: float, width: float) -> np.ndarray:
    """Breit–Wigner-flattened mass coordinate (N(0, 1) for an exact Breit–Wigner)."""
    u = 0.5 + np.arctan((np.square(m) - mass**2) / (mass * width)) / np.pi
    return ndtri(np.clip(u, _EPS, 1 - _EPS))


def mass_from_z(z: np.ndarray, mass: float, width: float) -> np.ndarray:
    """Inverse of :func:`z_from_mass`, floored at ``M_MIN`` (far below Pythia's mass range)."""
    u = np.clip(ndtr(z), _EPS, 1 - _EPS)
    m2 = mass**2 + mass * width * np.tan(np.pi * (u - 0.5))
    return np.sqrt(np.maximum(m2, M_MIN**2))


def rapidities_from_p4s(p4s: np.ndarray) -> np.ndarray:
    return 0.5 * np.log((p4s[..., 0] + p4s[..., 3]) / (p4s[..., 0] - p4s[..., 3]))


def _boost(p4s: np.ndarray, beta: np.ndarray) -> np.ndarray:
    """Lorentz boost of (..., 4) four-vectors by velocity ``beta`` (..., 3)."""
    b2 = np.sum(beta**2, axis=-1, keepdims=True)
    gamma = 1.0 / np.sqrt(np.maximum(1.0 - b2, 1e-16))
    bp = np.sum(beta * p4s[..., 1:], axis=-1, keepdims=True)
    coef = np.where(b2 > 0, (gamma - 1.0) / np.where(b2 > 0, b2, 1.0), 0.0)
    e = gamma * (p4s[..., :1] + bp)
    p = p4s[..., 1:] + coef * bp * beta + gamma * beta * p4s[..., :1]
    return np.concatenate([e, p], axis=-1)


def _helicity_axes(boson: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Unit vectors (x̂, ŷ, ẑ) of the helicity frame: ẑ along the boson, x̂ in the beam plane."""
    z = boson[..., 1:] / np.linalg.norm(boson[..., 1:], axis=-1, keepdims=True)
    beam = np.zeros_like(z)
    beam[..., 2] = 1.0
    x = beam - np.sum(beam * z, axis=-1, keepdims=True) * z
    x /= np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12)
    return x, np.cross(z, x), z


def _decay_angles(boson: np.ndarray, daughter: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(atanh cos θ*, φ*) of ``daughter`` in the rest frame of ``boson`` (helicity frame)."""
    rest = _boost(daughter, -boson[..., 1:] / boson[..., :1])
    d = rest[..., 1:] / np.maximum(np.linalg.norm(rest[..., 1:], axis=-1, keepdims=True), 1e-12)
    x, y, z = _helicity_axes(boson)
    cos = np.clip(np.sum(d * z, axis=-1), -1.0, 1.0)
    t = np.clip(np.arctanh(np.clip(cos, -1 + 1e-15, 1 - 1e-15)), -_T_MAX, _T_MAX)
    return t, np.arctan2(np.sum(d * y, axis=-1), np.sum(d * x, axis=-1))


def _daughters(boson: np.ndarray, t: np.ndarray, phi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Massless (daughter, anti-daughter) four-vectors of ``boson`` from its decay angles."""
    m = np.sqrt(np.maximum(boson[..., 0]**2 - np.sum(boson[..., 1:]**2, axis=-1), 0.0))
    cos = np.tanh(t)
    sin = np.sqrt(np.maximum(1 - cos**2, 0.0))
    x, y, z = _helicity_axes(boson)
    d = (sin * np.cos(phi))[..., None] * x + (sin * np.sin(phi))[..., None] * y + cos[..., None] * z
    half = (0.5 * m)[..., None]
    rest = np.concatenate([half, half * d], axis=-1)
    anti = np.concatenate([half, -half * d], axis=-1)
    beta = boson[..., 1:] / boson[..., :1]
    return _boost(rest, beta), _boost(anti, beta)


def _boson(m: np.ndarray, pt: np.ndarray, y: np.ndarray, phi: np.ndarray) -> np.ndarray:
    mt = np.sqrt(m**2 + pt**2)
    return np.stack([mt * np.cosh(y), pt * np.cos(phi), pt * np.sin(phi), mt * np.sinh(y)], -1)


def coords_from_partons(parton: np.ndarray, phi_ref: np.ndarray) -> np.ndarray:
    """(N, 10) coordinates (``PARTON_COORDS``) of parton events (N, 4, 4) = (ℓ⁻, ℓ⁺, q, q̄′)."""
    if parton.ndim != 3 or parton.shape[1:] != (4, 4):
        raise JetvizInputError(f"expected parton events (N, 4, 4), got {parton.shape}")
    parton = parton.astype(np.float64)
    z_boson, w_boson = parton[:, 0] + parton[:, 1], parton[:, 2] + parton[:, 3]
    t_l, phi_l = _decay_angles(z_boson, parton[:, 0])
    t_q, phi_q = _decay_angles(w_boson, parton[:, 2])
    return np.stack([
        z_from_mass(ms_from_p4s(z_boson), M_Z, GAMMA_Z),
        z_from_mass(ms_from_p4s(w_boson), M_W, GAMMA_W),
        np.log(np.maximum(pts_from_p4s(z_boson), 1e-3)),
        wrap_phi(phis_from_p4s(z_boson) - phi_ref),
        rapidities_from_p4s(z_boson), rapidities_from_p4s(w_boson),
        t_l, phi_l, t_q, phi_q], axis=-1)


def partons_from_coords(coords: np.ndarray, phi_ref: np.ndarray | float) -> np.ndarray:
    """(..., 4, 4) massless parton events from (..., 10) coordinates (inverse of the above)."""
    c = np.asarray(coords, dtype=np.float64)
    pt = np.exp(c[..., 2])
    phi_z = c[..., 3] + phi_ref
    z_boson = _boson(mass_from_z(c[..., 0], M_Z, GAMMA_Z), pt, c[..., 4], phi_z)
    w_boson = _boson(mass_from_z(c[..., 1], M_W, GAMMA_W), pt, c[..., 5], phi_z + np.pi)
    lm, lp = _daughters(z_boson, c[..., 6], c[..., 7])
    q, qbar = _daughters(w_boson, c[..., 8], c[..., 9])
    return np.stack([lm, lp, q, qbar], axis=-2)


def reference_phi(leptons: np.ndarray) -> np.ndarray:
    """φ of the detector-level dilepton system, the frame every angle is measured from."""
    return phis_from_p4s(leptons[..., 0, :] + leptons[..., 1, :])


def _object_features(p4s: np.ndarray, phi_ref: np.ndarray) -> list[np.ndarray]:
    pt = pts_from_p4s(p4s)
    present = pt > 0
    phi = wrap_phi(phis_from_p4s(p4s) - phi_ref[:, None])
    return [np.where(present, np.log(np.where(present, pt, 1.0)), 0.0),
            np.where(present, etas_from_p4s(p4s), 0.0),
            np.where(present, np.sin(phi), 0.0), np.where(present, np.cos(phi), 0.0)], present


def condition_from_detector(leptons: np.ndarray, jets: np.ndarray, n_jets: np.ndarray,
                            flavour: np.ndarray) -> np.ndarray:
    """(N, 14 + 6J) detector features (see the module docstring), float32.

    Args:
        leptons: (N, 2, 4); jets: (N, J, 4) zero-padded; n_jets: (N,) reconstructed jet count;
        flavour: (N,) 1 for muons, 0 for electrons.
    """
    phi_ref = reference_phi(leptons)
    lep, _ = _object_features(leptons, phi_ref)
    jet, present = _object_features(jets, phi_ref)
    jet_mass = np.where(present, np.log1p(np.maximum(ms_from_p4s(jets), 0.0)), 0.0)
    ll, jj = leptons[:, 0] + leptons[:, 1], jets[:, 0] + jets[:, 1]
    columns = [*(f[:, i] for i in range(2) for f in lep), flavour.astype(float)]
    columns += [*(f[:, i] for i in range(jets.shape[1]) for f in (*jet, jet_mass, present))]
    columns += [ms_from_p4s(ll) / 100.0, np.log(np.maximum(pts_from_p4s(ll), 1e-3)),
                ms_from_p4s(jj) / 100.0, np.log(np.maximum(pts_from_p4s(jj), 1e-3)),
                np.log(np.maximum(n_jets, 1))]
    return np.stack(columns, axis=-1).astype(np.float32)


def model_inputs(events: PairedEvents, swap_quarks: bool = False
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(parton coordinates (N, 10), detector features (N, F), φ_ref (N,)) of paired events.

    With ``swap_quarks`` the parton coordinates are those of (ℓ⁻, ℓ⁺, q̄′, q).
    """
    leptons = events.leptons.astype(np.float64)
    phi_ref = reference_phi(leptons)
    parton = events.parton[:, [0, 1, 3, 2]] if swap_quarks else events.parton
    x = coords_from_partons(parton, phi_ref).astype(np.float32)
    flavour = (np.abs(events.parton_id[:, 0]) == 13).astype(np.float32)
    y = condition_from_detector(leptons, events.jets.astype(np.float64), events.n_jets, flavour)
    return x, y, phi_ref
