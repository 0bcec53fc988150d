"""Streaming vs in-memory β-VAE training: jets per second and peak memory of one epoch of
``jetviz train`` on a jet file read chunk by chunk (``--stream``) and loaded whole.

    python benchmarks/streaming.py [--jets 100000] [--loss chamfer]

The file is the embedded default file's real Pythia jets (50,000) repeated to ``--jets`` rows,
written to a temporary jetviz file. Each mode runs in its own fresh process (one torch
thread) so its peak resident memory (``ru_maxrss``) is its own: "in memory" loads the file and
prepares every jet before training (what ``jetviz train`` does without ``--stream``);
"streamed" reads ``--chunk-rows`` jets at a time, ``--buffer-chunks`` chunks shuffled
together, and prepares each batch as it trains. The rates are the epoch's jets per second
(the streamed one includes its reads and preparation, which the in-memory one did before the
epoch) and the whole command's (reading included); "above start" is the peak minus the
process's memory after its imports. A fast loss (chamfer) makes the reader's share of the
time as large as it gets; with the exact EMD it is smaller still.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux


def _child(mode: str, path: str, loss: str, chunk_rows: int, buffer_chunks: int) -> None:
    import torch

    from jetviz.readers import load_jets
    from jetviz.readers.stream import JetStream
    from jetviz.vae.model import VAEConfig
    from jetviz.vae.train import TrainConfig, train

    torch.set_num_threads(1)
    torch.optim.Adam([torch.zeros(1, requires_grad=True)])  # its lazy imports, before start
    start_mb = _rss_mb()
    t0 = time.perf_counter()
    data = (JetStream(path, 256, chunk_rows=chunk_rows, buffer_chunks=buffer_chunks)
            if mode == "streamed" else load_jets(path, n_particles=30))
    _, record = train(VAEConfig(loss=loss), data,
                      TrainConfig(epochs=1, scan_points=0, patience=10**6), device="cpu")
    wall = time.perf_counter() - t0
    print(json.dumps({"rate": record["throughput"],
                      "overall": (record["n_train"] + record["n_val"]) / wall,
                      "peak_mb": _rss_mb(), "start_mb": start_mb}))


def _file(path: Path, n: int) -> None:
    import numpy as np

    from jetviz.paths import DEFAULT_JETS
    from jetviz.readers import load_jets
    from jetviz.readers.store import write_jets

    jets = load_jets(str(DEFAULT_JETS))
    write_jets(path, jets.subset(np.arange(n) % len(jets)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jets", type=int, default=100_000, help="rows of the file")
    parser.add_argument("--loss", default="chamfer", help="the VAE's reconstruction loss")
    parser.add_argument("--chunk-rows", type=int, default=8192)
    parser.add_argument("--buffer-chunks", type=int, default=4)
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)  # mode, path
    args = parser.parse_args()
    if args.child:
        _child(*args.child, args.loss, args.chunk_rows, args.buffer_chunks)
        return
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "jets.h5"
        _file(path, args.jets)
        print(f"{args.jets} jets ({path.stat().st_size / 1e6:.0f} MB on disk), loss "
              f"{args.loss}, chunks of {args.chunk_rows} × {args.buffer_chunks} in the buffer")
        print(f"{'mode':>10} {'epoch jets/s':>13} {'overall':>9} {'peak RSS':>10} "
              f"{'above start':>12} {'load':>5}")
        out = {}
        for mode in ("in memory", "streamed"):
            done = subprocess.run(
                [sys.executable, __file__, "--child", mode.split()[-1], str(path),
                 "--loss", args.loss, "--chunk-rows", str(args.chunk_rows),
                 "--buffer-chunks", str(args.buffer_chunks)],
                capture_output=True, text=True, check=True, env={**os.environ,
                                                                 "PYTHONPATH": str(ROOT)})
            r = out[mode] = json.loads(done.stdout.strip().splitlines()[-1])
            print(f"{mode:>10} {r['rate']:11.0f}/s {r['overall']:7.0f}/s "
                  f"{r['peak_mb']:7.0f} MB {r['peak_mb'] - r['start_mb']:9.0f} MB "
                  f"{os.getloadavg()[0]:5.1f}", flush=True)
        a, b = out["in memory"], out["streamed"]
        print(f"streamed / in memory: epoch rate {b['rate'] / a['rate']:.2f}, overall "
              f"{b['overall'] / a['overall']:.2f}, peak RSS {b['peak_mb'] / a['peak_mb']:.2f}, "
              f"above start {(b['peak_mb'] - b['start_mb']) / (a['peak_mb'] - a['start_mb']):.2f}")


if __name__ == "__main__":
    main()
