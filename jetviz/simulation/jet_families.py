"""k-parameter families of few-particle jets whose EMD scales you set (talk 000's test of D1).

A jet of the family is 2 or 3 massless particles in a jet of fixed pT (``FAMILY_PT`` GeV,
R = ``FAMILY_RADIUS``), as (ptrel, etarel, phirel) rows, pT-ordered. Its parameters, each
drawn uniformly over a range:

1. **separation** Δ of two prongs along η: the hard prong A (pT fraction z) and the soft
   prong B (1 − z), placed about their pT centroid. Moving them apart by dΔ costs
   EMD = 2 z(1 − z) pT dΔ / R.
2. **sharing** z: pT moved from prong B to prong A (both move so the centroid stays put).
3. **split** δ: prong B split across the axis (in φ) into two particles of shares
   ``SPLIT_SHARE`` and 1 − ``SPLIT_SHARE`` about B's axis; EMD = 2 h(1 − h)(1 − z) pT dδ / R.

A family of k = 1, 2 or 3 parameters uses the first k (2 particles for k ≤ 2, 3 for k = 3);
the others sit at their centres. The **scale** of a parameter is its EMD spread: the exact
EMD, in the prepared frame the VAE compares jets in (:func:`jetviz.vae.inputs.prepare_particles`),
between the jets at the two ends of its range with the other parameters at their centres.
Seen at resolution β, D1(β) should count the scales above β: k below all of them, 0 above.
:func:`family_jets` draws a family whose spreads equal the scales asked for (the ranges are
solved for by :func:`ranges_for_scales`) and returns it as a :class:`~jetviz.jets.JetSet`
that ``jetviz train --data`` reads once written with :func:`jetviz.readers.store.write_jets`.
"""

from __future__ import annotations

import numpy as np

from jetviz.errors import JetvizInputError
from jetviz.jets import JetSet

FAMILY_PT = 1000.0  # GeV, every jet of a family
FAMILY_RADIUS = 0.8  # jet radius R of the EMD's ground distance θ/R
CENTRES = {"separation": 0.3, "sharing": 0.65, "split": 0.0}  # each range starts here (split)
SPLIT_SHARE = 0.35  # pT share of the split prong's first particle
PARAMETERS = ("separation", "sharing", "split")
MAX_SPREAD = 0.5 * FAMILY_PT  # GeV: the largest spread a parameter's range can give here
DEFAULT_SCALES = {"separation": 90.0, "sharing": 3.0, "split": 0.1}  # GeV, 30× apart


def jets_from_parameters(separation: np.ndarray, sharing: np.ndarray,
                         split: np.ndarray | None) -> np.ndarray:
    """(N, P, 3) particles (ptrel, etarel, phirel), pT-ordered, of the family's jets.

    Args:
        separation: (N,) prong separation Δ (radians).
        sharing: (N,) pT fraction z of the hard prong, in (0.5, 1).
        split: (N,) split δ of the soft prong (radians), or None for 2-particle jets.
    """
    z, sep = np.asarray(sharing, float), np.asarray(separation, float)
    a = np.stack([z, -(1 - z) * sep, np.zeros_like(z)], -1)
    if split is None:
        b = np.stack([1 - z, z * sep, np.zeros_like(z)], -1)
        return np.stack([a, b], 1)
    h, d = SPLIT_SHARE, np.asarray(split, float)
    b1 = np.stack([(1 - z) * h, z * sep, (1 - h) * d], -1)
    b2 = np.stack([(1 - z) * (1 - h), z * sep, -h * d], -1)
    return np.stack([a, b2, b1], 1)  # pT order: z > (1 − z)(1 − h) > (1 − z) h


def _draw_parameters(u: np.ndarray, ranges: dict[str, tuple[float, float]]) -> dict:
    """Parameters from (N, k) uniforms in [0, 1): the first k ranged, the rest at centres."""
    n, k = u.shape
    out = {}
    for j, name in enumerate(PARAMETERS):
        if j < k:
            lo, hi = ranges[name]
            out[name] = lo + (hi - lo) * u[:, j]
        else:
            out[name] = np.full(n, _centre(ranges, name))
    return out


def _centre(ranges: dict[str, tuple[float, float]], name: str) -> float:
    if name in ranges:
        return 0.5 * sum(ranges[name])
    return CENTRES[name]


