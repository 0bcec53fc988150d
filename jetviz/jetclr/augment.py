"""Jet augmentations for contrastive learning (JetCLR, Dillon et al., arXiv:2108.04253).

Vocabulary (as in jetviz.jets): a batch of jets is ``particles`` (N, P, 3) = (ptrel, etarel,
phirel) with a boolean ``mask`` (N, P), True for a real particle; padded rows are all zero.
Every augmentation takes a batch, its mask and a ``np.random.Generator``, works on all jets at
once, and returns a new (particles, mask) pair; the inputs are never modified. Padded rows
stay zero. Augmentations that add particles (collinear splitting, soft noise) fill padded
slots only, so give them room with ``pad_particles`` first.

The symmetries and near-symmetries used by JetCLR:

* rotation about the jet axis (``rotate``): an exact 3-D rotation of every constituent's
  momentum about the axis of the summed momentum, in the frame where the reference axis sits
  at η = φ = 0. The jet four-vector, hence its pT and mass, is unchanged exactly; for small
  angles from the axis this is the rotation in the (η, φ) plane of the paper.
* translation in (η, φ) (``translate``): a boost along the beam and a rotation about it. For
  massless constituents it keeps the jet pT and mass exactly and moves the axis.
* soft smearing (``smear_soft``): each constituent moves in (η, φ) by a Gaussian of width
  Λ/pT, so soft particles move most (IR safety).
* soft noise (``add_soft``): a few extra particles of at most ``pt_max_gev`` each, spread
  uniformly over the jet's disc of radius R (IR safety).
* collinear splitting (``collinear_split``): a constituent becomes two at the same (η, φ)
  sharing its pT as z and 1 − z (collinear safety); the jet four-vector is unchanged.
* permutation (``permute``): the order of the rows, padding included, is shuffled.

``augment`` chains them as configured by ``AugmentConfig``; ``ABLATION_SETS`` names the
combinations of the paper's ablation table.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from jetviz.errors import JetvizInputError
from jetviz.physics import wrap_phi


def check_batch(particles: np.ndarray, mask: np.ndarray, where: str = "augment") -> None:
    """Raise JetvizInputError unless ``particles`` (N, P, 3) and ``mask`` (N, P) match."""
    if particles.ndim != 3 or particles.shape[-1] != 3:
        raise JetvizInputError(
            f"{where}: expected particles of shape (N, P, 3) = (ptrel, etarel, phirel), "
            f"got {particles.shape}; add a batch axis with particles[None] for one jet")
    if mask.shape != particles.shape[:2]:
        raise JetvizInputError(
            f"{where}: expected a mask of shape {particles.shape[:2]}, got {mask.shape}")


def _clean(particles: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Zero the padded rows (the jet-set convention)."""
    return np.where(mask[..., None], particles, 0.0).astype(particles.dtype, copy=False)


def pad_particles(particles: np.ndarray, mask: np.ndarray, n_slots: int
                  ) -> tuple[np.ndarray, np.ndarray]:
    """The same jets with ``n_slots`` (≥ P) particle slots: extra rows are padding.

    Args:
        particles: (N, P, 3) jets.
        mask: (N, P) True for real particles.
        n_slots: the new P'.

    Returns:
        particles (N, P', 3) and mask (N, P').
    """
    check_batch(particles, mask, "pad_particles")
    n, p, _ = particles.shape
    if n_slots < p:
        raise JetvizInputError(f"pad_particles: cannot pad {p} slots down to {n_slots}")
    out = np.zeros((n, n_slots, 3), dtype=particles.dtype)
    out[:, :p] = particles
    new_mask = np.zeros((n, n_slots), dtype=bool)
    new_mask[:, :p] = mask
    return out, new_mask


