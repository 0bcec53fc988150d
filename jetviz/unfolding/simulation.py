"""One Pythia 8 + FastJet run of pp → ZW → (ℓℓ)(qq̄′) with parton and detector level paired.

Process: ``WeakDoubleBoson:ffbar2ZW`` at √s = 13 TeV (default tune, ISR/FSR, MPI and
hadronisation on, no pile-up), Z → e⁺e⁻ or μ⁺μ⁻ and W → qq̄′ (u, d, s, c, b) forced with
``onMode``.

Parton level: the two leptons and two quarks of the hard process, read from Pythia's
``process`` record (status 23, before any shower), as (E, px, py, pz), ordered
(ℓ⁻, ℓ⁺, q, q̄′) — particle before antiparticle.

Detector level, the same event after shower and hadronisation:
  * leptons: the final copies of the two hard leptons (after QED radiation), smeared and
    kept with the card's efficiency (``jetviz.unfolding.detector``), ordered (ℓ⁻, ℓ⁺);
  * jets: anti-kT R = 0.4 (FastJet) on the visible final-state particles within the
    calorimeter's |η| except the two leptons, each jet smeared by the card, kept above its
    pT threshold and inside its |η| acceptance, ordered by pT, the leading ``n_jets`` stored
    (zero rows when fewer).

An event is kept when both leptons and at least two jets are reconstructed; the fraction kept
is part of the chunk's statistics. Everything runs inside one worker process;
``jetviz.unfolding.generation`` splits the work into seeded chunks.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from jetviz.simulation.pythia import ECM, make_pythia
from jetviz.unfolding.detector import ATLAS_CARD, DetectorCard, smear_p4s

PROCESS = ("WeakDoubleBoson:ffbar2ZW = on",
           "23:onMode = off", "23:onIfAny = 11 13",
           "24:onMode = off", "24:onIfAny = 1 2 3 4 5")
Z_ID, W_ID = 23, 24
LEPTON_IDS = (11, 13)


@dataclass(frozen=True)
class UnfoldingConfig:
    """How the paired events are made (saved as JSON in the file's ``settings``)."""

    n_jets: int = 4  # detector jets stored per event (leading in pT)
    min_jets: int = 2  # detector jets required to keep an event
    chunk: int = 1000  # events per independently seeded Pythia run
    # Multiparton interactions (the underlying event) cost 90 % of Pythia's time here; off by
    # default so that one core makes a useful sample in minutes. ISR, FSR, hadronisation stay.
    mpi: bool = False
    ecm: float = ECM  # GeV, √s


def pythia_settings(config: UnfoldingConfig) -> tuple[str, ...]:
    """The Pythia settings of a run: the process plus the MPI switch."""
    return (*PROCESS, f"PartonLevel:MPI = {'on' if config.mpi else 'off'}")


def _decay_products(record, mother_id: int) -> list[int]:
    """Indices in the hard-process record of the daughters of the resonance ``mother_id``."""
    for i in range(record.size()):
        p = record[i]
        if abs(p.id()) == mother_id and p.status() == -22:
            return [d for d in range(p.daughter1(), p.daughter2() + 1) if d > 0]
    return []


def _p4(p) -> tuple[float, float, float, float]:
    return (p.e(), p.px(), p.py(), p.pz())


def parton_level(process) -> tuple[np.ndarray, np.ndarray] | None:
    """(4, 4) four-vectors and (4,) PDG ids of (ℓ⁻, ℓ⁺, q, q̄′), or None if not found."""
    leptons = [i for i in _decay_products(process, Z_ID) if abs(process[i].id()) in LEPTON_IDS]
    quarks = [i for i in _decay_products(process, W_ID) if 1 <= abs(process[i].id()) <= 5]
    if len(leptons) != 2 or len(quarks) != 2:
        return None
    # particle (id > 0) first: ℓ⁻ (id 11/13) and the quark; then ℓ⁺ and the antiquark
    leptons.sort(key=lambda i: -process[i].id())
    quarks.sort(key=lambda i: -process[i].id())
    order = [*leptons, *quarks]
    return (np.array([_p4(process[i]) for i in order]),
            np.array([process[i].id() for i in order]))


def _final_lepton_indices(event) -> list[int]:
    """Event-record indices of the final copies of the Z's two leptons (ℓ⁻ first)."""
    out = []
    for i in range(event.size()):
        p = event[i]
        if abs(p.id()) == Z_ID and p.status() == -22:
            z = event[p.iBotCopyId()]
            for d in range(z.daughter1(), z.daughter2() + 1):
                if d > 0 and abs(event[d].id()) in LEPTON_IDS:
                    out.append(event[d].iBotCopyId())
            break
    out.sort(key=lambda i: -event[i].id())
    return out


def detector_level(event, card: DetectorCard, config: UnfoldingConfig, jet_def,
                   rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, int] | None:
    """Smeared leptons (2, 4), leading jets (n_jets, 4) and jet count, or None if not kept."""
    import fastjet

    lepton_idx = _final_lepton_indices(event)
    if len(lepton_idx) != 2:
        return None
    flavour = abs(event[lepton_idx[0]].id())
    leptons = np.array([_p4(event[i]) for i in lepton_idx])
    leptons, kept = smear_p4s(card, "electron" if flavour == 11 else "muon", leptons, rng)
    if not kept.all():
        return None
    skip = set(lepton_idx)
    particles = [fastjet.PseudoJet(p.px(), p.py(), p.pz(), p.e())
                 for i, p in enumerate(event) if p.isFinal() and p.isVisible()
                 and i not in skip and abs(p.eta()) < card.particle_eta_max]
    cluster = fastjet.ClusterSequence(particles, jet_def)
    raw = fastjet.sorted_by_pt(cluster.inclusive_jets(0.5 * card.jet[0].pt_min))
    if not raw:
        return None
    jets, kept = smear_p4s(card, "jet", np.array([(j.E(), j.px(), j.py(), j.pz()) for j in raw]),
                           rng)
    jets = jets[kept]
    if len(jets) < config.min_jets:
        return None
    jets = jets[np.argsort(-np.hypot(jets[:, 1], jets[:, 2]), kind="stable")]
    out = np.zeros((config.n_jets, 4))
    out[:min(len(jets), config.n_jets)] = jets[:config.n_jets]
    return leptons, out, len(jets)


def unfolding_chunk(n_events: int, seed: int, config: UnfoldingConfig,
                    card: DetectorCard = ATLAS_CARD) -> dict:
    """Generate ``n_events`` kept, paired events with one Pythia seeded by ``seed``.

    The detector response draws from ``np.random.default_rng(seed)``, so the chunk is fixed
    by its seed.

    Returns:
        dict of arrays parton (n, 4, 4), parton_id (n, 4), leptons (n, 2, 4),
        jets (n, n_jets, 4), n_jets (n,), and counters (events, seconds).
    """
    import fastjet

    pythia = make_pythia(pythia_settings(config), seed, config.ecm)
    rng = np.random.default_rng(seed)
    jet_def = fastjet.JetDefinition(fastjet.antikt_algorithm, card.jet_radius)
    parton = np.zeros((n_events, 4, 4))
    parton_id = np.zeros((n_events, 4), dtype=np.int8)
    leptons = np.zeros((n_events, 2, 4))
    jets = np.zeros((n_events, config.n_jets, 4))
    n_jets = np.zeros(n_events, dtype=np.int16)
    n, events, start = 0, 0, time.perf_counter()
    while n < n_events:
        if events > 50 * n_events + 1000:
            raise RuntimeError(f"only {n} events kept out of {events}; check the detector card")
        events += 1
        if not pythia.next():
            continue
        truth = parton_level(pythia.process)
        if truth is None:
            continue
        reco = detector_level(pythia.event, card, config, jet_def, rng)
        if reco is None:
            continue
        parton[n], parton_id[n] = truth
        leptons[n], jets[n], n_jets[n] = reco
        n += 1
    return {"parton": parton, "parton_id": parton_id, "leptons": leptons, "jets": jets,
            "n_jets": n_jets, "events": events, "seconds": time.perf_counter() - start}