def _jets(params: dict, k: int) -> np.ndarray:
    return jets_from_parameters(params["separation"], params["sharing"],
                                params["split"] if k == 3 else None)


def end_jets(ranges: dict[str, tuple[float, float]], k: int) -> np.ndarray:
    """(k, 2, P, 3) particles of the jets at the two ends of each of the first k parameters'
    ranges, the other parameters at their centres (what a parameter's scale measures)."""
    ends = []
    for j in range(k):
        u = np.full((2, k), 0.5)
        u[:, j] = [0.0, 1.0]
        ends.append(_jets(_draw_parameters(u, ranges), k))
    return np.asarray(ends)


def spreads(ranges: dict[str, tuple[float, float]], k: int) -> dict[str, float]:
    """EMD spread (GeV) of each of the first k parameters over its range, the others at their
    centres, between prepared jets (the frame the VAE compares them in)."""
    from jetviz.emd.exact import paired_emds
    from jetviz.vae.inputs import prepare_particles

    ends = []
    for particles in end_jets(ranges, k):
        prepared = prepare_particles(particles, np.ones(particles.shape[:2], bool))
        ends.append(np.concatenate([prepared[..., :1] * FAMILY_PT, prepared[..., 1:]], -1))
    ends = np.asarray(ends, dtype=np.float64)  # (k, 2, P, 3)
    values = paired_emds(ends[:, 0], ends[:, 1], R=FAMILY_RADIUS, n_jobs=1)
    return dict(zip(PARAMETERS[:k], map(float, values), strict=False))


def ranges_for_scales(scales: dict[str, float]) -> dict[str, tuple[float, float]]:
    """Parameter ranges whose EMD spreads (:func:`spreads`) equal ``scales`` (GeV) to 0.1 %.

    ``scales`` names the first k parameters (separation, sharing, split), any order.

    Raises:
        JetvizInputError: unknown names, not the first k, a scale ≤ 0 or above MAX_SPREAD,
            one larger than its parameter can spread (:func:`_fits`; the message gives the
            largest), or scales no family in the cone matches to 1 %.
    """
    k = len(scales)
    if not 1 <= k <= 3 or set(scales) != set(PARAMETERS[:k]):
        raise JetvizInputError(f"a jet family's scales name the first k of {PARAMETERS}, got "
                               f"{sorted(scales)}")
    bad = {n: s for n, s in scales.items() if not 0 < s <= MAX_SPREAD}
    if bad:
        raise JetvizInputError(f"jet-family scales must be in (0, {MAX_SPREAD:g}] GeV, got {bad}")
    ranges, ok = _solve(scales)
    if ok:
        return ranges
    largest = {n: _largest(n, k) for n in scales}
    over = {n: f"{scales[n]:g} GeV (at most ≈ {largest[n]:.3g})" for n in scales
            if scales[n] > largest[n]}
    if over:
        raise JetvizInputError(
            "jet-family scales too large: " + ", ".join(f"{n} {v}" for n, v in over.items())
            + f"; beyond that the prongs would swap or a particle leave the cone (R = "
              f"{FAMILY_RADIUS:g}) of the {FAMILY_PT:g} GeV jet")
    got = spreads(ranges, k) if _fits(ranges, k) else {}
    raise JetvizInputError(
        f"no family has the spreads {scales} GeV to 1 % (last tried: "
        + (", ".join(f"{n} {v:.4g}" for n, v in got.items()) or "none in the cone")
        + "); the largest scales together leave the cone, or a scale of ~1 MeV is at the "
          "float32 precision of a 1 TeV jet's particles: change the scales")


def _ranges_of(widths: dict[str, float]) -> dict[str, tuple[float, float]]:
    """Ranges of the given widths: split from 0 upwards, the others about their centres."""
    out = {}
    for name, width in widths.items():
        c = CENTRES[name]
        out[name] = (c, c + width) if name == "split" else (c - width / 2, c + width / 2)
    return out


