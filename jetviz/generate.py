"""``jetviz generate``: real boosted jets and BSM events from Pythia 8 + FastJet.

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
from an SLHA file the code writes (jetviz.slha), plus QCD multijet and tt̄ backgrounds with a
generator-level pTHatMin so they resemble a SUSY-search sample. Per event: the leading four
anti-kT R = 0.4 jets (pT > 20 GeV, |η| < 2.8, as in the Dark Machines data set,
arXiv:2105.14027) as (pT, η, φ, m), zeros when fewer, and the missing transverse momentum
(MET, φ_MET) from visible final-state particles with |η| < 4.9 (jetviz.events).

Determinism and parallelism
---------------------------
Work is split into fixed chunks (``chunk`` jets or events); chunk k of item i runs its own
Pythia seeded from SeedSequence((seed, kind, i, k)), and results are concatenated in chunk
order, so the output depends on the seed and chunk size but not on the number of workers.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import multiprocessing
import os
import shlex
import signal
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass

import numpy as np

from jetviz.events import EVENT_FEATURES, EventSet, Theory
from jetviz.jets import CLASS_NAMES, JetSet
from jetviz.physics import etas_from_p4s, phis_from_p4s, pts_from_p4s, wrap_phi

ECM = 13000.0  # GeV
MAX_PARTICLES = 150
_QUIET = ("Print:quiet = on", "Next:numberCount = 0", "Init:showChangedSettings = off",
          "Init:showProcesses = off", "SLHA:verbose = 0")
_HADRONIC_W = ("24:onMode = off", "24:onIfAny = 1 2 3 4 5")

# Pythia settings per jet class; pTHatMin sits just below the jet-pT window so the window's
# lower edge is not sculpted, and pTHatMax well above its upper edge (see generate.md notes).
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


# ---------------------------------------------------------------------------------------------
# Pythia and FastJet in one worker process


def chunk_seed(seed: int, kind: int, item: int, chunk: int) -> int:
    """A Pythia seed in [1, 900,000,000] for one chunk, derived from the user's seed."""
    state = np.random.SeedSequence([seed, kind, item, chunk]).generate_state(1)[0]
    return int(state % 900_000_000) + 1


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
    dphi = (phi1 - phi2 + math.pi) % (2 * math.pi) - math.pi
    return math.hypot(eta1 - eta2, dphi)


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


def particles_from_p4(p4: np.ndarray, mask: np.ndarray, jets: np.ndarray) -> np.ndarray:
    """Relative coordinates (N, P, 3) of constituents (N, P, 4) about the jet axes (N, 5).

    ptrel = pT/pT_jet, etarel = η − η_jet, phirel = φ − φ_jet wrapped into (−π, π];
    padded rows are zero.
    """
    ptrel = pts_from_p4s(p4) / jets[:, None, 0]
    etarel = etas_from_p4s(p4) - jets[:, None, 1]
    phirel = wrap_phi(phis_from_p4s(p4) - jets[:, None, 2])
    particles = np.stack([ptrel, etarel, phirel], axis=-1)  # (N, P, 3)
    return np.where(mask[..., None], particles, 0.0)


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
    mex = -sum(v.px() for v in visible)
    mey = -sum(v.py() for v in visible)
    out[-2:] = (math.hypot(mex, mey), math.atan2(mey, mex))
    return out


def theory_settings(theory: Theory, workdir: str) -> tuple[str, ...]:
    """Pythia settings for one theory; SUSY points get an SLHA file written to ``workdir``."""
    if theory.kind == "background":
        return BACKGROUNDS[theory.name]
    from jetviz.slha import write_slha

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


# ---------------------------------------------------------------------------------------------
# Fixed chunks spread over worker processes


def _split(total: int, chunk: int) -> list[int]:
    return [min(chunk, total - start) for start in range(0, total, chunk)]


def _ignore_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C and terminates us


def _call(task: tuple) -> tuple[int, dict]:
    index, func, args = task
    return index, func(*args)


def run_chunks(tasks: list[tuple], workers: int, desc: str, unit: str) -> list[dict]:
    """Run (func, args, size) tasks on ``workers`` processes; results in task order."""
    from tqdm import tqdm

    results: list[dict | None] = [None] * len(tasks)
    with tqdm(total=sum(t[2] for t in tasks), desc=desc, unit=unit, mininterval=2.0,
              dynamic_ncols=True) as bar:
        if workers <= 1:
            for i, (func, args, size) in enumerate(tasks):
                results[i] = func(*args)
                bar.update(size)
        else:
            ctx = multiprocessing.get_context("spawn")
            with ctx.Pool(workers, initializer=_ignore_sigint) as pool:
                jobs = [(i, func, args) for i, (func, args, _) in enumerate(tasks)]
                for i, result in pool.imap_unordered(_call, jobs):
                    results[i] = result
                    bar.update(tasks[i][2])
    return results  # type: ignore[return-value]


