"""Jet kinematics, vectorised with ``...`` indexing: one function serves a particle, a jet, a batch.

Vocabulary (see also jetviz.jets):
  p4s   (..., 4) four-momenta (E, px, py, pz) in GeV
  ptyphims / ptetaphims (..., 4) (pT, η, φ, m): pT and m in GeV, φ in (−π, π]
  particles (..., P, 3) relative coordinates (ptrel, etarel, phirel) = (pT/pT_jet, η − η_jet,
        φ − φ_jet wrapped into (−π, π]), padded rows zero
  mask  (..., P) bool, True for a real particle (``None``: every row with ptrel > 0 is real).
  jet p4s / jet ptetaphims: the four-vector sum of a jet's (massless) particles.

Masses use a signed square root, sign(m²)·sqrt(|m²|) with m² = E² − |p|², so rounding never
turns a massless sum into NaN. Everything here is numpy only (no torch); N-subjettiness and
the jet observables live in jetviz.physics.substructure, jet images in
jetviz.physics.images and the preprocessing frame in jetviz.physics.frame.
"""

from __future__ import annotations

import numpy as np

from jetviz.errors import JetvizInputError


def wrap_phi(phi: np.ndarray) -> np.ndarray:
    """Wrap an angle into (−π, π]."""
    wrapped = np.mod(phi + np.pi, 2 * np.pi) - np.pi
    return np.where(wrapped == -np.pi, np.pi, wrapped)


def abs_dphis(dphi: np.ndarray) -> np.ndarray:
    """|Δφ| folded into [0, π], i.e. |wrap_phi(Δφ)|, for Δφ in [−2π, 2π] (no modulo: fast)."""
    return np.pi - np.abs(np.abs(dphi) - np.pi)


def massless_p4s(pt: np.ndarray, eta: np.ndarray, phi: np.ndarray) -> np.ndarray:
    """(E, px, py, pz) (..., 4) of massless particles: pT (cosh η, cos φ, sin φ, sinh η).

    For m = 0 rapidity and pseudorapidity coincide and E = |p| = pT cosh η; the cosh form
    keeps E ≥ |pz| term by term (``p4s_from_ptetaphims`` serves any mass).
    """
    return np.stack([pt * np.cosh(eta), pt * np.cos(phi), pt * np.sin(phi), pt * np.sinh(eta)],
                    axis=-1)


def pts_from_p4s(p4s: np.ndarray) -> np.ndarray:
    """Transverse momentum sqrt(px² + py²) of (..., 4) four-momenta."""
    return np.hypot(p4s[..., 1], p4s[..., 2])


def etas_from_p4s(p4s: np.ndarray) -> np.ndarray:
    """Pseudorapidity asinh(pz / pT); 0 for a zero vector."""
    pt = pts_from_p4s(p4s)
    with np.errstate(divide="ignore", invalid="ignore"):
        eta = np.arcsinh(np.where(pt > 0, p4s[..., 3] / np.where(pt > 0, pt, 1.0), 0.0))
    return eta


def phis_from_p4s(p4s: np.ndarray) -> np.ndarray:
    """Azimuth atan2(py, px) in (−π, π]."""
    return wrap_phi(np.arctan2(p4s[..., 2], p4s[..., 1]))


def ms_from_p4s(p4s: np.ndarray) -> np.ndarray:
    """Mass with a signed square root, sign(m²)·sqrt(|m²|), m² = E² − |p|²."""
    m2 = p4s[..., 0] ** 2 - p4s[..., 1] ** 2 - p4s[..., 2] ** 2 - p4s[..., 3] ** 2
    return np.copysign(np.sqrt(np.abs(m2)), m2)


def p4s_from_ptetaphims(ptetaphims: np.ndarray) -> np.ndarray:
    """(E, px, py, pz) from (pT, η, φ, m)."""
    pt, eta, phi, m = (ptetaphims[..., i] for i in range(4))
    px, py, pz = pt * np.cos(phi), pt * np.sin(phi), pt * np.sinh(eta)
    e = np.sqrt(px**2 + py**2 + pz**2 + m**2)
    return np.stack([e, px, py, pz], axis=-1)


