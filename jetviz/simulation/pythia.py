"""One Pythia 8 + FastJet run: boosted jets of one class, or events of one theory.

Jets (``jetviz generate jets``)
-------------------------------
pp collisions at √s = 13 TeV (Pythia 8, default tune, MPI and hadronisation on, no pile-up);
visible final-state particles (neutrinos excluded) clustered with anti-kT, R = 0.8
(Cacciari, Salam, Soyez, arXiv:0802.1189); jets with pT_min ≤ pT < pT_max (800–1200 GeV by
default) and |η| < 2, as in the hls4ml / JetNet samples (arXiv:1908.05318, 2106.11535).

  class  process                                  kept jets
  g, q   QCD 2→2 (HardQCD:all)                    ΔR(jet, hard outgoing parton) < 0.8, parton a
                                                  gluon (g) or u/d/s quark (q); jets matched to
                                                  c or b quarks are dropped
  t      tt̄, both W → qq'                         the top, its b and both W quarks within ΔR < 0.8
  w      W + jet, W → qq'                         the W and both quarks within ΔR < 0.8
  z      Z + jet, Z → qq̄ (Z only, no γ*)          the Z and both quarks within ΔR < 0.8

Each jet keeps its P hardest constituents as relative coordinates (jetviz.jets) and as
four-vectors (E, px, py, pz), and jet truth (pT, η, φ, m, multiplicity) from FastJet.

Events (``jetviz generate events``)
-----------------------------------
Gluino pairs (SUSY:gg2gluinogluino, SUSY:qqbar2gluinogluino) for a grid of (m_g̃, m_χ̃₁⁰) read
from an SLHA file the code writes (simulation.slha), plus QCD multijet and tt̄ backgrounds with a
generator-level pTHatMin so they resemble a SUSY-search sample. Per event: the leading four
anti-kT R = 0.4 jets (pT > 20 GeV, |η| < 2.8, as in the Dark Machines data set,
arXiv:2105.14027) as (pT, η, φ, m), zeros when fewer, and the missing transverse momentum
(MET, φ_MET) from visible final-state particles with |η| < 4.9 (jetviz.events).

Everything here runs inside one worker process; ``jetviz.simulation.generate`` splits the work
into seeded chunks and spreads them over processes.
"""

from __future__ import annotations

import contextlib
import math
import os
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from jetviz.events import EVENT_FEATURES, Theory
from jetviz.physics import phis_from_p4s, pts_from_p4s, wrap_phi

ECM = 13000.0  # GeV
MAX_PARTICLES = 150
_QUIET = ("Print:quiet = on", "Next:numberCount = 0", "Init:showChangedSettings = off",
          "Init:showProcesses = off", "SLHA:verbose = 0")
_HADRONIC_W = ("24:onMode = off", "24:onIfAny = 1 2 3 4 5")

# Pythia processes per jet class. PhaseSpace:pTHatMin (JetConfig) sits 50 GeV below the jet-pT
# window: a jet loses pT to out-of-cone radiation, so pTHatMin = pT_min would deplete the
# window's lower edge; pTHatMax sits well above its upper edge.
JET_PROCESSES: dict[str, tuple[str, ...]] = {
    "g": ("HardQCD:all = on",),
    "q": ("HardQCD:all = on",),
    "t": ("Top:gg2ttbar = on", "Top:qqbar2ttbar = on", *_HADRONIC_W),
    "w": ("WeakBosonAndParton:qqbar2Wg = on", "WeakBosonAndParton:qg2Wq = on", *_HADRONIC_W),
    "z": ("WeakBosonAndParton:qqbar2gmZg = on", "WeakBosonAndParton:qg2gmZq = on",
          "WeakZ0:gmZmode = 2", "23:onMode = off", "23:onIfAny = 1 2 3 4 5"),
}
_RESONANCE = {"t": 6, "w": 24, "z": 23}  # |PDG id| of the hard resonance a jet must contain
_PARTONS = {"g": (21,), "q": (1, 2, 3)}  # |PDG id| of the matched hard parton

BACKGROUNDS: dict[str, tuple[str, ...]] = {
    "qcd": ("HardQCD:all = on", "PhaseSpace:pTHatMin = 400"),
    "ttbar": ("Top:gg2ttbar = on", "Top:qqbar2ttbar = on", "PhaseSpace:pTHatMin = 300"),
}
SUSY_PROCESS = ("SUSY:gg2gluinogluino = on", "SUSY:qqbar2gluinogluino = on")
DEFAULT_GLUINO = (1000.0, 1400.0, 1800.0)  # GeV
DEFAULT_NEUTRALINO = (100.0, 500.0, 900.0)  # GeV


