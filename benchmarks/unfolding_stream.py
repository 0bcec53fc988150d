"""The unfolding cINN's data streamed (``jetviz unfold train --stream``) vs loaded whole, on
the shipped paired file, in the same run: the standardisation, the shipped cINN's epoch score
(:class:`jetviz.unfolding.selection.MarginalScore`), peak memory and time of the data
preparation and of one epoch of batches (no training step: the data side only).

    python benchmarks/unfolding_stream.py [--data checkpoints/unfolding/zw_events.h5]
        [--model checkpoints/unfolding/cinn] [--chunk-rows 8192] [--buffer-chunks 4]

Each mode runs in its own fresh process (one torch thread), so its peak resident memory
(``ru_maxrss``, printed above the process's memory after its imports) is its own: "in memory"
reads the file and computes every event's model inputs (what ``jetviz unfold train`` does);
"streamed" reads the validation rows, makes one pass over the training rows for the moments
and the reference sample, then reads the epoch's buffers; "streamed, 20k ref." keeps a
seeded 20,000-event reference sample instead of every training event, to show what the bound
costs the epoch score; "in memory, seed 2" draws the score's posterior noise and
truth-vs-truth events with another seed: the score's own spread, to compare that cost with.
"data MB" is the peak after the preparation and the epoch's reads, "peak MB" after the score
as well (its posterior sampling of the validation events, the same in every mode). The
split is the shipped cINN's (``--n-test`` from its record).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

MODES = {"in memory": (None, 1), "streamed": (200_000, 1), "streamed, 20k ref.": (20_000, 1),
         "in memory, seed 2": (None, 2)}  # mode → (reference rows (None: whole), seed)


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _child(mode: str, args: argparse.Namespace) -> None:
    import torch

    from jetviz.unfolding.checkpoint import load_cinn
    from jetviz.unfolding.data import read_pairs
    from jetviz.unfolding.flow import CINNConfig, ConditionalINN
    from jetviz.unfolding.stream import StreamedEvents
    from jetviz.unfolding.training import InMemoryEvents, TrainConfig

    torch.set_num_threads(1)
    model, record = load_cinn(args.model)
    model.eval()
    reference_rows, seed = MODES[mode]
    config = TrainConfig(n_test=record["n_test"], batch_size=1024, seed=seed)
    base = _rss_mb()
    start = time.perf_counter()
    if reference_rows is None:
        data = InMemoryEvents(read_pairs(args.data), config)
    else:
        data = StreamedEvents(args.data, config.n_test, config.val_fraction, config.batch_size,
                              config.seed, config.val_samples, args.chunk_rows,
                              args.buffer_chunks, reference_rows=reference_rows)
    prepared = time.perf_counter() - start
    start = time.perf_counter()
    rows = sum(len(xb) for xb, _ in data.batches(0))
    epoch = time.perf_counter() - start
    data_mb = _rss_mb() - base
    fresh = ConditionalINN(CINNConfig(**{**model.config.__dict__}))
    data.standardise(fresh)
    score, _ = data.score(model)
    print(json.dumps({
        "rows": rows, "n_train": data.n_train, "n_val": data.n_val,
        "loc": {k: getattr(fresh, k).tolist() for k in ("x_loc", "y_loc")},
        "scale": {k: getattr(fresh, k).tolist() for k in ("x_scale", "y_scale")},
        "score": score, "prepare_s": prepared, "epoch_s": epoch,
        "peak_mb": _rss_mb() - base, "data_mb": data_mb,
        "peak_rows": getattr(data, "peak_rows", data.n_train),
        "reference": len(data.score.reference.truth["m_ll"])}))


def main() -> None:
    import numpy as np

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(ROOT / "checkpoints/unfolding/zw_events.h5"))
    parser.add_argument("--model", default=str(ROOT / "checkpoints/unfolding/cinn"))
    parser.add_argument("--chunk-rows", type=int, default=8192)
    parser.add_argument("--buffer-chunks", type=int, default=4)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(args.child, args)
        return
    results = {}
    for mode in MODES:
        out = subprocess.run([sys.executable, __file__, "--child", mode, "--data", args.data,
                              "--model", args.model, "--chunk-rows", str(args.chunk_rows),
                              "--buffer-chunks", str(args.buffer_chunks)],
                             check=True, capture_output=True, text=True).stdout
        results[mode] = json.loads(out.strip().splitlines()[-1])
    memory = results["in memory"]
    print(f"{args.data}: {memory['n_train']} training, {memory['n_val']} validation events; "
          f"chunks of {args.chunk_rows}, {args.buffer_chunks} per buffer")
    print(f"{'mode':<20}{'epoch rows':>11}{'rows held':>10}{'ref.':>8}{'prepare s':>10}"
          f"{'epoch s':>9}{'data MB':>9}{'peak MB':>9}{'score':>9}")
    for mode, r in results.items():
        print(f"{mode:<20}{r['rows']:>11}{r['peak_rows']:>10}{r['reference']:>8}"
              f"{r['prepare_s']:>10.2f}{r['epoch_s']:>9.2f}{r['data_mb']:>9.0f}{r['peak_mb']:>9.0f}"
              f"{r['score']:>9.4f}")
    streamed = results["streamed"]
    for key in ("loc", "scale"):
        diff = max(float(np.max(np.abs(np.subtract(streamed[key][k], memory[key][k]))
                                / np.asarray(memory["scale"][k.replace("loc", "scale")])))
                   for k in streamed[key])
        print(f"max |streamed − in memory| {key} / in-memory scale: {diff:.2e}")
    print(f"data memory streamed / in memory: {streamed['data_mb'] / memory['data_mb']:.2f}; "
          f"peak (with the score) {streamed['peak_mb'] / memory['peak_mb']:.2f}")
    print(f"epoch score − in memory's: streamed {streamed['score'] - memory['score']:+.2e}, "
          f"20k reference {results['streamed, 20k ref.']['score'] - memory['score']:+.3f}, "
          f"in memory with seed 2 {results['in memory, seed 2']['score'] - memory['score']:+.3f}"
          " (the score's own draw-to-draw spread)")


if __name__ == "__main__":
    main()