def generate_jets(classes: Sequence[str], per_class: int, seed: int, config: JetConfig,
                  workers: int = 1) -> tuple[JetSet, np.ndarray, dict]:
    """Generate ``per_class`` jets of each class.

    Returns:
        the JetSet (labels index ``classes``), the constituents' four-vectors (N, P, 4) and
        per-class statistics (events, seconds, jets/s, jets per event).
    """
    tasks, owners = [], []
    for c, name in enumerate(classes):
        for k, size in enumerate(_split(per_class, config.chunk)):
            tasks.append((jet_chunk, (name, size, chunk_seed(seed, 0, c, k), config), size))
            owners.append(c)
    results = run_chunks(tasks, workers, "jets", "jet")
    p4 = np.concatenate([r["p4"] for r in results]).astype(np.float32)
    mask = np.concatenate([r["mask"] for r in results])
    jets = np.concatenate([r["jets"] for r in results])
    labels = np.repeat(np.arange(len(classes)), [per_class] * len(classes))
    particles = particles_from_p4(p4.astype(np.float64), mask, jets)
    stats = {}
    for c, name in enumerate(classes):
        mine = [r for r, o in zip(results, owners, strict=True) if o == c]
        events, seconds = sum(r["events"] for r in mine), sum(r["seconds"] for r in mine)
        stats[name] = {"events": events, "seconds": round(seconds, 2),
                       "jets_per_second": round(per_class / seconds, 1),
                       "jets_per_event": round(per_class / events, 3)}
    jetset = JetSet(particles.astype(np.float32), mask, jets.astype(np.float32), labels,
                    tuple(classes), source="jetviz generate", radius=config.radius)
    return jetset, p4, stats


def susy_grid(gluinos: Sequence[float], neutralinos: Sequence[float]) -> list[Theory]:
    """SUSY theories for every kinematically open (m_g̃, m_χ̃) pair, in grid order."""
    return [Theory(f"gluino{mg:g}_neutralino{mn:g}", "susy", float(mg), float(mn))
            for mg in gluinos for mn in neutralinos if mn < mg]


def generate_events(theories: Sequence[Theory], per_theory: int, seed: int,
                    config: EventConfig, workers: int = 1) -> tuple[EventSet, dict]:
    """Generate ``per_theory`` events of each theory; returns the EventSet and statistics."""
    tasks, owners = [], []
    for t, theory in enumerate(theories):
        for k, size in enumerate(_split(per_theory, config.chunk)):
            tasks.append((event_chunk, (theory, size, chunk_seed(seed, 1, t, k), config), size))
            owners.append(t)
    results = run_chunks(tasks, workers, "events", "event")
    features = np.concatenate([r["features"] for r in results]).astype(np.float32)
    theory = np.repeat(np.arange(len(theories)), [per_theory] * len(theories))
    stats = {}
    for t, th in enumerate(theories):
        seconds = sum(r["seconds"] for r, o in zip(results, owners, strict=True) if o == t)
        stats[th.name] = {"seconds": round(seconds, 2),
                          "events_per_second": round(per_theory / seconds, 1)}
    return EventSet(features, theory, tuple(theories), source="jetviz generate"), stats


# ---------------------------------------------------------------------------------------------
# Command line


