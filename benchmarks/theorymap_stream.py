"""The theory map's events streamed (``jetviz theorymap train --stream``) vs loaded whole, on
the shipped event file, in the same run: the split, the scaler, the rows held in memory, the
data preparation's time and the KDE accuracy of a short contrastive training on each.

    python benchmarks/theorymap_stream.py [--events checkpoints/events_default.h5]
        [--chunk-rows 512] [--buffer-chunks 2] [--steps 300] [--set-size 16]

"default chunks" streams with the default chunking (8,192 rows: every theory of the shipped
file, 2,000 events, fits one chunk, so the split must be the in-memory one exactly);
"small chunks" cuts every theory into chunks of ``--chunk-rows`` so the split holds out whole
chunks and the batches come from buffers of ``--buffer-chunks`` chunks. "scaler Δ" is the
largest difference from the in-memory fit on the same training rows (``Scaler.fit``), in
units of the scale; "held rows" are the rows of the file in memory at once during training
(in memory: every training and test event; streamed: one buffer per theory, the bounded
training samples and the capped test sets). Accuracy: ``jetviz.theorymap.kde.evaluate`` on
each mode's held-out sets after ``--steps`` steps (one torch thread, seed 0).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from jetviz.paths import DEFAULT_EVENTS  # noqa: E402
from jetviz.readers.store import read_events  # noqa: E402
from jetviz.theorymap.features import Scaler  # noqa: E402
from jetviz.theorymap.kde import evaluate  # noqa: E402
from jetviz.theorymap.model import EncoderConfig  # noqa: E402
from jetviz.theorymap.sets import prepare_data  # noqa: E402
from jetviz.theorymap.stream import StreamedTheories  # noqa: E402
from jetviz.theorymap.train import TrainConfig, train_encoder  # noqa: E402


def _scaler_delta(stream: StreamedTheories, features: np.ndarray) -> float:
    rows = np.concatenate([stream.file_rows(t, 0) for t in range(len(stream.train_rows) - 1)])
    fit = Scaler.fit(features[rows].astype(np.float64))
    got = stream.data.scaler
    return float(max(np.max(np.abs(np.subtract(got.mean, fit.mean)) / fit.std),
                     np.max(np.abs(np.subtract(got.std, fit.std)) / fit.std)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", default=str(DEFAULT_EVENTS))
    parser.add_argument("--chunk-rows", type=int, default=512)
    parser.add_argument("--buffer-chunks", type=int, default=2)
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--set-size", type=int, default=16)
    args = parser.parse_args()
    torch.set_num_threads(1)
    t0 = time.perf_counter()
    events = read_events(args.events)
    memory = prepare_data(events, seed=0)
    prepare = {"in memory": time.perf_counter() - t0}
    modes = {"in memory": None}
    for mode, kwargs in (("default chunks", {}),
                         ("small chunks", {"chunk_rows": args.chunk_rows,
                                           "buffer_chunks": args.buffer_chunks})):
        t0 = time.perf_counter()
        modes[mode] = StreamedTheories(args.events, seed=0, **kwargs)
        prepare[mode] = time.perf_counter() - t0
    same = modes["default chunks"].data
    identical = all(np.array_equal(a, b) for field in ("train_raw", "test_raw", "train_index")
                    for a, b in zip(getattr(same, field), getattr(memory, field), strict=True))
    print(f"{args.events}: {len(events.features)} events, {len(memory.theories)} theories "
          f"(with the unphysical sample); default chunks give the in-memory split: {identical}")
    encoder = EncoderConfig(set_size=args.set_size)
    config = TrainConfig(steps=args.steps, seed=0)
    print(f"{'mode':<16}{'train rows':>11}{'held rows':>11}{'scaler Δ':>10}{'prepare s':>11}"
          f"{'train s':>9}{'accuracy':>10}{'unphys.':>9}")
    for mode, stream in modes.items():
        data = memory if stream is None else stream.data
        t0 = time.perf_counter()
        model, _ = train_encoder(data, encoder, config, device="cpu", stream=stream)
        seconds = time.perf_counter() - t0
        scores = evaluate(model, data, args.set_size, seed=0)
        if stream is None:
            train_rows = sum(len(a) for a in memory.train_raw)
            held = train_rows + sum(len(a) for a in memory.test_raw)
            delta = float("nan")  # the reference itself
        else:
            train_rows = sum(stream.train_rows)
            held = (len(stream.train_rows) * stream.peak_rows
                    + sum(len(a) for a in (*stream.data.train_raw, *stream.data.test_raw)))
            delta = _scaler_delta(stream, events.features)
        delta_text = "—" if np.isnan(delta) else f"{delta:.1e}"
        print(f"{mode:<16}{train_rows:>11}{held:>11}{delta_text:>10}{prepare[mode]:>11.2f}"
              f"{seconds:>9.1f}{scores['accuracy']:>10.3f}{scores['unphysical_self']:>9.3f}")


if __name__ == "__main__":
    main()
