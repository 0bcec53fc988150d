"""Nearest jets by exact EMD: a slightly moved copy is nearest, the query is excluded."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from jetviz.emd import emd, events_from_jets
from jetviz.emd.neighbours import nearest_by_emd
from jetviz.errors import JetvizInputError
from tests.conftest import make_jetset


def test_a_moved_copy_is_the_nearest_and_distances_are_exact_and_sorted():
    jets = make_jetset(n=12, p=8, seed=4)
    particles, table = jets.particles.copy(), jets.jets.copy()
    particles[7] = particles[0]
    particles[7, :, 1] += 0.01 * jets.mask[0]  # jet 0 moved by 0.01 in η
    table[7] = table[0]
    moved = dataclasses.replace(jets, particles=particles, mask=jets.mask.copy(), jets=table)
    moved.mask[7] = jets.mask[0]
    near, dist = nearest_by_emd(moved, 0, np.arange(12), k=5)
    assert near[0] == 7 and 0 not in near and len(near) == 5
    assert np.all(np.diff(dist) >= 0)
    ev = events_from_jets(moved)
    assert dist[0] == pytest.approx(emd(ev[0], ev[7], R=moved.radius), rel=1e-9)
    # moving pT p_T,jet by 0.01 costs p_T,jet × 0.01 / R
    assert dist[0] == pytest.approx(moved.jets[0, 0] * 0.01 / moved.radius, rel=1e-3)


def test_query_must_exist():
    jets = make_jetset(n=4, p=5, seed=1)
    with pytest.raises(JetvizInputError, match="does not exist"):
        nearest_by_emd(jets, 9, np.arange(4))
    assert nearest_by_emd(jets, 0, np.array([0]))[0].size == 0
