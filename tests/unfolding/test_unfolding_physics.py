"""Real Pythia 8 + FastJet pp → ZW events (slow: a few seconds): the lepton pair peaks at the
Z mass, the two leading detector jets near the W mass, every kept event has both leptons and
two jets, a chunk is fixed by its seed, and `jetviz unfold generate` stores the detector
card and its command."""

from __future__ import annotations

import json

import numpy as np
import pytest

from jetviz.unfolding.data import PairedEvents, detector_observables, parton_observables
from jetviz.unfolding.simulation import UnfoldingConfig, unfolding_chunk

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def chunk():
    return unfolding_chunk(300, 11, UnfoldingConfig(chunk=300))


def _pairs(r: dict) -> PairedEvents:
    return PairedEvents(r["parton"], r["parton_id"], r["leptons"], r["jets"], r["n_jets"])


def test_lepton_pair_peaks_at_the_z_and_dijet_near_the_w(chunk):
    pairs = _pairs(chunk)
    truth, detector = parton_observables(pairs.parton), detector_observables(pairs)
    assert np.median(truth["m_ll"]) == pytest.approx(91.19, abs=1.0)
    assert np.median(truth["m_jj"]) == pytest.approx(80.4, abs=1.0)
    assert np.median(detector["m_ll"]) == pytest.approx(91.19, abs=2.0)
    counts, edges = np.histogram(detector["m_jj"], bins=np.arange(20, 161, 10))
    assert 60 <= edges[np.argmax(counts)] <= 90  # the W peak survives shower and detector
    assert np.all(pairs.n_jets >= 2) and np.all(pairs.leptons[:, :, 0] > 0)
    assert set(np.abs(pairs.parton_id[:, 0])) <= {11, 13}
    assert np.all(np.abs(pairs.parton_id[:, 2:]) <= 5)


def test_a_chunk_is_fixed_by_its_seed():
    a = unfolding_chunk(20, 5, UnfoldingConfig(chunk=20))
    b = unfolding_chunk(20, 5, UnfoldingConfig(chunk=20))
    assert np.array_equal(a["jets"], b["jets"]) and np.array_equal(a["parton"], b["parton"])


def test_generate_command_writes_the_card_and_the_command(tmp_path):
    from jetviz.cli import main
    from jetviz.unfolding.data import read_pairs
    from jetviz.unfolding.detector import ATLAS_CARD, DetectorCard

    out = tmp_path / "zw.h5"
    assert main(["unfold", "generate", "--events", "20", "--chunk", "10", "--workers", "1",
                 "--seed", "3", "--out", str(out)]) == 0
    pairs = read_pairs(out)
    assert len(pairs) == 20
    assert pairs.attrs["command"].startswith("jetviz unfold generate --events 20 --seed 3")
    card = DetectorCard.from_json(pairs.attrs["detector_card"])
    assert card == ATLAS_CARD
    assert "PartonLevel:MPI = off" in json.loads(pairs.attrs["settings"])["pythia"]
    assert not list(tmp_path.glob(".*.tmp"))  # the atomic write left no temporary file
