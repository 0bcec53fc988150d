"""``jetviz generate jets|events|family``: its arguments, the provenance it stores and its run.

The engine is jetviz.simulation.generate (seeded chunks over worker processes) on top of
jetviz.simulation.pythia (one Pythia 8 + FastJet run), and for ``family`` the k-parameter
few-particle jet families of jetviz.simulation.jet_families (no Pythia); this module turns
the command line into their configs and writes the HDF5 file (jetviz.readers.store) with the
command that reproduces it.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import time
from dataclasses import asdict

from jetviz.events import EventSet, Theory
from jetviz.jets import CLASS_NAMES, JetSet
from jetviz.simulation.generate import (
    chunk_count,
    event_stats,
    generate_events,
    generate_jets,
    jet_stats,
    susy_grid,
)
from jetviz.simulation.jet_families import MAX_SPREAD, PARAMETERS
from jetviz.simulation.pythia import (
    BACKGROUNDS,
    DEFAULT_GLUINO,
    DEFAULT_NEUTRALINO,
    JET_PROCESSES,
    MAX_PARTICLES,
    SUSY_PROCESS,
    EventConfig,
    JetConfig,
    versions,
)
from jetviz.simulation.shards import SHARD_ATTR, Shard, shard_attr, shard_from_text


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
    family = sub.add_parser(
        "family", help="a k-parameter family of 2–3-particle jets whose EMD scales you set "
                       "(D1's test: jetviz.simulation.jet_families)")
    family.add_argument(
        "--scales", nargs="+", required=True, metavar="NAME=GEV",
        help=f"EMD spread (GeV) of each parameter: the exact EMD between the jets at the two "
             f"ends of its range, the others at their centres; name the first k of "
             f"{', '.join(PARAMETERS)}, e.g. separation=90 sharing=3 split=0.1 (each in "
             f"(0, {MAX_SPREAD:g}] GeV and no more than its parameter can spread in the jet's "
             f"cone; keep them ≥ 30× apart to see D1's plateaus)")
    family.add_argument("--jets", type=int, default=20_000, help="number of jets")
    family.add_argument("--seed", type=int, default=0, help="draws the parameters")
    family.add_argument("--out", required=True, help="output HDF5 file (a jetviz jet file)")
    for p in (jets, events):
        p.add_argument("--seed", type=int, default=1, help="master seed (result is fixed by it)")
        p.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                       help="worker processes, one Pythia each (default: all cores)")
        p.add_argument("--chunk", type=int, default=500,
                       help="jets/events per independently seeded Pythia run")
        p.add_argument("--shard", default=None, metavar="i/N",
                       help="make only shard i of N (chunks k with k %% N == i, same seeds); "
                            "`jetviz merge` joins the N files into the unsharded one")
        p.add_argument("--out", required=True, help="output HDF5 file")


def command_line(args: argparse.Namespace) -> str:
    """The canonical ``jetviz generate`` command that reproduces ``args``."""
    skip = {"command", "what", "no_p4"}
    parts = ["jetviz", "generate", args.what]
    for key, value in vars(args).items():
        if key in skip or value is None:
            continue
        flag = "--" + key.replace("_", "-")
        values = value if isinstance(value, list) else [value]
        parts += [flag, *(f"{v:g}" if isinstance(v, float) else str(v) for v in values)]
    if getattr(args, "no_p4", False):
        parts.append("--no-p4")
    return shlex.join(parts)


def _check(args: argparse.Namespace) -> Shard | None:
    """Refuse bad arguments; returns the shard to make."""
    from jetviz.errors import JetvizInputError

    count = args.per_class if args.what == "jets" else args.per_theory
    if count < 1 or args.chunk < 1 or args.workers < 1:
        raise JetvizInputError("counts, --chunk and --workers must be positive integers")
    if args.what == "jets" and not 1 <= args.particles <= MAX_PARTICLES:
        raise JetvizInputError(
            f"--particles {args.particles}: expected 1–{MAX_PARTICLES} constituents per jet")
    if args.what == "jets" and not 0 < args.pt_min < args.pt_max:
        raise JetvizInputError(f"--pt-min/--pt-max: need 0 < {args.pt_min} < {args.pt_max}")
    return shard_from_text(args.shard)


def _shard_attrs(shard: Shard | None, chunks: int, records: list[dict]) -> dict:
    """{"shard": …} for a shard file of a ``chunks``-chunk run, {} for an unsharded one."""
    return {} if shard is None else {SHARD_ATTR: shard_attr(shard, chunks, records)}


def run(args: argparse.Namespace) -> int:
    """Run ``jetviz generate jets|events`` and write the HDF5 file atomically."""
    from jetviz.errors import JetvizInputError
    from jetviz.readers.store import write_events, write_jets

    if args.what == "family":
        return _run_family(args)
    shard = _check(args)
    command = command_line(args)
    vers = versions()
    generator = f"Pythia {vers['pythia']} + FastJet {vers['fastjet']}"
    start = time.perf_counter()
    if args.what == "jets":
        config = JetConfig(n_particles=args.particles, pt_min=args.pt_min,
                           pt_max=args.pt_max, chunk=args.chunk,
                           pthat_min=min(JetConfig.pthat_min, args.pt_min - 50),
                           pthat_max=max(JetConfig.pthat_max, args.pt_max + 400))
        jetset, p4, records = generate_jets(args.classes, args.per_class, args.seed, config,
                                            args.workers, shard)
        stats = jet_stats(records)
        settings = {**asdict(config),
                    "pythia": {c: list(JET_PROCESSES[c]) for c in args.classes}}
        attrs = {"generator": generator, "versions": vers, "settings": settings,
                 "seed": args.seed, "command": command, "stats": stats,
                 "p4_stored": not args.no_p4,
                 **_shard_attrs(shard, chunk_count(len(args.classes), args.per_class,
                                                   args.chunk), records)}
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
        events, records = generate_events(theories, args.per_theory, args.seed, config,
                                          args.workers, shard)
        stats = event_stats(records)
        settings = {**asdict(config),
                    "pythia": {"susy": list(SUSY_PROCESS), **BACKGROUNDS}}
        attrs = {"generator": generator, "versions": vers, "settings": settings,
                 "seed": args.seed, "command": command, "stats": stats,
                 **_shard_attrs(shard, chunk_count(len(theories), args.per_theory,
                                                   args.chunk), records)}
        write_events(args.out, EventSet(events.features, events.theory, events.theories,
                                        args.out, attrs))
    print(f"wrote {args.out} in {time.perf_counter() - start:.0f} s: {json.dumps(stats)}")
    return 0


def scales_from_text(words: list[str]) -> dict[str, float]:
    """``["separation=90", "sharing=3"]`` → {"separation": 90.0, "sharing": 3.0} (GeV).

    Raises:
        JetvizInputError: a word is not NAME=NUMBER, a name is unknown or repeated, or the
            names are not the first k parameters; the values are checked by
            :func:`jetviz.simulation.jet_families.ranges_for_scales`.
    """
    from jetviz.errors import JetvizInputError

    scales: dict[str, float] = {}
    for word in words:
        name, sep, value = word.partition("=")
        try:
            number = float(value) if sep else None
        except ValueError:
            number = None
        if number is None:
            raise JetvizInputError(f"--scales {word!r}: expected NAME=GEV, e.g. separation=90")
        if name not in PARAMETERS:
            raise JetvizInputError(f"--scales: unknown parameter {name!r}; the parameters are "
                                   f"{', '.join(PARAMETERS)}")
        if name in scales:
            raise JetvizInputError(f"--scales: {name} is given twice")
        scales[name] = number
    first = PARAMETERS[:len(scales)]
    if set(scales) != set(first):
        raise JetvizInputError(f"--scales: a family of {len(scales)} parameter(s) sets "
                               f"{', '.join(first)}, got {', '.join(scales)}")
    return scales


def _run_family(args: argparse.Namespace) -> int:
    """``jetviz generate family``: draw the family and write it atomically."""
    import numpy as np

    from jetviz.errors import JetvizInputError
    from jetviz.readers.store import write_jets
    from jetviz.simulation.jet_families import family_jets

    if args.jets < 1:
        raise JetvizInputError(f"--jets {args.jets}: give a positive number of jets")
    scales = scales_from_text(args.scales)
    start = time.perf_counter()
    jets = family_jets(args.jets, scales, np.random.default_rng(args.seed))
    attrs = {**jets.attrs, "seed": args.seed, "command": command_line(args)}
    write_jets(args.out, JetSet(jets.particles, jets.mask, jets.jets, jets.labels,
                                jets.class_names, args.out, attrs, jets.radius))
    print(f"wrote {args.out} in {time.perf_counter() - start:.1f} s: {args.jets} jets of "
          f"{jets.n_particles} particles, scales {json.dumps(scales)} GeV")
    return 0
