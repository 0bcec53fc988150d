"""``jetviz generate``: real boosted jets and BSM events from Pythia 8 + FastJet.

The physics of one run (processes, cuts, truth matching, event features) is in
``jetviz.simulation.pythia``; this module splits the work into seeded chunks, spreads them over
worker processes and writes the HDF5 file.

Determinism and parallelism
---------------------------
Work is split into fixed chunks (``chunk`` jets or events); chunk k of item i runs its own
Pythia seeded from SeedSequence((seed, kind, i, k)), and results are concatenated in chunk
order, so the output depends on the seed and chunk size but not on the number of workers.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import shlex
import signal
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict

import numpy as np

from jetviz.events import EventSet, Theory
from jetviz.jets import CLASS_NAMES, JetSet
from jetviz.simulation.pythia import (
    BACKGROUNDS,
    DEFAULT_GLUINO,
    DEFAULT_NEUTRALINO,
    JET_PROCESSES,
    MAX_PARTICLES,
    SUSY_PROCESS,
    EventConfig,
    JetConfig,
    event_chunk,
    jet_chunk,
    particles_from_p4,
    versions,
)


def chunk_seed(seed: int, kind: int, item: int, chunk: int) -> int:
    """A Pythia seed in [1, 900,000,000] for one chunk, derived from the user's seed."""
    state = np.random.SeedSequence([seed, kind, item, chunk]).generate_state(1)[0]
    return int(state % 900_000_000) + 1




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
    from jetviz.readers.store import write_events, write_jets

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