def configure(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``jetviz generate``."""
    sub = parser.add_subparsers(dest="what", required=True)
    jets = sub.add_parser("jets", help="boosted jets of classes g, q, t, w, z")
    jets.add_argument("--classes", nargs="+", default=list(CLASS_NAMES), choices=CLASS_NAMES)
    jets.add_argument("--per-class", type=int, default=10_000, help="jets per class")
    jets.add_argument("--particles", type=int, default=30,
                      help=f"constituents kept per jet, hardest first (1–{MAX_PARTICLES})")
    jets.add_argument("--pt-min", type=float, default=JetConfig.pt_min, help="jet pT ≥ (GeV)")
    jets.add_argument("--pt-max", type=float, default=JetConfig.pt_max, help="jet pT < (GeV)")
    jets.add_argument("--no-p4", action="store_true",
                      help="do not store constituent four-vectors (smaller file; rebuild "
                           "massless ones with jetviz.physics.p4s_from_particles)")
    events = sub.add_parser("events", help="gluino-pair SUSY grid plus QCD and tt̄ backgrounds")
    events.add_argument("--per-theory", type=int, default=2000, help="events per theory")
    events.add_argument("--gluino", type=float, nargs="+", default=list(DEFAULT_GLUINO),
                        help="gluino masses (GeV)")
    events.add_argument("--neutralino", type=float, nargs="+", default=list(DEFAULT_NEUTRALINO),
                        help="neutralino masses (GeV); pairs with m_χ ≥ m_g̃ are skipped")
    events.add_argument("--backgrounds", nargs="*", default=list(BACKGROUNDS),
                        choices=list(BACKGROUNDS))
    for p in (jets, events):
        p.add_argument("--seed", type=int, default=1, help="master seed (result is fixed by it)")
        p.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                       help="worker processes, one Pythia each (default: all cores)")
        p.add_argument("--chunk", type=int, default=500,
                       help="jets/events per independently seeded Pythia run")
        p.add_argument("--out", required=True, help="output HDF5 file")


def command_line(args: argparse.Namespace) -> str:
    """The canonical ``jetviz generate`` command that reproduces ``args``."""
    skip = {"command", "what", "no_p4"}
    parts = ["jetviz", "generate", args.what]
    for key, value in vars(args).items():
        if key in skip:
            continue
        flag = "--" + key.replace("_", "-")
        values = value if isinstance(value, list) else [value]
        parts += [flag, *(f"{v:g}" if isinstance(v, float) else str(v) for v in values)]
    if getattr(args, "no_p4", False):
        parts.append("--no-p4")
    return shlex.join(parts)


def _check(args: argparse.Namespace) -> None:
    from jetviz.errors import JetvizInputError

    count = args.per_class if args.what == "jets" else args.per_theory
    if count < 1 or args.chunk < 1 or args.workers < 1:
        raise JetvizInputError("counts, --chunk and --workers must be positive integers")
    if args.what == "jets" and not 1 <= args.particles <= MAX_PARTICLES:
        raise JetvizInputError(
            f"--particles {args.particles}: expected 1–{MAX_PARTICLES} constituents per jet")
    if args.what == "jets" and not 0 < args.pt_min < args.pt_max:
        raise JetvizInputError(f"--pt-min/--pt-max: need 0 < {args.pt_min} < {args.pt_max}")


def run(args: argparse.Namespace) -> int:
    """Run ``jetviz generate jets|events`` and write the HDF5 file atomically."""
    from jetviz.errors import JetvizInputError
    from jetviz.store import write_events, write_jets

    try:
        _check(args)
    except JetvizInputError as err:
        print(f"jetviz generate: {err}", file=sys.stderr)
        return 2
    command = command_line(args)
    vers = versions()
    generator = f"Pythia {vers['pythia']} + FastJet {vers['fastjet']}"
    start = time.perf_counter()
    try:
        if args.what == "jets":
            config = JetConfig(n_particles=args.particles, pt_min=args.pt_min,
                               pt_max=args.pt_max, chunk=args.chunk,
                               pthat_min=min(JetConfig.pthat_min, args.pt_min - 50),
                               pthat_max=max(JetConfig.pthat_max, args.pt_max + 400))
            jetset, p4, stats = generate_jets(args.classes, args.per_class, args.seed, config,
                                              args.workers)
            settings = {**asdict(config),
                        "pythia": {c: list(JET_PROCESSES[c]) for c in args.classes}}
            attrs = {"generator": generator, "versions": vers, "settings": settings,
                     "seed": args.seed, "command": command, "stats": stats,
                     "p4_stored": not args.no_p4}
            jetset = JetSet(jetset.particles, jetset.mask, jetset.jets, jetset.labels,
                            jetset.class_names, args.out, attrs, jetset.radius)
            write_jets(args.out, jetset, p4=None if args.no_p4 else p4)
        else:
            theories = [*susy_grid(args.gluino, args.neutralino),
                        *(Theory(b, "background") for b in args.backgrounds)]
            if not theories:
                raise JetvizInputError("no theory to generate: give at least one open "
                                       "(m_gluino > m_neutralino) point or a background")
            config = EventConfig(chunk=args.chunk)
            events, stats = generate_events(theories, args.per_theory, args.seed, config,
                                            args.workers)
            settings = {**asdict(config),
                        "pythia": {"susy": list(SUSY_PROCESS), **BACKGROUNDS}}
            attrs = {"generator": generator, "versions": vers, "settings": settings,
                     "seed": args.seed, "command": command, "stats": stats}
            write_events(args.out, EventSet(events.features, events.theory, events.theories,
                                            args.out, attrs))
    except KeyboardInterrupt:
        print(f"\njetviz generate: interrupted; {args.out} was not written", file=sys.stderr)
        return 130
    except JetvizInputError as err:
        print(f"jetviz generate: {err}", file=sys.stderr)
        return 2
    print(f"wrote {args.out} in {time.perf_counter() - start:.0f} s: {json.dumps(stats)}")
    return 0
