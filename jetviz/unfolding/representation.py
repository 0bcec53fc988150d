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
  6     t_ℓ        atanh(cos θ*) of ℓ⁻ in the Z rest frame, polar axis the Z's flight
                   direction (helicity frame)
  8     t_q        atanh(2 cos θ* − 1) of the *forward* quark, the one of q, q̄′ with
                   cos θ* ≥ 0 in the W's helicity frame (the more energetic in the lab)
  7, 9  φ*_ℓ, φ*_q azimuth of ℓ⁻ (of the forward quark) there, about that axis, from the
                   plane of the beam and the boson

Jets do not tell the quark from the antiquark, so in (q, q̄′) order every posterior would have
two modes, (cos θ*, φ*) and (−cos θ*, φ* + π), that a flow smears into each other (too broad
a posterior and a leading-quark pT biased high). The forward/backward order has one; every
observable (``jetviz.unfolding.data.OBSERVABLES``) is symmetric in the two quarks.

``coords_from_partons`` and ``partons_from_coords`` are inverse to each other up to the
daughters' masses (quark masses ≤ 4.8 GeV are set to zero) and the quarks' order
(``partons_from_coords`` gives the forward quark first), so m_ℓℓ and m_jj of a sampled event
are the sampled boson masses exactly.

Detector level
--------------
``condition_from_detector`` turns leptons (N, 2, 4) and jets (N, J, 4) into
(N, 59 + 8J + J(J − 1)/2) features, rotated by −φ_ref: per lepton log pT, η, sin φ, cos φ;
the lepton flavour; per jet log pT, η, sin φ, cos φ, log(1 + m), present flag (zeros when
absent); m_ℓℓ/100, log pT_ℓℓ, m_jj/100, log pT_jj and log of the jet count. Then what tells
radiation jets from the W's: per jet (px, py)/100 GeV, every jet pair's mass, the W candidate
(the pair nearest M_W) and ℓℓ + candidate's (px, py), the imbalance ℓℓ + all jets; and, for
ℓℓ + candidate and for ℓℓ + the two leading jets, the transverse momenta of ℓ⁻, ℓ⁺, ℓℓ and the
two jets in that system's rest frame about the beam axis (the Collins–Soper axis) with the
system's log pT and mass; last, the parton coordinates themselves computed from ℓ⁻, ℓ⁺ and the
candidate's jets (angles as sin and cos), as measured and after the transverse boost that
stops ℓℓ + candidate. Initial-state radiation moves the ZW system as a whole; in its rest
frame the parton-level momenta before radiation reappear (the parton level here is the hard
process, as in the talk: its ZW system has pT = 0). Without these the summary network has to
learn boosts from (log pT, η, φ): the cINN then gave the leading quark's pT a posterior
biased high by +1.4 GeV, +6 GeV in events with ≥ 4 jets (README, issue 14).
``model_inputs`` gives both, and φ_ref, for a set of paired events: what the cINN trains on
and is conditioned on.
"""

from __future__ import annotations

from itertools import combinations

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
    cos_q = np.tanh(t_q)  # the forward quark: q if cos θ* ≥ 0, else q̄′ at (−cos θ*, φ* + π)
    phi_q = np.where(cos_q >= 0, phi_q, wrap_phi(phi_q + np.pi))
    t_q = np.clip(np.arctanh(np.clip(2 * np.abs(cos_q) - 1, -1 + 1e-15, 1 - 1e-15)),
                  -_T_MAX, _T_MAX)
    return np.stack([
        z_from_mass(ms_from_p4s(z_boson), M_Z, GAMMA_Z),
        z_from_mass(ms_from_p4s(w_boson), M_W, GAMMA_W),
        np.log(np.maximum(pts_from_p4s(z_boson), 1e-3)),
        wrap_phi(phis_from_p4s(z_boson) - phi_ref),
        rapidities_from_p4s(z_boson), rapidities_from_p4s(w_boson),
        t_l, phi_l, t_q, phi_q], axis=-1)


def partons_from_coords(coords: np.ndarray, phi_ref: np.ndarray | float) -> np.ndarray:
    """(..., 4, 4) massless parton events (ℓ⁻, ℓ⁺, forward quark, backward quark) from
    (..., 10) coordinates (inverse of the above)."""
    c = np.asarray(coords, dtype=np.float64)
    pt = np.exp(c[..., 2])
    phi_z = c[..., 3] + phi_ref
    z_boson = _boson(mass_from_z(c[..., 0], M_Z, GAMMA_Z), pt, c[..., 4], phi_z)
    w_boson = _boson(mass_from_z(c[..., 1], M_W, GAMMA_W), pt, c[..., 5], phi_z + np.pi)
    lm, lp = _daughters(z_boson, c[..., 6], c[..., 7])
    q, qbar = _daughters(w_boson, np.arctanh(np.clip((np.tanh(c[..., 8]) + 1) / 2, 0.0,
                                                      1 - 1e-15)), c[..., 9])
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
    """(N, 59 + 8J + J(J − 1)/2) detector features (see the module docstring), float32.

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
    columns += _recoil_features(leptons, jets, present, phi_ref)
    return np.stack(columns, axis=-1).astype(np.float32)


