"""Energy-flow polynomials of jets in batches (Komiske, Metodiev, Thaler, arXiv:1712.07124).

Vocabulary
----------
* A **jet** is given as particles (N, P, 3) = (ptrel, etarel, phirel) with a mask (N, P), as
  everywhere in :mod:`jetviz.generation`; padded particles count as absent.
* A **graph** is a tuple of edges ``(i, j)``, i < j, over the vertices 0..n−1, sorted; an
  edge may repeat (a multigraph). ``()`` is the one-vertex graph with no edge.
* Its **EFP** is EFP_G = Σ_{i_1…i_n} z_{i_1}⋯z_{i_n} Π_{(k,l)∈G} θ_{i_k i_l}, summed over all
  particles for every vertex, with z_i = ptrel_i (not renormalised) and
  θ_ij = (Δη² + Δφ²)^{β/2}, Δφ wrapped into [−π, π]. These are EnergyFlow's
  ``EFPSet(measure="hadr", beta=1, normed=None, coords="ptyphim")`` settings, which
  ``jetnet.utils.efps`` (jetnet 0.2.5) uses for the JetNet metrics. A disconnected graph's
  EFP is the product of its connected components' EFPs.
* **degree** d: the number of edges. **Prime**: connected.

The graphs are enumerated here (:func:`connected_graphs`, :func:`efp_graphs`) instead of read
from EnergyFlow, and evaluated as one ``np.einsum`` per connected graph over a chunk of jets:
``benchmarks/jetnet_metrics.py`` checks the values against ``energyflow.EFPSet`` and prints the
speed of both.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from functools import cache

import numpy as np

from jetviz.errors import JetvizInputError

Graph = tuple[tuple[int, int], ...]
BETA = 1.0  # angular exponent β of θ_ij (jetnet: beta=1)
CHUNK = 1000  # jets per einsum call (θ is (CHUNK, P, P) per edge multiplicity)


def n_vertices(graph: Graph) -> int:
    """Vertices of a graph (``()`` has one)."""
    return 1 + max((max(e) for e in graph), default=0)


def canonical(graph: Sequence[tuple[int, int]]) -> Graph:
    """The smallest sorted edge tuple over all relabellings of the vertices: two graphs are
    isomorphic exactly when their canonical forms are equal (brute force, n ≤ 8)."""
    n = n_vertices(tuple(graph))
    best = None
    for perm in itertools.permutations(range(n)):
        relabelled = tuple(sorted(tuple(sorted((perm[a], perm[b]))) for a, b in graph))
        if best is None or relabelled < best:
            best = relabelled
    return best if best is not None else ()


@cache
def connected_graphs(max_degree: int) -> tuple[Graph, ...]:
    """Every connected multigraph with at most ``max_degree`` edges, once each (canonical),
    ordered by degree, then vertex count, then edges.

    Grown one edge at a time: a connected graph of degree d is a connected graph of degree
    d − 1 plus an edge between two of its vertices or to a new vertex.
    """
    if max_degree < 0:
        raise JetvizInputError(f"max_degree must be ≥ 0, got {max_degree}")
    layers: list[set[Graph]] = [{()}]
    for _ in range(max_degree):
        grown: set[Graph] = set()
        for g in layers[-1]:
            n = n_vertices(g)
            pairs = [*itertools.combinations(range(n), 2), *((i, n) for i in range(n))]
            grown.update(canonical((*g, pair)) for pair in pairs)
        layers.append(grown)
    return tuple(g for layer in layers for g in sorted(layer, key=lambda g: (n_vertices(g), g)))


def efp_graphs(max_degree: int) -> tuple[tuple[Graph, ...], ...]:
    """All EFPs of degree ≤ ``max_degree`` as tuples of connected factors: first the prime
    ones (one factor each, including the degree-0 graph), then the composites (products of
    ≥ 2 prime graphs of degree ≥ 1). For max_degree = 4: 21 prime + 15 composite = 36, the
    set ``jetnet.evaluation.get_fpd_kpd_jet_features`` uses."""
    prime = connected_graphs(max_degree)
    factors = [g for g in prime if g]
    composite = []
    for k in range(2, max_degree + 1):
        for combo in itertools.combinations_with_replacement(range(len(factors)), k):
            if sum(len(factors[i]) for i in combo) <= max_degree:
                composite.append(tuple(factors[i] for i in combo))
    composite.sort(key=lambda c: (sum(len(g) for g in c), c))
    return tuple((g,) for g in prime) + tuple(composite)


def prime_graphs(n: int, d: int) -> tuple[Graph, ...]:
    """The connected graphs with n vertices and d edges (jetnet's W1-EFP set: n = d = 4, 5
    graphs)."""
    return tuple(g for g in connected_graphs(d) if len(g) == d and n_vertices(g) == n)


def _einsum_spec(graph: Graph) -> tuple[str, list[int]]:
    """Subscripts of one graph's sum: a z factor per vertex, a θ^k factor per distinct edge
    of multiplicity k; returns the subscripts and the k of each edge factor."""
    letters = "abcdefgh"
    n = n_vertices(graph)
    counts: dict[tuple[int, int], int] = {}
    for edge in graph:
        counts[edge] = counts.get(edge, 0) + 1
    terms = [f"N{letters[v]}" for v in range(n)]
    terms += [f"N{letters[i]}{letters[j]}" for i, j in counts]
    return ",".join(terms) + "->N", list(counts.values())


def _thetas(eta: np.ndarray, phi: np.ndarray) -> np.ndarray:
    """(n, P, P) θ_ij = (Δη² + Δφ²)^{β/2}, Δφ wrapped into [−π, π] (EnergyFlow's rule)."""
    d_eta = eta[:, :, None] - eta[:, None, :]
    d_phi = np.pi - np.abs(np.abs(phi[:, :, None] - phi[:, None, :]) - np.pi)
    return (d_eta**2 + d_phi**2) ** (BETA / 2)


def _check(particles: np.ndarray, mask: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    particles = np.asarray(particles, dtype=np.float64)
    if particles.ndim != 3 or particles.shape[-1] != 3:
        raise JetvizInputError(
            f"EFPs need particles (N, P, 3) = (ptrel, etarel, phirel), got {particles.shape}")
    mask = particles[..., 0] > 0 if mask is None else np.asarray(mask, dtype=bool)
    if mask.shape != particles.shape[:2]:
        raise JetvizInputError(f"mask {mask.shape} does not match particles {particles.shape}")
    if not np.isfinite(particles[mask]).all():
        raise JetvizInputError("EFPs need finite particles; found NaN or inf")
    return particles, mask


def efps(particles: np.ndarray, mask: np.ndarray | None,
         graphs: Sequence[tuple[Graph, ...]]) -> np.ndarray:
    """EFPs of N jets.

    Args:
        particles: (N, P, 3) (ptrel, etarel, phirel).
        mask: (N, P) True for real particles, or None (ptrel > 0 is real).
        graphs: the EFPs, each a tuple of connected factors (:func:`efp_graphs`).

    Returns:
        (N, len(graphs)) float64.
    """
    particles, mask = _check(particles, mask)
    primes = sorted({g for factors in graphs for g in factors}, key=lambda g: (len(g), g))
    specs = {g: _einsum_spec(g) for g in primes}
    max_power = max((max(k, default=0) for _, k in specs.values()), default=0)
    out = np.empty((len(particles), len(graphs)))
    for start in range(0, len(particles), CHUNK):
        part = particles[start:start + CHUNK]
        z = np.where(mask[start:start + CHUNK], part[..., 0], 0.0)  # (n, P)
        theta = _thetas(part[..., 1], part[..., 2]) if max_power else None
        powers = {1: theta}
        for k in range(2, max_power + 1):
            powers[k] = powers[k - 1] * theta
        values = {}
        for g, (spec, ks) in specs.items():
            operands = [z] * n_vertices(g) + [powers[k] for k in ks]
            values[g] = np.einsum(spec, *operands, optimize="greedy")
        for col, factors in enumerate(graphs):
            out[start:start + len(part), col] = np.prod([values[g] for g in factors], axis=0)
    return out
