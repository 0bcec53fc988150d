"""k-parameter jet families: their EMD spreads are the scales asked for, and EMD is linear in
each parameter."""

from __future__ import annotations

import numpy as np
import pytest

from jetviz.errors import JetvizInputError
from jetviz.simulation.jet_families import (
    FAMILY_PT,
    family_jets,
    ranges_for_scales,
    spreads,
)

SCALES = {"separation": 90.0, "sharing": 3.0, "split": 0.1}


def test_spreads_equal_the_scales_asked_for():
    ranges = ranges_for_scales(SCALES)
    got = spreads(ranges, 3)
    for name, scale in SCALES.items():
        assert got[name] == pytest.approx(scale, rel=2e-3)


def test_emd_is_linear_in_each_parameter():
    # half of each range moves the jet by half the spread (EMD of a rigid move is linear)
    ranges = ranges_for_scales(SCALES)
    for name, scale in SCALES.items():
        lo, hi = ranges[name]
        half = {**ranges, name: (lo, lo + (hi - lo) / 2)}  # the others keep their centres
        assert spreads(half, 3)[name] == pytest.approx(scale / 2, rel=0.02)


def test_family_jets_are_normalised_pt_ordered_and_keep_their_scales():
    jets = family_jets(200, SCALES, np.random.default_rng(0))
    assert jets.particles.shape == (200, 3, 3) and jets.mask.all()
    np.testing.assert_allclose(jets.particles[..., 0].sum(1), 1.0, atol=1e-6)
    assert (np.diff(jets.particles[..., 0], axis=1) <= 0).all()
    np.testing.assert_allclose(jets.jets[:, 0], FAMILY_PT)
    assert jets.attrs["scales"] == SCALES
    two = family_jets(10, {"separation": 50.0}, np.random.default_rng(0))
    assert two.particles.shape == (10, 2, 3)


@pytest.mark.parametrize("scales", [{"sharing": 3.0}, {"separation": -1.0},
                                    {"separation": 1e4}, {}])
def test_bad_scales_are_refused(scales):
    with pytest.raises(JetvizInputError):
        family_jets(10, scales, np.random.default_rng(0))


@pytest.mark.parametrize("name", ["separation", "sharing", "split"])
def test_a_scale_beyond_what_its_parameter_can_spread_is_refused_with_the_largest(name):
    # beyond the largest, the prongs would swap (Δ < 0, z < 0.5) or a particle leave the cone
    scales = {**dict.fromkeys(("separation", "sharing", "split"), 0.01), name: 499.0}
    with pytest.raises(JetvizInputError, match=rf"{name} 499 GeV \(at most ≈ [0-9.]+\)") as err:
        ranges_for_scales(scales)
    largest = float(str(err.value).split("at most ≈ ")[1].split(")")[0])
    assert 50 < largest < 499
    fits = ranges_for_scales({**scales, name: 0.95 * largest})  # just inside: the asked spread
    assert spreads(fits, 3)[name] == pytest.approx(0.95 * largest, rel=2e-3)
    for jet in family_jets(200, {**scales, name: 0.95 * largest},
                           np.random.default_rng(1)).particles:
        assert np.hypot(jet[:, 1], jet[:, 2]).max() <= 0.8  # every particle in the cone
        assert jet[0, 0] >= jet[1:, 0].max()  # the hard prong stays the hardest