def _recoil_features(leptons: np.ndarray, jets: np.ndarray, present: np.ndarray,
                     phi_ref: np.ndarray) -> list[np.ndarray]:
    """Linear momentum features that tell radiation jets from the W's (see module docstring).

    In the frame rotated by −φ_ref, per jet (px, py)/100 GeV; the mass/100 of every jet pair
    (0 when a jet is absent); the W candidate — the pair whose mass is closest to M_W — its
    mass/100 and the (px, py)/100 of ℓℓ + candidate (the ZW system after radiation); and
    (px, py)/100 of ℓℓ + all jets (the event's imbalance).
    """
    cos, sin = np.cos(phi_ref)[:, None], np.sin(phi_ref)[:, None]
    px = np.where(present, jets[..., 1] * cos + jets[..., 2] * sin, 0.0)
    py = np.where(present, jets[..., 2] * cos - jets[..., 1] * sin, 0.0)
    pairs = list(combinations(range(jets.shape[1]), 2))
    masses = np.stack([np.where(present[:, i] & present[:, k],
                                ms_from_p4s(jets[:, i] + jets[:, k]), 0.0) for i, k in pairs], -1)
    best = np.argmin(np.where(masses > 0, np.abs(masses - M_W), np.inf), axis=-1)
    first, second = np.array(pairs).T
    rows = np.arange(len(jets))
    ll_pt = pts_from_p4s(leptons[:, 0] + leptons[:, 1])  # ℓℓ lies along +x in the rotated frame
    zw_x = ll_pt + px[rows, first[best]] + px[rows, second[best]]
    zw_y = py[rows, first[best]] + py[rows, second[best]]
    candidate = (jets[rows, first[best]], jets[rows, second[best]])
    return [*(px[:, i] / 100.0 for i in range(jets.shape[1])),
            *(py[:, i] / 100.0 for i in range(jets.shape[1])),
            *(masses[:, j] / 100.0 for j in range(len(pairs))),
            masses[rows, best] / 100.0, zw_x / 100.0, zw_y / 100.0,
            (ll_pt + px.sum(-1)) / 100.0, py.sum(-1) / 100.0,
            *_rest_frame_pts(leptons, candidate),
            *_rest_frame_pts(leptons, (jets[:, 0], jets[:, 1])),
            *_detector_coords(leptons, candidate, phi_ref, recoil=False),
            *_detector_coords(leptons, candidate, phi_ref, recoil=True)]


def _detector_coords(leptons: np.ndarray, candidate: tuple[np.ndarray, np.ndarray],
                     phi_ref: np.ndarray, recoil: bool) -> list[np.ndarray]:
    """The parton coordinates of (ℓ⁻, ℓ⁺, W-candidate jets) — angles as sin and cos — as
    measured, or (``recoil``) after the transverse boost that stops the ℓℓ + candidate system.
    """
    objects = np.stack([leptons[:, 0], leptons[:, 1], *candidate], axis=1)
    if recoil:
        system = objects.sum(axis=1)
        beta = np.zeros((len(system), 1, 3))
        beta[:, 0, :2] = system[:, 1:3] / np.maximum(system[:, :1], _EPS)
        objects = _boost(objects, -beta)
    c = coords_from_partons(objects, phi_ref)
    out = []
    for k in range(c.shape[1]):
        out += [np.sin(c[:, k]), np.cos(c[:, k])] if k in (3, 7, 9) else [c[:, k]]
    return out


def _rest_frame_pts(leptons: np.ndarray, quarks: tuple[np.ndarray, np.ndarray]
                    ) -> list[np.ndarray]:
    """log pT of ℓ⁻, ℓ⁺, ℓℓ and the two jets relative to the Collins–Soper axis in the rest
    frame of ℓℓ + the two jets, and that system's log pT and mass/100.

    Initial-state radiation moves the hard ZW system as a whole (Pythia transforms the hard
    process's final state); its rest frame undoes that, and the transverse momenta there, with
    the beam axis as seen from that frame (the bisector of the two beams), estimate the
    parton-level ones before radiation.
    """
    system = leptons[:, 0] + leptons[:, 1] + quarks[0] + quarks[1]
    beta = system[:, 1:] / np.maximum(system[:, :1], _EPS)
    beams = np.array([[1.0, 0.0, 0.0, 1.0], [1.0, 0.0, 0.0, -1.0]])
    b1, b2 = (_boost(np.broadcast_to(b, system.shape), -beta)[:, 1:] for b in beams)
    axis = b1 / np.linalg.norm(b1, axis=-1, keepdims=True) - b2 / np.linalg.norm(
        b2, axis=-1, keepdims=True)
    axis /= np.maximum(np.linalg.norm(axis, axis=-1, keepdims=True), _EPS)
    out = []
    for p4 in (leptons[:, 0], leptons[:, 1], leptons[:, 0] + leptons[:, 1], *quarks):
        p = _boost(p4, -beta)[:, 1:]
        pt = np.linalg.norm(p - np.sum(p * axis, axis=-1, keepdims=True) * axis, axis=-1)
        out.append(np.log(np.maximum(pt, 1e-3)))
    return [*out, np.log(np.maximum(pts_from_p4s(system), 1e-3)), ms_from_p4s(system) / 100.0]


def model_inputs(events: PairedEvents) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(parton coordinates (N, 10), detector features (N, F), φ_ref (N,)) of paired events."""
    leptons = events.leptons.astype(np.float64)
    phi_ref = reference_phi(leptons)
    x = coords_from_partons(events.parton, phi_ref).astype(np.float32)
    flavour = (np.abs(events.parton_id[:, 0]) == 13).astype(np.float32)
    y = condition_from_detector(leptons, events.jets.astype(np.float64), events.n_jets, flavour)
    return x, y, phi_ref
