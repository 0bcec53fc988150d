"""Jet physics, vectorised with ``...`` indexing: one function serves a particle, a jet, a batch.

Vocabulary (see also jetviz.jets):
  p4s   (..., 4) four-momenta (E, px, py, pz) in GeV
  ptyphims / ptetaphims (..., 4) (pT, η, φ, m)
  particles (..., P, 3) relative coordinates (ptrel, etarel, phirel), padded rows zero.
  mask  (..., P) bool, True for a real particle (``None``: every row with ptrel > 0 is real).

Jet-level observables (``observables``) are computed from particles + jet pT alone, so they
serve true, reconstructed and generated jets alike: pT, η, φ, mass (signed square root of
m² = E² − |p|²), multiplicity, and N-subjettiness τ1, τ2, τ3, τ21, τ32 (Thaler & Van
Tilburg, arXiv:1011.2268) with axes from exclusive kT clustering (``exclusive_kt_axes``).
Everything here is numpy only (no torch); jet images live in jetviz.physics.images and the
centre/rotate/flip preprocessing in jetviz.physics.frame.
"""

from __future__ import annotations

import numpy as np

from jetviz.errors import JetvizInputError


def wrap_phi(phi: np.ndarray) -> np.ndarray:
    """Wrap an angle into (−π, π]."""
    wrapped = np.mod(phi + np.pi, 2 * np.pi) - np.pi
    return np.where(wrapped == -np.pi, np.pi, wrapped)


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
    eta, phi = particles[..., 1], particles[..., 2]
    e = (w * np.cosh(eta)).sum(-1)
    px = (w * np.cos(phi)).sum(-1)
    py = (w * np.sin(phi)).sum(-1)
    pz = (w * np.sinh(eta)).sum(-1)
    return np.stack([e, px, py, pz], axis=-1)


