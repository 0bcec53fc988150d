"""Real boosted jets and BSM events from Pythia 8 + FastJet, in parallel and reproducibly.

The physics of one run (processes, cuts, truth matching, event features) is in
``jetviz.simulation.pythia``; this module splits the work into seeded chunks, spreads them over
worker processes and gathers a JetSet (jetviz.jets) or an EventSet (jetviz.events). The
``jetviz generate`` command (jetviz.cli.generate) writes them to HDF5.

Determinism and parallelism
---------------------------
Work is split into fixed chunks (``chunk`` jets or events); chunk k of item i runs its own
Pythia seeded from SeedSequence((seed, kind, i, k)), and results are concatenated in chunk
order, so the output depends on the seed and chunk size but not on the number of workers.
"""

from __future__ import annotations

import multiprocessing
import signal
from collections.abc import Sequence

import numpy as np

from jetviz.events import EventSet, Theory
from jetviz.jets import JetSet
from jetviz.physics import particles_from_p4s
from jetviz.simulation.pythia import (
    EventConfig,
    JetConfig,
    event_chunk,
    jet_chunk,
)


def chunk_seed(seed: int, kind: int, item: int, chunk: int) -> int:
    """A Pythia seed in [1, 900,000,000] for one chunk, derived from the user's seed."""
    state = np.random.SeedSequence([seed, kind, item, chunk]).generate_state(1)[0]
    return int(state % 900_000_000) + 1




# ---------------------------------------------------------------------------------------------
# Fixed chunks spread over worker processes


def chunk_sizes(total: int, chunk: int) -> list[int]:
    """The sizes of the fixed chunks that make up ``total`` items (the last may be smaller)."""
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


def _chunk_tasks(function, items: Sequence, per_item: int, seed: int, kind: int,
                 config: JetConfig | EventConfig) -> tuple[list[tuple], list[int]]:
    """run_chunks tasks making ``per_item`` of each item in seeded chunks, and each one's item."""
    tasks, owners = [], []
    for i, item in enumerate(items):
        for k, size in enumerate(chunk_sizes(per_item, config.chunk)):
            tasks.append((function, (item, size, chunk_seed(seed, kind, i, k), config), size))
            owners.append(i)
    return tasks, owners


def generate_jets(classes: Sequence[str], per_class: int, seed: int, config: JetConfig,
                  workers: int = 1) -> tuple[JetSet, np.ndarray, dict]:
    """Generate ``per_class`` jets of each class.

    Returns:
        the JetSet (labels index ``classes``), the constituents' four-vectors (N, P, 4) and
        per-class statistics (events, seconds, jets/s, jets per event).
    """
    tasks, owners = _chunk_tasks(jet_chunk, classes, per_class, seed, 0, config)
    results = run_chunks(tasks, workers, "jets", "jet")
    p4 = np.concatenate([r["p4"] for r in results]).astype(np.float32)
    mask = np.concatenate([r["mask"] for r in results])
    jets = np.concatenate([r["jets"] for r in results])
    labels = np.repeat(np.arange(len(classes)), [per_class] * len(classes))
    particles = particles_from_p4s(p4.astype(np.float64), jets[:, 0], jets[:, 1], jets[:, 2],
                                   mask)
    stats = {}
    for c, name in enumerate(classes):
        mine = [r for r, o in zip(results, owners, strict=True) if o == c]  # c's chunks
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
    tasks, owners = _chunk_tasks(event_chunk, theories, per_theory, seed, 1, config)
    results = run_chunks(tasks, workers, "events", "event")
    features = np.concatenate([r["features"] for r in results]).astype(np.float32)
    theory = np.repeat(np.arange(len(theories)), [per_theory] * len(theories))
    stats = {}
    for t, th in enumerate(theories):
        seconds = sum(r["seconds"] for r, o in zip(results, owners, strict=True) if o == t)
        stats[th.name] = {"seconds": round(seconds, 2),
                          "events_per_second": round(per_theory / seconds, 1)}
    return EventSet(features, theory, tuple(theories), source="jetviz generate"), stats
