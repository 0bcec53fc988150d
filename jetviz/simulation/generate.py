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
A ``shard`` (jetviz.simulation.shards) runs only its share of the chunks, with the same seeds,
so N shard files merge into the unsharded file.

Each run also returns one record per chunk it ran ({chunk, item, rows, events, seconds};
``chunk`` numbers the chunks of the whole run in file order); ``jet_stats`` and
``event_stats`` turn records into the file's ``stats`` attribute.
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
from jetviz.simulation.shards import Shard, owned


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


def _chunk_tasks(function, items: Sequence, names: Sequence[str], per_item: int, seed: int,
                 kind: int, config: JetConfig | EventConfig,
                 shard: Shard | None) -> tuple[list[tuple], list[dict]]:
    """run_chunks tasks for ``shard``'s chunks of ``per_item`` of each item, and their records
    (chunk number, item name, rows) to which the results add events and seconds."""
    tasks, records = [], []
    sizes = chunk_sizes(per_item, config.chunk)
    for number in owned(shard, len(items) * len(sizes)):
        i, k = divmod(number, len(sizes))  # chunk k of item i
        tasks.append((function, (items[i], sizes[k], chunk_seed(seed, kind, i, k), config),
                      sizes[k]))
        records.append({"chunk": number, "item": names[i], "rows": sizes[k]})
    return tasks, records


def chunk_count(n_items: int, per_item: int, chunk: int) -> int:
    """The number of chunks of a run of ``per_item`` rows of each of ``n_items`` items."""
    return n_items * len(chunk_sizes(per_item, chunk))


def _owners(records: Sequence[dict], per_item: int, config: JetConfig | EventConfig
            ) -> np.ndarray:
    """The item index of every row the chunks of ``records`` make."""
    per_chunk = len(chunk_sizes(per_item, config.chunk))
    return np.repeat([r["chunk"] // per_chunk for r in records], [r["rows"] for r in records])


def _run(tasks: list[tuple], records: list[dict], workers: int, shard: Shard | None,
         unit: str) -> list[dict]:
    desc = f"{unit}s" if shard is None else f"{unit}s, shard {shard}"
    results = run_chunks(tasks, workers, desc, unit)
    for record, result in zip(records, results, strict=True):
        record.update(events=int(result["events"]), seconds=float(result["seconds"]))
    return results


def _by_item(records: Sequence[dict]) -> dict[str, tuple[int, int, float]]:
    """item → (rows, events, seconds) summed over its chunks, items in first-seen order."""
    out: dict[str, tuple[int, int, float]] = {}
    for r in records:
        rows, events, seconds = out.get(r["item"], (0, 0, 0.0))
        out[r["item"]] = (rows + r["rows"], events + r["events"], seconds + r["seconds"])
    return out


def jet_stats(records: Sequence[dict]) -> dict:
    """Per class: Pythia events, seconds, jets per second and jets per event."""
    return {name: {"events": events, "seconds": round(seconds, 2),
                   "jets_per_second": round(rows / seconds, 1),
                   "jets_per_event": round(rows / events, 3)}
            for name, (rows, events, seconds) in _by_item(records).items()}


def event_stats(records: Sequence[dict]) -> dict:
    """Per theory: seconds and events per second."""
    return {name: {"seconds": round(seconds, 2), "events_per_second": round(rows / seconds, 1)}
            for name, (rows, _, seconds) in _by_item(records).items()}


def generate_jets(classes: Sequence[str], per_class: int, seed: int, config: JetConfig,
                  workers: int = 1, shard: Shard | None = None
                  ) -> tuple[JetSet, np.ndarray, list[dict]]:
    """Generate ``per_class`` jets of each class (only ``shard``'s chunks of them).

    Returns:
        the JetSet (labels index ``classes``), the constituents' four-vectors (N, P, 4) and
        the chunk records (``jet_stats`` makes statistics of them).
    """
    tasks, records = _chunk_tasks(jet_chunk, classes, classes, per_class, seed, 0, config,
                                  shard)
    results = _run(tasks, records, workers, shard, "jet")
    p4 = np.concatenate([r["p4"] for r in results]).astype(np.float32)
    mask = np.concatenate([r["mask"] for r in results])
    jets = np.concatenate([r["jets"] for r in results])
    labels = _owners(records, per_class, config)
    particles = particles_from_p4s(p4.astype(np.float64), jets[:, 0], jets[:, 1], jets[:, 2],
                                   mask)
    jetset = JetSet(particles.astype(np.float32), mask, jets.astype(np.float32), labels,
                    tuple(classes), source="jetviz generate", radius=config.radius)
    return jetset, p4, records


def susy_grid(gluinos: Sequence[float], neutralinos: Sequence[float]) -> list[Theory]:
    """SUSY theories for every kinematically open (m_g̃, m_χ̃) pair, in grid order."""
    return [Theory(f"gluino{mg:g}_neutralino{mn:g}", "susy", float(mg), float(mn))
            for mg in gluinos for mn in neutralinos if mn < mg]


def generate_events(theories: Sequence[Theory], per_theory: int, seed: int,
                    config: EventConfig, workers: int = 1,
                    shard: Shard | None = None) -> tuple[EventSet, list[dict]]:
    """Generate ``per_theory`` events of each theory (only ``shard``'s chunks of them).

    Returns:
        the EventSet and the chunk records (``event_stats`` makes statistics of them).
    """
    names = [t.name for t in theories]
    tasks, records = _chunk_tasks(event_chunk, theories, names, per_theory, seed, 1, config,
                                  shard)
    results = _run(tasks, records, workers, shard, "event")
    features = np.concatenate([r["features"] for r in results]).astype(np.float32)
    theory = _owners(records, per_theory, config)
    return EventSet(features, theory, tuple(theories), source="jetviz generate"), records