def relative_from_p4s(p4s: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Relative coordinates and jet (pT, η, φ, m) from constituent four-momenta.

    Args:
        p4s: (…, P, 4) constituents (E, px, py, pz) in GeV, padding rows zero.
        mask: (…, P) True for real particles.

    Returns:
        particles (…, P, 3) (ptrel, etarel, phirel) with padded rows zero, and the jets
        (…, 4) (pT, η, φ, m) from the summed four-momentum.
    """
    p4s = np.where(mask[..., None], p4s, 0.0)
    jet = p4s.sum(-2)
    jet_pt, jet_eta, jet_phi, jet_m = (
        pts_from_p4s(jet), etas_from_p4s(jet), phis_from_p4s(jet), ms_from_p4s(jet))
    with np.errstate(divide="ignore", invalid="ignore"):
        ptrel = pts_from_p4s(p4s) / np.where(jet_pt > 0, jet_pt, 1.0)[..., None]
    etarel = etas_from_p4s(p4s) - jet_eta[..., None]
    phirel = wrap_phi(phis_from_p4s(p4s) - jet_phi[..., None])
    particles = np.stack([ptrel, etarel, phirel], axis=-1)
    particles = np.where(mask[..., None], particles, 0.0)
    return particles, np.stack([jet_pt, jet_eta, jet_phi, jet_m], axis=-1)


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


# ---------------------------------------------------------------------------------------
# N-subjettiness with exclusive-kT axes
# ---------------------------------------------------------------------------------------


def _abs_dphi(dphi: np.ndarray) -> np.ndarray:
    """|Δφ| folded into [0, π] for Δφ in [−2π, 2π]."""
    return np.pi - np.abs(np.abs(dphi) - np.pi)


def _as_batch(
    particles: np.ndarray, mask: np.ndarray | None, where: str
) -> tuple[np.ndarray, np.ndarray, tuple[int, ...]]:
    """(N, P, 3) float64 particles, (N, P) mask and the leading shape (...) to restore."""
    particles = np.asarray(particles, dtype=np.float64)
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
    if not np.isfinite(particles).all() and not np.isfinite(particles[real]).all():
        raise JetvizInputError(
            f"{where}: NaN/inf in the coordinates of real particles; repair or drop those jets"
        )
    lead = particles.shape[:-2]
    p = particles.shape[-2]
    particles = np.where(real[..., None], particles, 0.0).reshape(-1, p, 3)
    return particles, real.reshape(-1, p), lead


def _pair_distances(
    kt2: np.ndarray, y: np.ndarray, phi: np.ndarray, active: np.ndarray, scale: float
) -> np.ndarray:
    """kT distances d_ij = min(kT_i², kT_j²) ΔR_ij² · scale, (C, P, P); inf off active pairs."""
    # in place: this (C, P, P) pass is a third of the clustering time
    d = y[:, :, None] - y[:, None, :]
    np.square(d, out=d)
    dphi = phi[:, :, None] - phi[:, None, :]
    np.abs(dphi, out=dphi)
    dphi -= np.pi
    np.abs(dphi, out=dphi)
    np.subtract(np.pi, dphi, out=dphi)  # |Δφ| folded into [0, π]
    np.square(dphi, out=dphi)
    d += dphi
    np.minimum(kt2[:, :, None], kt2[:, None, :], out=dphi)
    d *= dphi
    if scale != 1.0:
        d *= scale
    d[~active] = np.inf
    d.transpose(0, 2, 1)[~active] = np.inf
    diag = np.arange(kt2.shape[1])
    d[:, diag, diag] = np.inf
    return d


def _exclusive_kt_chunk(
    pt: np.ndarray, y: np.ndarray, phi: np.ndarray, active: np.ndarray,
    targets: tuple[int, ...], cluster_r: float | None,
) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """Exclusive kT on C jets at once; one merge per jet per step (see exclusive_kt_axes)."""
    c, p = pt.shape
    rows = np.arange(c)
    y, phi, active = y.copy(), phi.copy(), active.copy()
    p4 = np.stack([pt * np.cosh(y), pt * np.cos(phi), pt * np.sin(phi), pt * np.sinh(y)], -1)
    kt2 = pt**2
    scale = 1.0 if cluster_r is None else 1.0 / cluster_r**2
    d = _pair_distances(kt2, y, phi, active, scale)  # (C, P, P)
    d_flat = d.reshape(c, p * p)  # a view: updates of d show here
    # d_iB = kT_i²; with no radius the beam is never closer than a pair (R → ∞).
    beam = None if cluster_r is None else np.where(active, kt2, np.inf)  # (C, P)
    count = active.sum(1)
    out: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    taken = {n: np.zeros(c, dtype=bool) for n in targets}
    for n in targets:
        out[n] = (np.zeros((c, n, 3)), np.zeros((c, n), dtype=bool))

    def snapshot(n: int, sel: np.ndarray) -> None:
        sel = sel & ~taken[n]
        if not sel.any():
            return
        taken[n] |= sel
        order = np.argsort(~active[sel], axis=1, kind="stable")[:, :n]  # real objects first
        state = np.stack([np.sqrt(kt2[sel]), y[sel], phi[sel]], -1)  # (S, P, 3)
        out[n][0][sel] = np.take_along_axis(state, order[..., None], axis=1)
        out[n][1][sel] = np.take_along_axis(active[sel], order, axis=1)

    for n in targets:
        snapshot(n, count <= n)
    n_min = min(targets)
    while True:
        live = count > n_min
        if not live.any():
            break
        k = d_flat.argmin(1)
        i, j = np.divmod(k, p)  # i < j: the first of (i, j), (j, i) in row-major order
        to_pair = live
        if beam is not None:
            b = beam.argmin(1)
            to_beam = live & (beam[rows, b] < d_flat[rows, k])
            to_pair = live & ~to_beam
            r = np.flatnonzero(to_beam)
            rb = b[r]
            active[r, rb] = False
            d[r, rb, :] = np.inf
            d[r, :, rb] = np.inf
            beam[r, rb] = np.inf
        r = np.flatnonzero(to_pair)
        ri, rj = i[r], j[r]
        merged = p4[r, ri] + p4[r, rj]  # E-scheme: four-vectors add
        p4[r, ri] = merged
        active[r, rj] = False
        kt_new = merged[:, 1] ** 2 + merged[:, 2] ** 2
        kt2[r, ri] = kt_new
        # rapidity of the (massive) merged object; E > |pz| unless it carries no momentum
        y_new = np.arctanh(merged[:, 3] / np.maximum(merged[:, 0], 1e-300))
        y[r, ri] = y_new
        phi_new = np.arctan2(merged[:, 2], merged[:, 1])
        phi[r, ri] = phi_new
        whole = r.size == c  # skip the gathers when every jet merges (the common case)
        new = (y if whole else y[r]) - y_new[:, None]  # (m, P) distances to the merged object
        np.square(new, out=new)
        dphi = (phi if whole else phi[r]) - phi_new[:, None]
        new += _abs_dphi(dphi) ** 2
        new *= np.minimum(kt2 if whole else kt2[r], kt_new[:, None])
        if scale != 1.0:
            new *= scale
        new[~(active if whole else active[r])] = np.inf
        new[np.arange(r.size), ri] = np.inf
        d[r, ri, :] = new
        d[r, :, ri] = new
        d[r, rj, :] = np.inf
        d[r, :, rj] = np.inf
        if beam is not None:
            beam[r, ri] = kt_new
            beam[r, rj] = np.inf
        count = count - live
        if count.min() <= targets[-1]:
            for n in targets:
                snapshot(n, count == n)
    return out


def exclusive_kt_axes(
    particles: np.ndarray,
    mask: np.ndarray | None = None,
    n_axes: tuple[int, ...] = (1, 2, 3),
    cluster_r: float | None = None,
    chunk_size: int | None = None,
) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """Axes of exclusive kT clustering to exactly n subjets, for every jet of a batch.

    The kT algorithm (Catani et al., Ellis & Soper) with FastJet's conventions: distances
    d_ij = min(kT_i², kT_j²) ΔR_ij² / R² with ΔR² = Δy² + Δφ² in rapidity y, beam distance
    d_iB = kT_i², **E-scheme** recombination (four-vectors add; particles are massless, merged
    subjets are not, so their rapidity is used, as FastJet does). Clustering runs until n
    objects remain, as FastJet's ``ClusterSequence(..., JetDefinition(kt_algorithm, R))
    .exclusive_jets(n)``. With ``cluster_r=None`` (default) the beam never wins (R → ∞, the
    choice of the N-subjettiness reference code's ``KT_Axes``, which uses FastJet's
    max_allowable_R), so only pairs merge and the axes do not depend on R; with a finite
    ``cluster_r`` a step that removes an object into the beam counts as a step, as in FastJet.

    All jets of a chunk are clustered together in numpy: one merge per jet per step,
    P − n steps, each an argmin over the (chunk, P·P) distance matrix with the merged row and
    column updated in place.

    Args:
        particles: (..., P, 3) (ptrel, etarel, phirel); kT = ptrel (the jet pT cancels).
        mask: (..., P) True for real particles, or None (ptrel > 0 is real).
        n_axes: the subjet counts n wanted.
        cluster_r: the kT radius R, or None for no beam.
        chunk_size: jets clustered at once (memory 8 · chunk · P² bytes); None picks
            ≈ 8 MB worth, at most 256 jets (fastest here; the cost per jet grows as P³:
            ≈ 25 µs at P = 30, ≈ 1 ms at P = 150 on this CPU).

    Returns:
        {n: (axes (..., n, 3) = (kT in units of pT_jet, y, φ), valid (..., n) bool)}. A jet
        with M ≤ n particles has its M particles as axes and n − M invalid (zero) rows.
    """
    targets = tuple(sorted({int(n) for n in n_axes}))
    if not targets or targets[0] < 1:
        raise JetvizInputError(f"exclusive_kt_axes: n_axes must be ≥ 1, got {n_axes}")
    if cluster_r is not None and not cluster_r > 0:
        raise JetvizInputError(f"exclusive_kt_axes: cluster_r must be > 0 or None, got {cluster_r}")
    parts, real, lead = _as_batch(particles, mask, "exclusive_kt_axes")
    out = _exclusive_kt_batch(parts, real, targets, cluster_r, chunk_size)
    return {n: (a.reshape(*lead, n, 3), v.reshape(*lead, n)) for n, (a, v) in out.items()}


def _exclusive_kt_batch(
    parts: np.ndarray, real: np.ndarray, targets: tuple[int, ...], cluster_r: float | None,
    chunk_size: int | None = None,
) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """exclusive_kt_axes on checked (N, P, 3) float64 particles and (N, P) mask."""
    n_jets, p = real.shape
    if p < targets[-1]:  # fewer slots than axes: pad so every jet has n rows to report
        parts = np.concatenate([parts, np.zeros((n_jets, targets[-1] - p, 3))], 1)
        real = np.concatenate([real, np.zeros((n_jets, targets[-1] - p), dtype=bool)], 1)
    out = {n: (np.zeros((n_jets, n, 3)), np.zeros((n_jets, n), dtype=bool)) for n in targets}
    if chunk_size is None:  # the (chunk, P, P) distances in ~8 MB: cache-friendly
        chunk_size = int(np.clip(1_000_000 // max(p * p, 1), 16, 256))
    for start in range(0, n_jets, chunk_size):
        sl = slice(start, start + chunk_size)
        pt, eta, phi = parts[sl, :, 0], parts[sl, :, 1], parts[sl, :, 2]
        chunk = _exclusive_kt_chunk(pt, eta, phi, real[sl], targets, cluster_r)
        for n in targets:
            out[n][0][sl], out[n][1][sl] = chunk[n]
    return out


def tau_from_axes(
    particles: np.ndarray, mask: np.ndarray | None, axes: np.ndarray, valid: np.ndarray,
    R: float = 0.8,
) -> np.ndarray:
    """N-subjettiness τ_N = Σ_i pT_i min_k ΔR_ik / (Σ_i pT_i · R) for given axes.

    Thaler & Van Tilburg, arXiv:1011.2268, eq. (1)–(2) with β = 1; ΔR_ik² = (η_i − y_k)² +
    Δφ_ik² (particles are massless, so their η is their rapidity; axes use rapidity).

    Args:
        particles: (N, P, 3) (ptrel, etarel, phirel); mask (N, P) or None.
        axes: (N, n, 3) (kT, y, φ) of the axes; valid (N, n) marks real axes.
        R: the jet radius in the normalisation.

    Returns:
        (N,) τ_N; 0 for a jet with no pT.
    """
    real = particle_mask(particles, mask)
    pt = np.where(real, particles[..., 0], 0.0)
    dr2 = (particles[..., :, None, 1] - axes[..., None, :, 1]) ** 2 + _abs_dphi(
        particles[..., :, None, 2] - axes[..., None, :, 2]
    ) ** 2  # (N, P, n)
    dr2 = np.where(valid[..., None, :], dr2, np.inf)
    dmin = np.sqrt(dr2.min(-1))
    num = (pt * np.where(real, dmin, 0.0)).sum(-1)
    den = pt.sum(-1) * R
    return np.where(den > 0, num / np.where(den > 0, den, 1.0), 0.0)


def safe_ratio(num: np.ndarray, den: np.ndarray, tiny: float = 1e-12) -> np.ndarray:
    """num / den, and 0 where |den| ≤ tiny.

    For τ ratios: τ_N = 0 exactly for a jet of at most N particles, and is a float-rounding
    residue (~1e-17) for a jet of collinear particles; then τ_{N+1} is as small, and the ratio
    0/0 or noise/noise is set to 0. Physical τ values are many orders above 1e-12.
    """
    num, den = np.asarray(num, dtype=np.float64), np.asarray(den, dtype=np.float64)
    ok = np.abs(den) > tiny
    return np.where(ok, num / np.where(ok, den, 1.0), 0.0)


def nsubjettiness(
    particles: np.ndarray,
    mask: np.ndarray | None = None,
    n_max: int = 3,
    R: float = 0.8,
    cluster_r: float | None = None,
) -> np.ndarray:
    """τ_1 … τ_{n_max} (..., n_max) with exclusive-kT axes (see ``exclusive_kt_axes``).

    τ_N = 0 for a jet of at most N particles (every particle is an axis).

    Args:
        particles: (..., P, 3) (ptrel, etarel, phirel); mask (..., P) or None.
        n_max: the largest N.
        R: jet radius in the normalisation Σ_i pT_i R.
        cluster_r: kT radius for the axes (None: no beam, see ``exclusive_kt_axes``).
    """
    parts, real, lead = _as_batch(particles, mask, "nsubjettiness")
    return _nsubjettiness_batch(parts, real, n_max, R, cluster_r).reshape(*lead, n_max)


def _nsubjettiness_batch(
    parts: np.ndarray, real: np.ndarray, n_max: int, R: float, cluster_r: float | None
) -> np.ndarray:
    """nsubjettiness on checked (N, P, 3) float64 particles and (N, P) mask → (N, n_max)."""
    axes = _exclusive_kt_batch(parts, real, tuple(range(1, n_max + 1)), cluster_r)
    taus = [tau_from_axes(parts, real, *axes[n], R=R) for n in range(1, n_max + 1)]
    return np.stack(taus, -1)


OBSERVABLES: tuple[str, ...] = (
    "pt", "eta", "phi", "mass", "pt_rel", "mass_rel", "multiplicity",
    "tau1", "tau2", "tau3", "tau21", "tau32",
)


def observables(
    particles: np.ndarray,
    mask: np.ndarray | None,
    jet_pt: np.ndarray | float,
    R: float = 0.8,
    *,
    jet_eta: np.ndarray | float = 0.0,
    jet_phi: np.ndarray | float = 0.0,
    cluster_r: float | None = None,
) -> dict[str, np.ndarray]:
    """Jet observables computed from the particles and the jet pT alone.

    Works the same for true, reconstructed and generated jets, which have no stored truth.
    The particles are massless here (relative coordinates carry no mass), so for Pythia jets,
    whose hadrons have masses, ``mass`` is below the stored truth mass of the massive
    constituents (by a median 5–8 GeV for our 1 TeV g/W/t jets; pT and η agree to float
    precision). Compare true and generated jets with this same function, not with the truth.

    Args:
        particles: (..., P, 3) (ptrel, etarel, phirel), padded rows anything (masked out).
        mask: (..., P) True for real particles, or None (ptrel > 0 is real).
        jet_pt: (...,) or scalar: the reference jet pT [GeV] that ptrel is relative to.
        R: jet radius (the N-subjettiness normalisation).
        jet_eta, jet_phi: the reference axis; with the default 0 ``eta`` and ``phi`` are the
            offsets of the summed particles from it (≈ 0 for true jets), pT and mass are
            unaffected.
        cluster_r: kT radius for the N-subjettiness axes (None: R → ∞, no beam).

    Returns:
        A dict of (...,) float64 arrays (``multiplicity`` int64) keyed by ``OBSERVABLES``:
        pt, eta, phi, mass [GeV] of the summed massless particles; pt_rel, mass_rel (the
        same in units of the reference jet pT, JetNet's relative mass); multiplicity (real
        particles in the array); tau1, tau2, tau3 (arXiv:1011.2268, exclusive-kT axes,
        E-scheme); tau21 = τ2/τ1 and tau32 = τ3/τ2, set to 0 where the denominator is 0
        (≤ 1 resp. ≤ 2 particles, where the numerator is 0 too) or below 1e-12 (collinear
        particles: rounding residues), see ``safe_ratio``.
    """
    parts, real, lead = _as_batch(particles, mask, "observables")
    n = parts.shape[0]
    ones = np.ones(lead)
    jet_pt_b = (np.asarray(jet_pt, dtype=np.float64) * ones).reshape(n)
    jet_eta_b = (np.asarray(jet_eta, dtype=np.float64) * ones).reshape(n)
    jet_phi_b = (np.asarray(jet_phi, dtype=np.float64) * ones).reshape(n)
    rel = jet_ptetaphims_from_particles(parts, real, 1.0, jet_eta_b, jet_phi_b)  # (N, 4)
    taus = _nsubjettiness_batch(parts, real, 3, R, cluster_r)  # (N, 3)
    result = {
        "pt": rel[:, 0] * jet_pt_b,
        "eta": rel[:, 1],
        "phi": rel[:, 2],
        "mass": rel[:, 3] * jet_pt_b,
        "pt_rel": rel[:, 0],
        "mass_rel": rel[:, 3],
        "multiplicity": real.sum(-1).astype(np.int64),
        "tau1": taus[:, 0],
        "tau2": taus[:, 1],
        "tau3": taus[:, 2],
        "tau21": safe_ratio(taus[:, 1], taus[:, 0]),
        "tau32": safe_ratio(taus[:, 2], taus[:, 1]),
    }
    return {k: v.reshape(lead) for k, v in result.items()}