def rotate(particles: np.ndarray, mask: np.ndarray, rng: np.random.Generator,
           angles: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Rotate each jet's constituents about its axis by an angle drawn uniformly in [0, 2π).

    The constituents are placed, massless, in the frame where the reference axis is at
    η = φ = 0: p = ptrel·(cos φ, sin φ, sinh η). Each momentum is rotated (Rodrigues'
    formula) about n, the unit vector along their sum, and turned back into (ptrel, η, φ).
    |p| of every particle and the summed momentum are unchanged, so are the jet's
    four-vector, pT and mass.

    Args:
        particles: (N, P, 3) jets.
        mask: (N, P) True for real particles.
        rng: the random generator (used when ``angles`` is None).
        angles: (N,) rotation angles in radians, to choose them yourself.

    Returns:
        particles (N, P, 3), mask (N, P) (the mask is unchanged).
    """
    check_batch(particles, mask, "rotate")
    n = particles.shape[0]
    theta = rng.uniform(0.0, 2 * np.pi, size=n) if angles is None else np.asarray(angles, float)
    x = np.where(mask[..., None], particles, 0.0).astype(np.float64)
    pt, eta, phi = x[..., 0], x[..., 1], x[..., 2]
    p = np.stack([pt * np.cos(phi), pt * np.sin(phi), pt * np.sinh(eta)], -1)  # (N, P, 3)
    axis = p.sum(1)  # (N, 3)
    norm = np.linalg.norm(axis, axis=-1, keepdims=True)
    axis = np.where(norm > 0, axis / np.where(norm > 0, norm, 1.0), [1.0, 0.0, 0.0])
    a = axis[:, None, :]  # (N, 1, 3)
    cos, sin = np.cos(theta)[:, None, None], np.sin(theta)[:, None, None]
    rotated = (p * cos + np.cross(a, p) * sin
               + a * (p * a).sum(-1, keepdims=True) * (1 - cos))  # (N, P, 3)
    pt_new = np.hypot(rotated[..., 0], rotated[..., 1])
    safe = np.where(pt_new > 0, pt_new, 1.0)
    eta_new = np.where(pt_new > 0, np.arcsinh(rotated[..., 2] / safe), 0.0)
    phi_new = np.arctan2(rotated[..., 1], rotated[..., 0])
    out = np.stack([pt_new, eta_new, phi_new], -1).astype(particles.dtype)
    return _clean(out, mask), mask.copy()


def translate(particles: np.ndarray, mask: np.ndarray, rng: np.random.Generator,
              width: float = 0.5, shifts: np.ndarray | None = None
              ) -> tuple[np.ndarray, np.ndarray]:
    """Shift every jet in (η, φ) by a Gaussian offset of standard deviation ``width``.

    Args:
        particles: (N, P, 3) jets.
        mask: (N, P) True for real particles.
        rng: the random generator (used when ``shifts`` is None).
        width: standard deviation of the shift in η and in φ.
        shifts: (N, 2) (Δη, Δφ) per jet, to choose them yourself.

    Returns:
        particles (N, P, 3) with etarel += Δη and phirel += Δφ (wrapped into (−π, π]) for
        real particles, and the unchanged mask.
    """
    check_batch(particles, mask, "translate")
    n = particles.shape[0]
    d = rng.normal(0.0, width, size=(n, 2)) if shifts is None else np.asarray(shifts, float)
    if d.shape != (n, 2):
        raise JetvizInputError(f"translate: expected shifts of shape {(n, 2)}, got {d.shape}")
    out = particles.copy()
    out[..., 1] = particles[..., 1] + d[:, 0:1]
    out[..., 2] = wrap_phi(particles[..., 2] + d[:, 1:2])
    return _clean(out, mask), mask.copy()


def smear_soft(particles: np.ndarray, mask: np.ndarray, rng: np.random.Generator,
               jet_pt: np.ndarray | float = 1000.0, strength_gev: float = 0.1,
               pt_clip_gev: float = 0.1) -> tuple[np.ndarray, np.ndarray]:
    """Move each constituent in (η, φ) by N(0, σ²) with σ = Λ / max(pT, pT_clip).

    As JetCLR's soft distortion: a 100 GeV particle barely moves, a 1 GeV particle moves by
    ≈ Λ/1 GeV. The pT of every particle is unchanged.

    Args:
        particles: (N, P, 3) jets.
        mask: (N, P) True for real particles.
        rng: the random generator.
        jet_pt: (N,) or scalar jet pT [GeV] (turns ptrel into pT).
        strength_gev: Λ in GeV.
        pt_clip_gev: the smallest pT used in σ (keeps σ finite).

    Returns:
        particles (N, P, 3), mask (N, P) (unchanged).
    """
    check_batch(particles, mask, "smear_soft")
    pt = particles[..., 0] * np.asarray(jet_pt, dtype=np.float64).reshape(-1, 1)
    sigma = strength_gev / np.maximum(pt, pt_clip_gev)  # (N, P)
    out = particles.copy()
    out[..., 1] = particles[..., 1] + rng.normal(size=sigma.shape) * sigma
    out[..., 2] = wrap_phi(particles[..., 2] + rng.normal(size=sigma.shape) * sigma)
    return _clean(out, mask), mask.copy()


def _free_slots(mask: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The first ``k`` padded slot indices per jet (N, k) and whether each exists (N, k)."""
    order = np.argsort(mask, axis=1, kind="stable")[:, :k]  # padded (False) slots first
    exists = np.arange(k)[None, :] < (~mask).sum(1, keepdims=True)
    return order, exists


def collinear_split(particles: np.ndarray, mask: np.ndarray, rng: np.random.Generator,
                    n_split: int = 5) -> tuple[np.ndarray, np.ndarray]:
    """Split up to ``n_split`` random constituents per jet into two collinear halves.

    A chosen particle (ptrel, η, φ) becomes (z·ptrel, η, φ) and ((1 − z)·ptrel, η, φ) with z
    uniform in (0, 1); the new particle goes into a padded slot, so at most as many particles
    are split as the jet has free slots. Massless collinear momenta add up: the jet
    four-vector and the ptrel sum are unchanged.

    Args:
        particles: (N, P, 3) jets.
        mask: (N, P) True for real particles.
        rng: the random generator.
        n_split: most particles split per jet.

    Returns:
        particles (N, P, 3) and mask (N, P) with the new particles marked real.
    """
    check_batch(particles, mask, "collinear_split")
    n, p, _ = particles.shape
    k = min(n_split, p)
    if k <= 0:
        return particles.copy(), mask.copy()
    scores = np.where(mask, rng.random((n, p)), np.inf)
    source = np.argsort(scores, axis=1)[:, :k]  # (N, k) random real particles
    dest, free = _free_slots(mask, k)
    valid = free & (np.arange(k)[None, :] < mask.sum(1, keepdims=True))  # (N, k)
    z = rng.uniform(0.0, 1.0, size=(n, k))
    rows = np.broadcast_to(np.arange(n)[:, None], (n, k))
    r, s, d, z = rows[valid], source[valid], dest[valid], z[valid]
    out = particles.copy()
    new_mask = mask.copy()
    out[r, d] = particles[r, s]
    out[r, d, 0] = (particles[r, s, 0] * z).astype(particles.dtype)
    out[r, s, 0] = particles[r, s, 0] - out[r, d, 0]  # the two halves sum exactly
    new_mask[r, d] = True
    return out, new_mask


def add_soft(particles: np.ndarray, mask: np.ndarray, rng: np.random.Generator,
             jet_pt: np.ndarray | float = 1000.0, n_max: int = 5, pt_max_gev: float = 1.0,
             radius: float = 0.8) -> tuple[np.ndarray, np.ndarray]:
    """Add up to ``n_max`` soft particles per jet into its padded slots.

    Each jet gets a number of new particles uniform in [0, min(n_max, free slots)], each
    with pT uniform in (0, pt_max_gev] GeV, placed uniformly over the disc of radius R about
    the axis.

    Args:
        particles: (N, P, 3) jets.
        mask: (N, P) True for real particles.
        rng: the random generator.
        jet_pt: (N,) or scalar jet pT [GeV] (turns GeV into ptrel).
        n_max: most particles added per jet.
        pt_max_gev: the largest pT of an added particle, in GeV.
        radius: jet radius R.

    Returns:
        particles (N, P, 3) and mask (N, P) with the new particles marked real.
    """
    check_batch(particles, mask, "add_soft")
    n, p, _ = particles.shape
    k = min(n_max, p)
    if k <= 0:
        return particles.copy(), mask.copy()
    dest, free = _free_slots(mask, k)
    n_add = rng.integers(0, k + 1, size=(n, 1))
    valid = free & (np.arange(k)[None, :] < n_add)  # (N, k)
    jet_pt = np.broadcast_to(np.asarray(jet_pt, dtype=np.float64).reshape(-1, 1), (n, k))
    pt = pt_max_gev * (1.0 - rng.random((n, k)))  # (0, pt_max]
    r = radius * np.sqrt(rng.random((n, k)))
    angle = rng.uniform(0.0, 2 * np.pi, size=(n, k))
    new = np.stack([pt / jet_pt, r * np.cos(angle), r * np.sin(angle)], -1)  # (N, k, 3)
    rows = np.broadcast_to(np.arange(n)[:, None], (n, k))
    out = particles.copy()
    new_mask = mask.copy()
    out[rows[valid], dest[valid]] = new[valid].astype(particles.dtype)
    new_mask[rows[valid], dest[valid]] = True
    return out, new_mask


def permute(particles: np.ndarray, mask: np.ndarray, rng: np.random.Generator
            ) -> tuple[np.ndarray, np.ndarray]:
    """Shuffle the P rows of every jet (padding included), each jet with its own order."""
    check_batch(particles, mask, "permute")
    order = np.argsort(rng.random(mask.shape), axis=1)  # (N, P)
    return (np.take_along_axis(particles, order[..., None], axis=1),
            np.take_along_axis(mask, order, axis=1))


@dataclass(frozen=True)
class AugmentConfig:
    """Which augmentations ``augment`` applies, in this order, and their settings."""

    rotate: bool = False  # rotation about the jet axis, angle uniform in [0, 2π)
    smear: bool = False  # soft smearing, σ = strength_gev / pT
    collinear: bool = False  # collinear splitting into padded slots
    soft: bool = False  # soft noise: extra particles into padded slots
    translate: bool = False  # (η, φ) shift
    permute: bool = True  # shuffle the rows (a no-op for a permutation-invariant encoder)
    translate_width: float = 0.5  # standard deviation of the (η, φ) shift
    strength_gev: float = 0.1  # Λ of the soft smearing, GeV
    n_split: int = 5  # most particles split per jet
    n_soft: int = 5  # most soft particles added per jet
    soft_pt_max_gev: float = 1.0  # largest pT of an added soft particle, GeV
    radius: float = 0.8  # jet radius R (soft particles are spread over the disc)

    @property
    def extra_slots(self) -> int:
        """Padded slots the particle-adding augmentations need beyond the jets' own P."""
        return self.n_split * self.collinear + self.n_soft * self.soft


# The augmentation sets of the JetCLR ablation (arXiv:2108.04253, Table 2), by name.
ABLATION_SETS: dict[str, AugmentConfig] = {
    "none": AugmentConfig(),
    "translations": AugmentConfig(translate=True),
    "rotations": AugmentConfig(rotate=True),
    "soft + collinear": AugmentConfig(smear=True, collinear=True, soft=True),
    "all": AugmentConfig(rotate=True, smear=True, collinear=True, soft=True, translate=True),
}


def augmentation_set(name: str) -> AugmentConfig:
    """The ablation set called ``name`` (see ``ABLATION_SETS``)."""
    if name not in ABLATION_SETS:
        raise JetvizInputError(
            f"unknown augmentation set {name!r}; choose one of {list(ABLATION_SETS)}")
    return ABLATION_SETS[name]


def augment(particles: np.ndarray, mask: np.ndarray, rng: np.random.Generator,
            config: AugmentConfig, jet_pt: np.ndarray | float = 1000.0
            ) -> tuple[np.ndarray, np.ndarray]:
    """Apply the augmentations switched on in ``config`` to a batch of jets.

    Args:
        particles: (N, P, 3) jets; give them ``config.extra_slots`` padded slots (see
            ``pad_particles``) so that splitting and soft noise always have room.
        mask: (N, P) True for real particles.
        rng: the random generator.
        config: which augmentations, with their settings.
        jet_pt: (N,) or scalar jet pT [GeV], for the GeV scales of smearing and soft noise.

    Returns:
        The augmented particles (N, P, 3) and mask (N, P).
    """
    check_batch(particles, mask, "augment")
    x, m = particles, mask
    if config.rotate:
        x, m = rotate(x, m, rng)
    if config.smear:
        x, m = smear_soft(x, m, rng, jet_pt, config.strength_gev)
    if config.collinear:
        x, m = collinear_split(x, m, rng, config.n_split)
    if config.soft:
        x, m = add_soft(x, m, rng, jet_pt, config.n_soft, config.soft_pt_max_gev, config.radius)
    if config.translate:
        x, m = translate(x, m, rng, config.translate_width)
    if config.permute:
        x, m = permute(x, m, rng)
    return x, m


def only(name: str, base: AugmentConfig | None = None) -> AugmentConfig:
    """A config with the single augmentation ``name`` on (and permutation off), for display.

    ``name`` is one of rotate, smear, collinear, soft, translate, permute.
    """
    fields = ("rotate", "smear", "collinear", "soft", "translate", "permute")
    if name not in fields:
        raise JetvizInputError(f"unknown augmentation {name!r}; choose one of {fields}")
    base = base or AugmentConfig()
    return replace(base, **{f: f == name for f in fields})


# Panels of the augmentation display: title -> the AugmentConfig switches turned on.
AUGMENTATION_PANELS: dict[str, tuple[str, ...]] = {
    "rotation about the jet axis": ("rotate",),
    "translation in (η, φ)": ("translate",),
    "soft smearing + soft noise": ("smear", "soft"),
    "collinear splitting": ("collinear",),
    "all (+ permutation)": ("rotate", "smear", "collinear", "soft", "translate", "permute"),
}


def augmented_views(particles: np.ndarray, mask: np.ndarray, jet_pt: float, seed: int,
                    radius: float) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """One jet (P, 3) with mask (P,) under each panel's augmentations of
    ``AUGMENTATION_PANELS``: title -> (particles (P', 3), mask (P',)).

    The jet gets the extra padded slots the all-augmentations set needs; every panel draws
    from its own generator seeded by (seed, panel number), so a panel does not change when
    another one is added.
    """
    base = replace(ABLATION_SETS["all"], radius=radius)
    x, m = pad_particles(particles[None], mask[None], particles.shape[0] + base.extra_slots)
    flags = ("rotate", "smear", "collinear", "soft", "translate", "permute")
    views = {}
    for i, (title, on) in enumerate(AUGMENTATION_PANELS.items()):
        config = replace(base, **{f: f in on for f in flags})
        y, my = augment(x, m, np.random.default_rng([seed, i]), config, jet_pt)
        views[title] = (y[0], my[0])
    return views
