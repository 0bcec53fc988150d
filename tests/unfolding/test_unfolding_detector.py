"""The parametric detector card: its resolution and efficiency are what a sample shows,
objects outside the acceptance are lost, and the card survives a JSON round trip."""

from __future__ import annotations

import numpy as np
import pytest

from jetviz.errors import JetvizInputError
from jetviz.physics import p4s_from_ptetaphims
from jetviz.unfolding.detector import (
    ATLAS_CARD,
    DetectorCard,
    efficiency,
    relative_resolution,
    smear_p4s,
)


def _objects(n: int, pt: float, eta: float, m: float = 0.0) -> np.ndarray:
    return p4s_from_ptetaphims(np.tile([pt, eta, 0.3, m], (n, 1)))


@pytest.mark.parametrize(("kind", "pt", "eta"), [("electron", 40.0, 0.4), ("muon", 60.0, 2.0),
                                                 ("jet", 50.0, 0.2), ("jet", 80.0, 2.2)])
def test_sampled_resolution_and_efficiency_match_the_card(kind, pt, eta):
    p4 = _objects(40_000, pt, eta, m=5.0 if kind == "jet" else 0.0)
    smeared, kept = smear_p4s(ATLAS_CARD, kind, p4, np.random.default_rng(1))
    ratio = smeared[:, 0] / p4[:, 0]
    expected = relative_resolution(ATLAS_CARD, kind, p4[:1, 0], np.array([pt]), np.array([eta]))
    assert np.std(ratio) == pytest.approx(expected[0], rel=0.03)
    assert np.mean(ratio) == pytest.approx(1.0, abs=3 * expected[0] / np.sqrt(len(ratio)))
    eff = efficiency(ATLAS_CARD, kind, np.array([pt]), np.array([eta]))[0]
    assert kept.mean() == pytest.approx(eff, abs=0.01)


def test_smearing_keeps_direction_and_loses_what_is_outside_the_acceptance():
    p4 = np.concatenate([_objects(10, 40.0, 0.5), _objects(10, 40.0, 3.0), _objects(10, 5, 0)])
    smeared, kept = smear_p4s(ATLAS_CARD, "electron", p4, np.random.default_rng(0))
    assert not kept[10:].any()
    direction = smeared[:10, 1:] / np.linalg.norm(smeared[:10, 1:], axis=1, keepdims=True)
    assert np.allclose(direction, p4[:10, 1:] / np.linalg.norm(p4[:10, 1:], axis=1,
                                                                 keepdims=True))


def test_card_round_trips_through_json_and_rejects_bad_input():
    assert DetectorCard.from_json(ATLAS_CARD.to_json()) == ATLAS_CARD
    assert "delphes_card_ATLAS" in ATLAS_CARD.source
    with pytest.raises(JetvizInputError, match="four-vectors"):
        smear_p4s(ATLAS_CARD, "jet", np.zeros((3, 3)), np.random.default_rng(0))
    with pytest.raises(JetvizInputError, match="object type"):
        ATLAS_CARD.regions("photon")
