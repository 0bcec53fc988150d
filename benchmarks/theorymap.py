"""Theory-map benchmark: the KDE accuracy table of the shipped encoders, re-measured on the
held-out events, and the time to project 1,000 new events onto a stored map.

    python benchmarks/theorymap.py [--dir checkpoints/theorymap] [--events FILE] [--repeats 20]

Prints (1) accuracy per method × set size and the unphysical sample's self-assignment, with
the talk's anchors and the goals; (2) the median time to project 1,000 events (standardise →
sets of N → encode → k-NN map) after warm-up, with its ratio to the 1 s goal, next to what
the alternative costs in the same run: refitting UMAP on the stored latent vectors.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from functools import partial
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from jetviz.paths import CHECKPOINTS, ROOT
from jetviz.readers.store import read_events
from jetviz.theorymap.checkpoint import load_map, load_model, load_scaler, load_summary
from jetviz.theorymap.kde import evaluate
from jetviz.theorymap.maps import MapProjector, fit_umap, project_events
from jetviz.theorymap.sets import prepare_data
from jetviz.theorymap.train import format_table

GOAL_SECONDS = 1.0
N_PROJECTED = 1000


def _median_seconds(fn, repeats: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", default=str(CHECKPOINTS / "theorymap"))
    parser.add_argument("--events", default=None,
                        help="event file (default: the one the models were trained on)")
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    torch.set_num_threads(1)

    summary = load_summary(args.dir)
    path = Path(args.events or summary["events"])
    if not path.exists() and (ROOT / path).exists():
        path = ROOT / path  # the summary records the path relative to the repository
    events = read_events(path)
    data = prepare_data(events, seed=summary["seed"], test_fraction=summary["test_fraction"])
    sizes, methods = summary["set_sizes"], summary["methods"]
    print(f"events: {events.source} ({len(events):,} events, {len(data.theories)} theories "
          f"with the unphysical sample; chance = {1 / len(data.theories):.3f})")

    table: dict[str, dict[str, dict]] = {m: {} for m in methods}
    for n in sizes:
        for method in methods:
            model, _ = load_model(args.dir, method, n)
            table[method][str(n)] = evaluate(model, data, n, seed=summary["seed"])
    print(format_table(table, sizes))
    print("talk 003 anchors: Neural Embedding ≈ 0.43 (single events), ≈ 0.70 (sets)")
    shipped = max(sizes)
    c = table.get("contrastive", {})
    if c:
        print(f"goals: contrastive N={shipped} ≥ 0.90 → {c[str(shipped)]['accuracy']:.3f}; "
              f"contrastive N=1 > 0.43 → {c.get('1', {}).get('accuracy', float('nan')):.3f}; "
              f"unphysical → self ≥ 0.99 at N={shipped} → "
              f"{c[str(shipped)]['unphysical_self']:.3f}")
    print("mass-plane Spearman ρ (latent SUSY centroid distances vs mass-plane distances):")
    for method in methods:
        print(f"{method:>18} " + " ".join(
            f"N={n}: {table[method][str(n)]['mass_plane_spearman']:.2f}" for n in sizes))

    # ---- projection of 1,000 new events onto the stored contrastive maps
    rng = np.random.default_rng(0)
    new = events.subset(rng.choice(len(events), N_PROJECTED, replace=False))
    method = "contrastive" if "contrastive" in methods else methods[0]
    print(f"\nprojecting {N_PROJECTED:,} events onto the stored {method} map "
          f"(median of {args.repeats}, after warm-up):")
    for n in sizes:
        model, meta = load_model(args.dir, method, n)
        scaler = load_scaler(meta)
        tmap = load_map(args.dir, method, n)
        projector = MapProjector(tmap)
        t = _median_seconds(partial(project_events, model, projector, scaler, new,
                                    np.random.default_rng(0)), args.repeats)
        t_refit = _median_seconds(partial(fit_umap, tmap.latent, 0), 1)
        print(f"  N={n:<3} {t * 1e3:8.1f} ms  = {t / GOAL_SECONDS:.4f} × the 1 s goal; "
              f"refitting UMAP on the map's {len(tmap.latent):,} points instead: "
              f"{t_refit:.1f} s ({t_refit / t:,.0f}× slower)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
