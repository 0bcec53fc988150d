"""Energy-flow polynomials: the graph set, brute-force sums, and the physics invariances."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from jetviz.errors import JetvizInputError
from jetviz.generation.efps import (
    canonical,
    connected_graphs,
    efp_graphs,
    efps,
    n_vertices,
    prime_graphs,
)
from tests.conftest import make_jetset


def _jets(n: int = 6, p: int = 5, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    jets = make_jetset(n, p, seed)
    return jets.particles.astype(np.float64), jets.mask


def test_the_degree_le_4_set_is_jetnets_36_and_the_w1efp_set_has_5():
    # connected multigraphs with d = 0..4 edges: 1, 1, 2, 5, 12 (EnergyFlow's counts)
    by_degree = [sum(len(g) == d for g in connected_graphs(4)) for d in range(5)]
    assert by_degree == [1, 1, 2, 5, 12]
    graphs = efp_graphs(4)
    assert len(graphs) == 36
    assert sum(len(factors) == 1 for factors in graphs) == 21
    assert all(sum(len(g) for g in factors) <= 4 for factors in graphs)
    assert len(set(graphs)) == 36
    prime44 = prime_graphs(4, 4)
    assert len(prime44) == 5 and all(n_vertices(g) == 4 and len(g) == 4 for g in prime44)


def test_canonical_form_identifies_relabelled_graphs():
    path = ((0, 1), (1, 2), (2, 3))
    assert canonical(path) == canonical(((0, 3), (1, 3), (1, 2)))  # the same path, relabelled
    assert canonical(path) != canonical(((0, 1), (0, 2), (0, 3)))  # a star is not a path


def _brute_force(z: np.ndarray, eta: np.ndarray, phi: np.ndarray, graph) -> float:
    """Σ over every assignment of particles to vertices, term by term."""
    theta = np.sqrt((eta[:, None] - eta[None, :]) ** 2 + (phi[:, None] - phi[None, :]) ** 2)
    total = 0.0
    for assignment in itertools.product(range(len(z)), repeat=n_vertices(graph)):
        term = np.prod([z[i] for i in assignment])
        for a, b in graph:
            term *= theta[assignment[a], assignment[b]]
        total += term
    return total


def test_every_efp_equals_the_brute_force_sum():
    particles, mask = _jets(n=2, p=4)
    values = efps(particles, mask, efp_graphs(4))
    for jet in range(2):
        z, eta, phi = (np.where(mask[jet], particles[jet, :, k], 0.0) for k in range(3))
        for col, factors in enumerate(efp_graphs(4)):
            expected = np.prod([_brute_force(z, eta, phi, g) for g in factors])
            assert values[jet, col] == pytest.approx(expected, rel=1e-12)


def test_two_particle_jet_has_the_hand_solved_edge_efp():
    particles = np.array([[[0.7, 0.1, 0.0], [0.3, -0.2, 0.4]]])
    single_edge = efps(particles, None, [(((0, 1),),)])[0, 0]
    assert single_edge == pytest.approx(2 * 0.7 * 0.3 * np.hypot(0.3, 0.4))


def test_efps_are_invariant_under_eta_shifts_and_phi_rotations_and_padding():
    particles, mask = _jets()
    graphs = efp_graphs(4)
    base = efps(particles, mask, graphs)
    moved = particles.copy()
    moved[..., 1] += 0.9
    moved[..., 2] = np.mod(moved[..., 2] + np.pi - 0.05, 2 * np.pi) - np.pi  # wraps across ±π
    np.testing.assert_allclose(efps(moved, mask, graphs), base, rtol=1e-10)
    padded = np.concatenate([particles, np.zeros((len(particles), 3, 3))], axis=1)
    padded_mask = np.concatenate([mask, np.zeros((len(mask), 3), bool)], axis=1)
    np.testing.assert_allclose(efps(padded, padded_mask, graphs), base, rtol=1e-12)


def test_efps_scale_as_z_to_the_vertices_and_theta_to_the_edges():
    particles, mask = _jets()
    graphs = efp_graphs(4)
    base = efps(particles, mask, graphs)
    scaled = particles * np.array([2.0, 0.5, 0.5])  # z → 2z, θ → θ/2
    powers = np.array([2.0 ** sum(n_vertices(g) for g in f) * 0.5 ** sum(len(g) for g in f)
                       for f in graphs])
    np.testing.assert_allclose(efps(scaled, mask, graphs), base * powers, rtol=1e-10)


def test_a_batch_equals_one_jet_at_a_time():
    particles, mask = _jets(n=5)
    graphs = efp_graphs(3)
    batch = efps(particles, mask, graphs)
    singles = np.concatenate([efps(particles[i:i + 1], mask[i:i + 1], graphs) for i in range(5)])
    np.testing.assert_allclose(batch, singles, rtol=1e-12)


def test_bad_input_is_refused():
    with pytest.raises(JetvizInputError, match=r"\(N, P, 3\)"):
        efps(np.zeros((3, 4)), None, efp_graphs(2))
    with pytest.raises(JetvizInputError, match="does not match"):
        efps(np.ones((2, 4, 3)), np.ones((2, 5), bool), efp_graphs(2))
    with pytest.raises(JetvizInputError, match="finite"):
        efps(np.full((1, 2, 3), np.nan), np.ones((1, 2), bool), efp_graphs(2))
