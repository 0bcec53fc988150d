"""jetviz generate: tiny real Pythia 8 + FastJet runs, checked against physics invariants."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from jetviz import cli
from jetviz.errors import JetvizInputError
from jetviz.events import EVENT_FEATURES
from jetviz.physics import (
    etas_from_p4s,
    jet_ptetaphims_from_p4s,
    phis_from_p4s,
    pts_from_p4s,
    relative_from_p4s,
    wrap_phi,
)
from jetviz.readers.store import read_events, read_jets
from jetviz.simulation.generate import (
    chunk_seed,
    generate_events,
    generate_jets,
    jet_stats,
    susy_grid,
)
from jetviz.simulation.pythia import (
    EventConfig,
    JetConfig,
    event_chunk,
    make_pythia,
    visible_pseudojets,
)
from jetviz.simulation.slha import GLUINO, NEUTRALINO1, slha_text, write_slha

TINY = JetConfig(n_particles=30, chunk=3)


@pytest.fixture(scope="module")
def w_jets():
    return generate_jets(["w"], 6, seed=3, config=TINY)


@pytest.fixture(scope="module")
def t_jets():
    return generate_jets(["t"], 4, seed=3, config=TINY)


def test_jet_arrays_are_consistent(w_jets):
    jetset, p4, records = w_jets
    stats = jet_stats(records)
    n, p = 6, TINY.n_particles
    assert jetset.particles.shape == (n, p, 3) and p4.shape == (n, p, 4)
    assert jetset.jets.shape == (n, 5) and jetset.counts() == {"w": n}
    # mask is a prefix of real particles; padded rows are zero in both representations
    counts = jetset.mask.sum(1)
    np.testing.assert_array_equal(jetset.mask, np.arange(p)[None] < counts[:, None])
    assert not jetset.particles[~jetset.mask].any() and not p4[~jetset.mask].any()
    np.testing.assert_array_equal(counts, np.minimum(jetset.jets[:, 4], p))
    # constituents sorted by pT, all inside the jet's window and cuts
    ptrel = jetset.particles[..., 0]
    assert (np.diff(ptrel, axis=1) <= 1e-7).all()
    pt, eta = jetset.jets[:, 0], jetset.jets[:, 1]
    assert ((pt >= TINY.pt_min) & (pt < TINY.pt_max) & (np.abs(eta) < TINY.eta_max)).all()
    assert (np.hypot(jetset.particles[..., 1], jetset.particles[..., 2])[jetset.mask] < 1.2).all()
    assert stats["w"]["events"] >= 6 and stats["w"]["jets_per_second"] > 0
    assert [r["chunk"] for r in records] == [0, 1] and sum(r["rows"] for r in records) == n


def test_ptrel_is_the_pt_fraction_of_the_kept_constituents(w_jets, t_jets):
    for jetset, p4, _ in (w_jets, t_jets):
        fraction = pts_from_p4s(p4.astype(np.float64)).sum(1) / jetset.jets[:, 0]
        np.testing.assert_allclose(jetset.particles[..., 0].sum(1), fraction, rtol=1e-5)
        # a scalar sum of pT exceeds the jet's vector pT only by the jet's small opening
        # angle (≈ m²/2pT² ≲ 3 % at 1 TeV), so the kept fraction never goes far above 1
        assert (fraction <= 1.05).all() and (fraction > 0.5).all()


def test_boson_and_top_masses_are_near_their_poles(w_jets, t_jets):
    assert 65 < np.median(w_jets[0].jets[:, 3]) < 110
    assert 145 < np.median(t_jets[0].jets[:, 3]) < 215


def test_same_seed_same_jets_and_another_seed_other_jets(w_jets):
    again, p4_again, _ = generate_jets(["w"], 6, seed=3, config=TINY)
    np.testing.assert_array_equal(again.particles, w_jets[0].particles)
    np.testing.assert_array_equal(p4_again, w_jets[1])
    other, _, _ = generate_jets(["w"], 6, seed=4, config=TINY)
    assert not np.array_equal(other.jets, w_jets[0].jets)


def test_result_does_not_depend_on_worker_count(w_jets):
    parallel, p4, _ = generate_jets(["w"], 6, seed=3, config=TINY, workers=2)
    np.testing.assert_array_equal(parallel.jets, w_jets[0].jets)
    np.testing.assert_array_equal(p4, w_jets[1])


def test_chunk_seeds_are_distinct_and_in_pythia_range():
    seeds = {chunk_seed(1, kind, item, k) for kind in (0, 1) for item in range(5)
             for k in range(20)}
    assert len(seeds) == 200 and min(seeds) >= 1 and max(seeds) <= 900_000_000


def test_physics_matches_fastjet_on_a_pythia_event(capfd):
    import fastjet

    pythia = make_pythia(("HardQCD:all = on", "PhaseSpace:pTHatMin = 500"), seed=11)
    jet_def = fastjet.JetDefinition(fastjet.antikt_algorithm, 0.8)
    checked = 0
    while checked < 4:
        assert pythia.next()
        cluster = fastjet.ClusterSequence(visible_pseudojets(pythia.event), jet_def)
        for jet in fastjet.sorted_by_pt(cluster.inclusive_jets(100.0))[:2]:
            p4 = np.array([(c.E(), c.px(), c.py(), c.pz()) for c in jet.constituents()])
            pt, eta, phi, m = jet_ptetaphims_from_p4s(p4)
            np.testing.assert_allclose([pt, m], [jet.pt(), jet.m()], rtol=1e-5)
            np.testing.assert_allclose([eta, phi], [jet.eta(), jet.phi_std()], atol=1e-6)
            # relative coordinates about the same axis; ptrel sums to the scalar pT fraction
            particles, axis = relative_from_p4s(p4, np.ones(len(p4), bool))
            np.testing.assert_allclose(axis[[0, 3]], [jet.pt(), jet.m()], rtol=1e-5)
            np.testing.assert_allclose(particles[:, 0].sum(),
                                       sum(c.pt() for c in jet.constituents()) / jet.pt(),
                                       rtol=1e-6)
            checked += 1
    assert capfd.readouterr().out == ""  # Pythia and FastJet banners are silenced


def test_slha_file_is_a_valid_gluino_spectrum(tmp_path):
    text = write_slha(tmp_path / "point.slha", 1400, 500).read_text()
    assert text == slha_text(1400, 500)
    lines = [ln.split("#")[0].split() for ln in text.splitlines()]
    blocks = [ln[1] for ln in lines if ln and ln[0] == "BLOCK"]
    assert {"MODSEL", "MASS"} <= set(blocks)
    masses = {int(ln[0]): float(ln[1]) for ln in lines
              if len(ln) == 2 and ln[0].lstrip("-").isdigit() and int(ln[0]) > 1_000_000}
    assert masses[GLUINO] == 1400 and masses[NEUTRALINO1] == 500
    assert min(m for pid, m in masses.items() if pid not in (GLUINO, NEUTRALINO1)) > 1400
    start = next(i for i, ln in enumerate(lines) if ln[:2] == ["DECAY", str(GLUINO)])
    channels = [ln for ln in lines[start + 1:] if ln and ln[0] != "DECAY"][:3]
    assert math.isclose(sum(float(c[0]) for c in channels), 1.0, rel_tol=1e-7)
    for c in channels:  # BR, nda = 3, χ̃₁⁰ q q̄ with a light quark
        assert c[1] == "3" and int(c[2]) == NEUTRALINO1
        assert int(c[3]) == -int(c[4]) and 1 <= int(c[3]) <= 3
    with pytest.raises(JetvizInputError, match="m_neutralino < m_gluino"):
        slha_text(1000, 1000)


def test_susy_events_have_four_ordered_jets_and_met():
    theory = susy_grid([1400.0], [100.0])[0]
    result = event_chunk(theory, 5, seed=5, config=EventConfig())
    f = result["features"]
    assert f.shape == (5, len(EVENT_FEATURES)) and np.isfinite(f).all()
    jets = f[:, :16].reshape(5, 4, 4)
    pt = jets[..., 0]
    assert (np.diff(pt, axis=1) <= 0).all()  # leading first, zero padding last
    real = pt > 0
    assert (pt[real] >= 20).all() and (np.abs(jets[..., 1][real]) < 2.8).all()
    assert (np.abs(jets[..., 2]) <= np.pi).all() and (jets[..., 3][real] >= 0).all()
    assert not jets[~real].any()
    # two 1.4 TeV gluinos decaying to a 100 GeV neutralino: hard jets and sizeable MET
    assert np.median(pt[:, 0]) > 200 and (f[:, 16] > 0).all()
    assert (np.abs(f[:, 17]) <= np.pi).all()


def test_susy_grid_skips_closed_points():
    grid = susy_grid([1000.0, 1400.0], [500.0, 1200.0])
    assert [(t.m_gluino, t.m_neutralino) for t in grid] == [(1000, 500), (1400, 500),
                                                            (1400, 1200)]
    assert all(t.kind == "susy" for t in grid)
    events, _ = generate_events([grid[0]], 2, seed=1, config=EventConfig(chunk=2))
    assert len(events) == 2 and events.theories == (grid[0],)


def test_cli_writes_files_with_provenance(tmp_path):
    out = tmp_path / "z.h5"
    assert cli.main(["generate", "jets", "--classes", "z", "--per-class", "3", "--chunk", "3",
                     "--workers", "1", "--particles", "20", "--out", str(out)]) == 0
    jetset, p4 = read_jets(out, with_p4=True)
    assert jetset.n_particles == 20 and p4.shape == (3, 20, 4) and jetset.class_names == ("z",)
    attrs = jetset.attrs
    assert attrs["generator"].startswith("Pythia 8.317 + FastJet 3.")
    assert attrs["seed"] == 1 and json.loads(attrs["settings"])["n_particles"] == 20
    assert attrs["command"].startswith("jetviz generate jets --classes z --per-class 3")
    assert json.loads(attrs["versions"])["pythia"] == "8.317"
    # stored relative coordinates are the four-vectors about the full jet's axis
    p4 = p4.astype(np.float64)
    etarel = np.where(jetset.mask, etas_from_p4s(p4) - jetset.jets[:, None, 1], 0.0)
    phirel = np.where(jetset.mask, wrap_phi(phis_from_p4s(p4) - jetset.jets[:, None, 2]), 0.0)
    np.testing.assert_allclose(jetset.particles[..., 1], etarel, atol=1e-5)
    np.testing.assert_allclose(jetset.particles[..., 2], phirel, atol=1e-5)

    ev_out = tmp_path / "ev.h5"
    assert cli.main(["generate", "events", "--per-theory", "2", "--gluino", "1000",
                     "--neutralino", "500", "--backgrounds", "ttbar", "--workers", "1",
                     "--out", str(ev_out)]) == 0
    events = read_events(ev_out)
    assert events.counts() == {"gluino1000_neutralino500": 2, "ttbar": 2}
    assert [t.kind for t in events.theories] == ["susy", "background"]
    assert events.theories[0].m_gluino == 1000 and "--per-theory 2" in events.attrs["command"]


def test_no_p4_option_and_bad_input(tmp_path, capsys):
    out = tmp_path / "q.h5"
    assert cli.main(["generate", "jets", "--classes", "q", "--per-class", "2", "--chunk", "2",
                     "--workers", "1", "--no-p4", "--out", str(out)]) == 0
    with pytest.raises(JetvizInputError, match="no four-vectors"):
        read_jets(out, with_p4=True)
    assert not read_jets(out).attrs["p4_stored"]
    bad = tmp_path / "bad.h5"
    assert cli.main(["generate", "jets", "--particles", "500", "--out", str(bad)]) == 2
    assert "--particles 500" in capsys.readouterr().err and not bad.exists()


def test_interrupt_leaves_no_file(tmp_path, monkeypatch, capsys):
    import jetviz.cli.generate as gen

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(gen, "generate_jets", interrupted)
    out = tmp_path / "jets.h5"
    assert cli.main(["generate", "jets", "--per-class", "2", "--out", str(out)]) == 130
    assert list(tmp_path.iterdir()) == [] and "interrupted" in capsys.readouterr().err