@dataclass(frozen=True)
class JetConfig:
    """How jets are made and selected (saved as JSON in the file's ``settings``)."""

    n_particles: int = 30  # P, constituents kept per jet (hardest first)
    radius: float = 0.8  # anti-kT R
    pt_min: float = 800.0  # GeV, jet-pT window lower edge (inclusive)
    pt_max: float = 1200.0  # GeV, jet-pT window upper edge (exclusive)
    eta_max: float = 2.0  # |η_jet| limit
    match_radius: float = 0.8  # ΔR for parton / resonance / decay-quark matching
    pthat_min: float = 750.0  # GeV, Pythia PhaseSpace:pTHatMin
    pthat_max: float = 1600.0  # GeV, Pythia PhaseSpace:pTHatMax
    chunk: int = 500  # jets per independent Pythia run (fixes the result for a seed)
    ecm: float = ECM  # GeV, √s


@dataclass(frozen=True)
class EventConfig:
    """How BSM/SM events are made (saved as JSON in the file's ``settings``)."""

    jet_radius: float = 0.4  # anti-kT R of event jets
    jet_pt_min: float = 20.0  # GeV
    jet_eta_max: float = 2.8
    n_jets: int = 4  # leading jets kept per event
    visible_eta_max: float = 4.9  # acceptance of particles entering jets and MET
    chunk: int = 500  # events per independent Pythia run
    ecm: float = ECM  # GeV, √s



def versions() -> dict[str, str]:
    """Version strings read from the Pythia 8 and FastJet libraries themselves."""
    import fastjet
    import pythia8mc

    pythia = pythia8mc.Pythia("", False)
    return {
        "pythia": f"{pythia.settings.parm('Pythia:versionNumber'):.3f}",
        "fastjet": fastjet.fastjet_version_string().replace("FastJet version", "").strip(),
        "pythia8mc_python": _dist_version("pythia8mc"),
        "fastjet_python": _dist_version("fastjet"),
    }


def _dist_version(name: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(name)
    except PackageNotFoundError:
        return "unknown"


@contextlib.contextmanager
def _stdout_silenced() -> Iterator[None]:
    """Send the C++ stdout (fd 1) to /dev/null: FastJet prints a banner on first use."""
    sys.stdout.flush()
    saved = os.dup(1)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 1)
        yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)
        os.close(devnull)


def make_pythia(settings: Sequence[str], seed: int, ecm: float = ECM):
    """An initialised, silent Pythia 8 for pp at ``ecm`` with ``settings`` and ``seed``."""
    import pythia8mc

    pythia = pythia8mc.Pythia("", False)
    for line in (f"Beams:eCM = {ecm}", "Random:setSeed = on", f"Random:seed = {seed}",
                 *_QUIET, *settings):
        if not pythia.readString(line):
            raise RuntimeError(f"Pythia rejected the setting {line!r}")
    with _stdout_silenced():
        ok = pythia.init()
        import fastjet  # first ClusterSequence prints FastJet's banner: do it here, silenced

        fastjet.ClusterSequence([fastjet.PseudoJet(1.0, 0.0, 0.0, 1.0)],
                                fastjet.JetDefinition(fastjet.antikt_algorithm, 0.4))
    if not ok:
        raise RuntimeError(f"Pythia failed to initialise with settings {list(settings)}")
    return pythia


def visible_pseudojets(event, eta_max: float = math.inf) -> list:
    """FastJet PseudoJets of the visible final-state particles (no neutrinos, no χ̃₁⁰)."""
    import fastjet

    return [fastjet.PseudoJet(p.px(), p.py(), p.pz(), p.e()) for p in event.particles()
            if p.isFinal() and p.isVisible() and abs(p.eta()) < eta_max]


def _daughters(record, i: int) -> list[int]:
    d1, d2 = record[i].daughter1(), record[i].daughter2()
    if d1 > 0 and d2 >= d1:
        return list(range(d1, d2 + 1))
    if d1 > 0 and d2 == 0:
        return [d1]
    return [d for d in (d1, d2) if d > 0]


def _decay_quarks(record, i: int) -> list[int]:
    """Indices of the quarks a resonance decays to in the hard-process record (recursive)."""
    out = []
    for d in _daughters(record, i):
        if abs(record[d].id()) <= 5:
            out.append(d)
        else:
            out.extend(_decay_quarks(record, d))
    return out


def _delta_r(eta1: float, phi1: float, eta2: float, phi2: float) -> float:
    return math.hypot(eta1 - eta2, float(wrap_phi(phi1 - phi2)))


def truth_targets(record, name: str) -> list[list[tuple[float, float]]]:
    """(η, φ) of what a jet of class ``name`` (t, w or z) must contain, one list per resonance.

    Each list holds the hard-process resonance (status −22 in ``pythia.process``) and all the
    quarks it decays to.
    """
    targets = []
    for i in range(record.size()):
        p = record[i]
        if abs(p.id()) == _RESONANCE[name] and p.status() == -22:
            targets.append([(record[j].eta(), record[j].phi())
                            for j in (i, *_decay_quarks(record, i))])
    return targets


def _matches(jet, objects: list[tuple[float, float]], radius: float) -> bool:
    eta, phi = jet.eta(), jet.phi_std()
    return all(_delta_r(eta, phi, e, f) < radius for e, f in objects)