def _solve(scales: dict[str, float]) -> tuple[dict[str, tuple[float, float]], bool]:
    """(ranges whose spreads are ``scales``, True if they were found, to 1 %, and
    :func:`_fits`)."""
    k = len(scales)
    # widths per GeV, first guess from the module docstring's linear formulas
    z0, pt, r = CENTRES["sharing"], FAMILY_PT, FAMILY_RADIUS
    per_gev = {"separation": r / (2 * z0 * (1 - z0) * pt),
               "sharing": r / (CENTRES["separation"] * pt),
               "split": r / (2 * SPLIT_SHARE * (1 - SPLIT_SHARE) * (1 - z0) * pt)}
    widths = {n: scales[n] * per_gev[n] for n in PARAMETERS[:k]}
    inside = dict.fromkeys(widths, 0.0)  # the last widths that fit
    error = np.inf
    for _ in range(12):  # the spread is close to linear in the width: a few secant steps
        for _ in range(12):  # a step that leaves the family's domain goes half-way back
            if _fits(_ranges_of(widths), k):
                break
            widths = {n: 0.5 * (inside[n] + widths[n]) for n in widths}
        else:
            return _ranges_of(widths), False
        inside = widths
        got = spreads(_ranges_of(widths), k)
        error = max(abs(got[n] / scales[n] - 1) for n in widths)
        if error < 1e-3 or not all(got[n] > 0 for n in widths):
            break
        widths = {n: widths[n] * scales[n] / got[n] for n in widths}
    return _ranges_of(inside), error < 1e-2  # the last widths measured


def _fits(ranges: dict[str, tuple[float, float]], k: int) -> bool:
    """True when the family is what the module docstring says: the prongs keep their order
    (Δ ≥ 0, 0.5 ≤ z ≤ 1) and every particle of the range's end and corner jets lies in the
    cone of radius FAMILY_RADIUS."""
    if "separation" in ranges and ranges["separation"][0] < 0:
        return False
    if "sharing" in ranges and not 0.5 <= ranges["sharing"][0] <= ranges["sharing"][1] <= 1:
        return False
    ends = end_jets(ranges, k)
    corner = _jets(_draw_parameters(np.ones((1, k)), ranges), k)
    jets = np.concatenate([ends.reshape(-1, *ends.shape[2:]), corner])
    return bool(np.hypot(jets[..., 1], jets[..., 2]).max() <= FAMILY_RADIUS)


def _largest(name: str, k: int) -> float:
    """The largest spread (GeV) of parameter ``name`` that :func:`_fits`, the other k − 1
    parameters at their centres: the widest range found by bisection (to 0.1 %), its spread."""
    widths = dict.fromkeys(PARAMETERS[:k], 0.0)
    lo, hi = 0.0, 4.0  # radians or pT fraction: far beyond any range that fits
    while hi - lo > 1e-3 * hi:
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if _fits(_ranges_of({**widths, name: mid}), k) else (lo, mid)
    return spreads(_ranges_of({**widths, name: lo}), k)[name]


def family_jets(n: int, scales: dict[str, float], rng: np.random.Generator) -> JetSet:
    """``n`` jets of the family whose parameters' EMD spreads are ``scales`` (GeV).

    Args:
        n: number of jets.
        scales: spread per parameter, e.g. {"separation": 90, "sharing": 3, "split": 0.1};
            the first k of PARAMETERS.
        rng: draws the parameters (uniform over their ranges).

    Returns:
        A JetSet of class "family" (pT FAMILY_PT, radius FAMILY_RADIUS), its attrs holding
        the scales and parameter ranges.
    """
    if n < 1:
        raise JetvizInputError(f"a jet family needs n ≥ 1 jets, got {n}")
    ranges = ranges_for_scales(scales)
    k = len(scales)
    particles = _jets(_draw_parameters(rng.random((n, k)), ranges), k).astype(np.float32)
    p = particles.shape[1]
    mask = np.ones((n, p), dtype=bool)
    w, eta, phi = (particles[..., i].astype(np.float64) for i in range(3))
    px, py = (w * np.cos(phi)).sum(1), (w * np.sin(phi)).sum(1)
    pz, e = (w * np.sinh(eta)).sum(1), (w * np.cosh(eta)).sum(1)
    mass = FAMILY_PT * np.sqrt(np.clip(e**2 - px**2 - py**2 - pz**2, 0, None))
    jets = np.stack([np.full(n, FAMILY_PT), np.zeros(n), np.zeros(n), mass, np.full(n, p)], -1)
    return JetSet(particles, mask, jets.astype(np.float32), np.zeros(n, dtype=np.int64),
                  class_names=("family",), source=f"jet family {scales}",
                  attrs={"generator": "jetviz.simulation.jet_families",
                         "scales": {k_: float(v) for k_, v in scales.items()},
                         "parameter_ranges": {k_: list(v) for k_, v in ranges.items()}},
                  radius=FAMILY_RADIUS)