def p4s_from_particles(particles: np.ndarray, jet_pt: np.ndarray, jet_eta: np.ndarray,
                       jet_phi: np.ndarray) -> np.ndarray:
    """Massless four-momenta (…, P, 4) from relative coordinates and the jet axis.

    Args:
        particles: (…, P, 3) (ptrel, etarel, phirel).
        jet_pt, jet_eta, jet_phi: (…,) the jet's pT [GeV], η and φ.

    Returns:
        (…, P, 4) (E, px, py, pz) in GeV; padded rows (ptrel = 0) are zero vectors.
    """
    pt = particles[..., 0] * np.asarray(jet_pt)[..., None]
    eta = particles[..., 1] + np.asarray(jet_eta)[..., None]
    phi = particles[..., 2] + np.asarray(jet_phi)[..., None]
    return p4s_from_ptetaphims(np.stack([pt, eta, phi, np.zeros_like(pt)], axis=-1))


def jet_p4s_from_particles(particles: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
    """Jet four-momentum (…, 4) in units of pT_jet, summed over massless particles.

    With relative coordinates the jet axis is at η = φ = 0, so the result is the jet's
    (E, px, py, pz) / pT_jet in a frame rotated to the jet's φ and boosted to its η: its
    transverse momentum and mass are pT/pT_jet and m/pT_jet.
    """
    w = particles[..., 0] if mask is None else np.where(mask, particles[..., 0], 0.0)
    return massless_p4s(w, particles[..., 1], particles[..., 2]).sum(-2)


def particles_from_p4s(p4s: np.ndarray, jet_pt: np.ndarray, jet_eta: np.ndarray,
                       jet_phi: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Relative coordinates (…, P, 3) of constituents about a given jet axis.

    The inverse of ``p4s_from_particles`` (up to the particles' masses, which relative
    coordinates do not carry): ptrel = pT / pT_jet, etarel = η − η_jet, phirel = φ − φ_jet
    wrapped into (−π, π].

    Args:
        p4s: (…, P, 4) constituents (E, px, py, pz) in GeV.
        jet_pt, jet_eta, jet_phi: (…,) the jet's pT [GeV] (> 0), η and φ.
        mask: (…, P) True for real particles.

    Returns:
        (…, P, 3) (ptrel, etarel, phirel), padded rows zero.
    """
    jet_pt = np.asarray(jet_pt)[..., None]
    with np.errstate(divide="ignore", invalid="ignore"):
        ptrel = pts_from_p4s(p4s) / np.where(jet_pt > 0, jet_pt, 1.0)
    etarel = etas_from_p4s(p4s) - np.asarray(jet_eta)[..., None]
    phirel = wrap_phi(phis_from_p4s(p4s) - np.asarray(jet_phi)[..., None])
    return np.where(mask[..., None], np.stack([ptrel, etarel, phirel], axis=-1), 0.0)


def relative_from_p4s(p4s: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Relative coordinates about the summed jet axis, and that jet's (pT, η, φ, m).

    Args:
        p4s: (…, P, 4) constituents (E, px, py, pz) in GeV, padding rows zero.
        mask: (…, P) True for real particles.

    Returns:
        particles (…, P, 3) (ptrel, etarel, phirel) with padded rows zero (see
        ``particles_from_p4s``), and the jets (…, 4) (pT, η, φ, m) of the summed four-momentum.
    """
    p4s = np.where(mask[..., None], p4s, 0.0)
    jets = ptetaphims_from_p4s(p4s.sum(-2))
    particles = particles_from_p4s(p4s, jets[..., 0], jets[..., 1], jets[..., 2], mask)
    return particles, jets


def ptetaphims_from_p4s(p4s: np.ndarray) -> np.ndarray:
    """(pT, η, φ, m) of (..., 4) four-momenta; m with a signed square root."""
    return np.stack(
        [pts_from_p4s(p4s), etas_from_p4s(p4s), phis_from_p4s(p4s), ms_from_p4s(p4s)], axis=-1
    )


def rapidities_from_p4s(p4s: np.ndarray) -> np.ndarray:
    """Rapidity y = ½ ln((E + pz)/(E − pz)); 0 where E = |pz| (no transverse momentum)."""
    e, pz = p4s[..., 0], p4s[..., 3]
    ok = (e - np.abs(pz)) > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        y = 0.5 * np.log(np.where(ok, e + pz, 1.0) / np.where(ok, e - pz, 1.0))
    return np.where(ok, y, 0.0)


def particle_mask(particles: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
    """The (..., P) mask of real particles: ``mask`` itself, or ptrel > 0 when it is None."""
    if mask is None:
        return np.asarray(particles)[..., 0] > 0
    return np.asarray(mask, dtype=bool)


def checked_particles(
    particles: np.ndarray, mask: np.ndarray | None, where: str
) -> tuple[np.ndarray, np.ndarray]:
    """The particles as an array and their (..., P) mask of real rows, after checking shapes.

    Args:
        particles: (..., P, 3) (ptrel, etarel, phirel).
        mask: (..., P) True for real particles, or None (ptrel > 0 is real).
        where: the caller's name, for the error message.

    Raises:
        JetvizInputError: particles not (..., P, 3), or a mask of another shape.
    """
    particles = np.asarray(particles)
    if particles.ndim < 2 or particles.shape[-1] != 3:
        raise JetvizInputError(
            f"{where}: expected particles of shape (..., P, 3) = (ptrel, etarel, phirel), "
            f"got {particles.shape}; pass one jet as (P, 3) or a batch as (N, P, 3)"
        )
    real = particle_mask(particles, mask)
    if real.shape != particles.shape[:-1]:
        raise JetvizInputError(
            f"{where}: expected a mask of shape {particles.shape[:-1]} to match the particles "
            f"{particles.shape}, got {real.shape}"
        )
    return particles, real


def multiplicities(particles: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
    """Number of real particles per jet, (...,) int64.

    This counts the particles present in the array; a jet truncated to its P hardest
    constituents counts at most P (the stored jet truth keeps the count before truncation).
    """
    return particle_mask(particles, mask).sum(-1).astype(np.int64)


def jet_ptetaphims_from_particles(
    particles: np.ndarray,
    mask: np.ndarray | None = None,
    jet_pt: np.ndarray | float = 1.0,
    jet_eta: np.ndarray | float = 0.0,
    jet_phi: np.ndarray | float = 0.0,
) -> np.ndarray:
    """Jet (pT, η, φ, m) (..., 4) from the massless sum of its particles.

    The particles are placed at (η_jet + etarel, φ_jet + phirel) with pT = ptrel · pT_jet,
    summed as four-vectors, and the sum's pT, η, φ and mass (signed square root) returned.
    With the default jet_eta = jet_phi = 0 the result is in the jet's relative frame: pT and
    mass are exactly those of the lab frame (a shift in φ is a rotation about the beam, a
    shift in η a boost along it, for massless particles), and η, φ are the offset of the
    particles' summed axis from the reference axis (≈ 0 for true jets). With jet_pt = 1
    (the default) pT and m are in units of pT_jet, as in ``jet_p4s_from_particles``.

    Args:
        particles: (..., P, 3) (ptrel, etarel, phirel).
        mask: (..., P) True for real particles, or None (ptrel > 0 is real).
        jet_pt, jet_eta, jet_phi: (...,) or scalars: the reference jet's pT [GeV], η, φ.

    Returns:
        (..., 4) (pT [GeV], η, φ, m [GeV]).
    """
    particles = np.asarray(particles, dtype=np.float64)
    rel = jet_p4s_from_particles(particles, particle_mask(particles, mask))  # (..., 4)
    # massless particles at η + η0, φ + φ0: the relative-frame sum boosted by η0 along z and
    # rotated by φ0 about it (exact: cosh(η + η0) = cosh η cosh η0 + sinh η sinh η0, ...)
    e, px, py, pz = (rel[..., k] for k in range(4))
    eta0, phi0 = np.asarray(jet_eta, dtype=np.float64), np.asarray(jet_phi, dtype=np.float64)
    ch, sh, c, s = np.cosh(eta0), np.sinh(eta0), np.cos(phi0), np.sin(phi0)
    lab = np.stack([e * ch + pz * sh, px * c - py * s, px * s + py * c, e * sh + pz * ch], -1)
    return ptetaphims_from_p4s(lab * np.asarray(jet_pt, dtype=np.float64)[..., None])


def jet_ptetaphims_from_p4s(p4s: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
    """Jet (pT, η, φ, m) (..., 4) from constituent four-vectors (..., P, 4) [GeV].

    Args:
        p4s: (..., P, 4) (E, px, py, pz); padded rows are ignored through ``mask``.
        mask: (..., P) True for real particles, or None (every row counts).
    """
    p4s = np.asarray(p4s, dtype=np.float64)
    if mask is not None:
        p4s = np.where(np.asarray(mask, dtype=bool)[..., None], p4s, 0.0)
    return ptetaphims_from_p4s(p4s.sum(-2))