def _hard_parton_match(record, jet, radius: float) -> int:
    """|PDG id| of the nearest outgoing hard-process parton within ``radius`` (0 if none)."""
    best, best_id = radius, 0
    for i in (5, 6):
        p = record[i]
        dr = _delta_r(jet.eta(), jet.phi_std(), p.eta(), p.phi())
        if dr < best:
            best, best_id = dr, abs(p.id())
    return best_id


def jet_chunk(name: str, n_jets: int, seed: int, config: JetConfig) -> dict:
    """Generate ``n_jets`` jets of class ``name`` with one Pythia seeded by ``seed``.

    Returns:
        dict of arrays p4 (n, P, 4), mask (n, P), jets (n, 5), and counters
        (events, seconds).
    """
    import fastjet

    settings = (*JET_PROCESSES[name], f"PhaseSpace:pTHatMin = {config.pthat_min}",
                f"PhaseSpace:pTHatMax = {config.pthat_max}")
    pythia = make_pythia(settings, seed, config.ecm)
    jet_def = fastjet.JetDefinition(fastjet.antikt_algorithm, config.radius)
    p, n_particles = config.n_particles, []
    p4 = np.zeros((n_jets, p, 4))
    jets = np.zeros((n_jets, 5))
    n, events, start = 0, 0, time.perf_counter()
    max_events = 200 * n_jets + 1000
    while n < n_jets:
        if events >= max_events:
            raise RuntimeError(f"class {name}: only {n} jets in {events} events; check cuts")
        events += 1
        if not pythia.next():
            continue
        cluster = fastjet.ClusterSequence(visible_pseudojets(pythia.event), jet_def)
        candidates = [j for j in fastjet.sorted_by_pt(cluster.inclusive_jets(config.pt_min))
                      if j.pt() < config.pt_max and abs(j.eta()) < config.eta_max]
        if not candidates:
            continue
        targets = truth_targets(pythia.process, name) if name in _RESONANCE else None
        for jet in candidates:
            if targets is not None:
                keep = any(_matches(jet, t, config.match_radius) for t in targets)
            else:
                keep = _hard_parton_match(pythia.process, jet, config.match_radius) in (
                    _PARTONS[name])
            if not keep:
                continue
            constituents = fastjet.sorted_by_pt(jet.constituents())  # cluster stays alive
            kept = constituents[:p]
            p4[n, :len(kept)] = [(c.E(), c.px(), c.py(), c.pz()) for c in kept]
            jets[n] = (jet.pt(), jet.eta(), jet.phi_std(), jet.m(), len(constituents))
            n_particles.append(len(kept))
            n += 1
            if n == n_jets:
                break
    mask = np.arange(p)[None, :] < np.asarray(n_particles)[:, None]
    return {"p4": p4, "mask": mask, "jets": jets, "events": events,
            "seconds": time.perf_counter() - start}


def event_features(pythia, config: EventConfig, jet_def) -> np.ndarray:
    """The 18 features of the current Pythia event (jetviz.events.EVENT_FEATURES)."""
    import fastjet

    visible = visible_pseudojets(pythia.event, config.visible_eta_max)
    cluster = fastjet.ClusterSequence(visible, jet_def)
    jets = [j for j in fastjet.sorted_by_pt(cluster.inclusive_jets(config.jet_pt_min))
            if abs(j.eta()) < config.jet_eta_max][:config.n_jets]
    out = np.zeros(len(EVENT_FEATURES))
    for k, j in enumerate(jets):
        out[4 * k: 4 * k + 4] = (j.pt(), j.eta(), j.phi_std(), j.m())
    missing = -np.array([(v.E(), v.px(), v.py(), v.pz()) for v in visible]).reshape(-1, 4).sum(0)
    out[-2:] = (pts_from_p4s(missing), phis_from_p4s(missing))  # MET and its φ
    return out


def theory_settings(theory: Theory, workdir: str) -> tuple[str, ...]:
    """Pythia settings for one theory; SUSY points get an SLHA file written to ``workdir``."""
    if theory.kind == "background":
        return BACKGROUNDS[theory.name]
    from jetviz.simulation.slha import write_slha

    path = write_slha(os.path.join(workdir, f"{theory.name}.slha"),
                      theory.m_gluino, theory.m_neutralino)
    return (*SUSY_PROCESS, f"SLHA:file = {path}")


def event_chunk(theory: Theory, n_events: int, seed: int, config: EventConfig) -> dict:
    """Generate ``n_events`` events of one theory with one Pythia seeded by ``seed``."""
    import fastjet

    with tempfile.TemporaryDirectory(prefix="jetviz-slha-") as workdir:
        pythia = make_pythia(theory_settings(theory, workdir), seed, config.ecm)
    jet_def = fastjet.JetDefinition(fastjet.antikt_algorithm, config.jet_radius)
    features = np.zeros((n_events, len(EVENT_FEATURES)))
    n, tries, start = 0, 0, time.perf_counter()
    while n < n_events:
        tries += 1
        if tries > 10 * n_events + 100:
            raise RuntimeError(f"theory {theory.name}: Pythia failed {tries - n} events")
        if pythia.next():
            features[n] = event_features(pythia, config, jet_def)
            n += 1
    return {"features": features, "events": tries, "seconds": time.perf_counter() - start}
