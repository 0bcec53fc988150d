"""Streaming vs in-memory training: jets per second and peak memory of one epoch of the β-VAE
(``jetviz train``) and of a JetCLR encoder (``jetviz jetclr ablation``) on a jet file read chunk
by chunk (``--stream``) and loaded whole, in the same run.

    python benchmarks/streaming.py [--jets 100000] [--loss chamfer] [--trainers vae,jetclr]

The file is the embedded default file's real Pythia jets (50,000) repeated to ``--jets`` rows,
written to a temporary jetviz file. Each mode runs in its own fresh process (one torch
thread) so its peak resident memory (``ru_maxrss``) is its own: "in memory" loads the file and
prepares every jet before training (what the commands do without ``--stream``);
"streamed" reads ``--chunk-rows`` jets at a time, ``--buffer-chunks`` chunks shuffled
together, and prepares each batch as it trains. The rates are the epoch's jets per second
(the streamed one includes its reads and preparation, which the in-memory one did before the
epoch) and the whole command's (reading included); "CPU/jet" is the whole command's CPU time
per jet (user + system), which, unlike the rates, other jobs on a shared machine do not
change; "above start" is the peak minus the process's memory after its imports. A fast loss
(chamfer) makes the reader's share of the VAE's time as large as it gets; with the exact EMD
it is smaller still.

The flow prior (``--trainers prior``; ``jetviz gen prior``) is fitted at β = 10 GeV for
``--prior-epochs`` epochs to a β-VAE trained first for one epoch with ``jetviz train --stream``
on the file (chamfer loss), in memory (the VAE's training jets encoded once, then the epochs)
and streamed (every epoch encodes its batches as they are read, after one pass for the
standardisation and the pT quantiles), on a copy of the file in a seeded random order (held-out
data are whole chunks, and the default file is sorted by class); the rate is jets × epochs
per second of the whole fit, and the last line compares the two flows' NLL (nats per jet) of
the latents of the chunks the VAE held out, which neither fit saw.

JetCLR's epoch is one pass over the file's t, g, q jets (the ablation's classes; 60 % of the
rows) in steps of 256 with every augmentation, the encoder of ``--jetclr-kind`` (the
ablation's default width 64, 2 layers); streamed, the stream keeps those classes as it reads
(``JetStream(classes=...)``), as ``jetviz jetclr ablation --stream`` does.
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
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux


def _cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _child(trainer: str, mode: str, path: str, args: argparse.Namespace) -> None:
    import torch

    torch.set_num_threads(1)
    torch.optim.Adam([torch.zeros(1, requires_grad=True)])  # its lazy imports, before start
    if trainer == "jetclr":
        from jetviz.jetclr import train as jetclr_train  # noqa: F401  (imports before start)
    elif trainer == "prior":
        from jetviz.generation import prior_train  # noqa: F401
    else:
        from jetviz.vae import train as vae_train  # noqa: F401
    start_mb = _rss_mb()
    t0, cpu0 = time.perf_counter(), _cpu_s()
    result = {"jetclr": _jetclr, "prior": _prior, "vae": _vae}[trainer](mode, path, args)
    wall, cpu = time.perf_counter() - t0, _cpu_s() - cpu0
    print(json.dumps({**result, "overall": result["n_jets"] / wall, "peak_mb": _rss_mb(),
                      "start_mb": start_mb, "cpu_ms": 1000 * cpu / result["n_jets"]}))


def _vae(mode: str, path: str, args: argparse.Namespace) -> dict:
    from jetviz.readers import load_jets
    from jetviz.readers.stream import JetStream
    from jetviz.vae.model import VAEConfig
    from jetviz.vae.train import TrainConfig, train

    data = (JetStream(path, 256, chunk_rows=args.chunk_rows, buffer_chunks=args.buffer_chunks)
            if mode == "streamed" else load_jets(path, n_particles=30))
    _, record = train(VAEConfig(loss=args.loss), data,
                      TrainConfig(epochs=1, scan_points=0, patience=10**6), device="cpu")
    return {"rate": record["throughput"], "n_jets": record["n_train"] + record["n_val"]}


def _prior(mode: str, path: str, args: argparse.Namespace) -> dict:
    from jetviz.generation.prior_train import FitConfig, fit_generator_prior
    from jetviz.readers import load_jets
    from jetviz.readers.stream import JetStream

    t0 = time.perf_counter()
    jets = (JetStream(path, 1, chunk_rows=args.chunk_rows, buffer_chunks=args.buffer_chunks)
            if mode == "streamed" else load_jets(path, n_particles=30))
    record = fit_generator_prior(Path(path).parent / "vae", 10.0, Path(path).parent / mode,
                                 jets=jets, fit=FitConfig(epochs=args.prior_epochs),
                                 device="cpu")
    seconds = time.perf_counter() - t0
    return {"rate": record["n_jets"] * args.prior_epochs / seconds, "n_jets": record["n_jets"],
            "test_nll": _vae_held_out_nll(path, Path(path).parent / mode, args)}


def _vae_held_out_nll(path: str, gen_dir: Path, args: argparse.Namespace) -> float:
    """NLL (nats per jet) under the fitted flow of the latents (one seeded draw each) of the
    chunks the VAE held out: jets neither fit saw, the same for both modes."""
    import torch

    from jetviz.generation.checkpoint import FLOW_DIR, load_prior, load_vae
    from jetviz.generation.generators import encode_jets, prepared_truth
    from jetviz.readers.stream import JetStream, held_out_chunk_ids

    model, config, record = load_vae(gen_dir)
    prior = load_prior(gen_dir / FLOW_DIR)[0]
    stream = JetStream(path, 1, chunk_rows=args.chunk_rows)
    tc = record["train_config"]
    jets = stream.read_chunks(held_out_chunk_ids(stream.chunk_ids, tc["val_fraction"],
                                                 tc["seed"]))
    mu, logvar = encode_jets(model, *prepared_truth(jets, config.n_particles_in)[:2], 10.0)
    mu, sd = torch.from_numpy(mu), torch.from_numpy(logvar).mul(0.5).exp()
    z = mu + sd * torch.randn(mu.shape, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        return float(-prior.log_prob(z).mean())


def _streamed_vae(path: Path, args: argparse.Namespace) -> None:
    """One epoch of ``jetviz train --stream`` on the file: the VAE the prior is fitted to."""
    subprocess.run([sys.executable, "-m", "jetviz", "train", "--data", str(path), "--stream",
                    "--chunk-rows", str(args.chunk_rows), "--buffer-chunks",
                    str(args.buffer_chunks), "--loss", "chamfer", "--epochs", "1",
                    "--scan-points", "0", "--threads", "1", "--no-progress", "--out",
                    str(path.parent / "vae")], check=True, capture_output=True,
                   env={**os.environ, "PYTHONPATH": str(ROOT)})


def _jetclr(mode: str, path: str, args: argparse.Namespace) -> dict:
    import math

    import numpy as np

    from jetviz.jetclr.model import EncoderConfig
    from jetviz.jetclr.split import BACKGROUND, SIGNAL
    from jetviz.jetclr.train import TrainConfig, train, train_streamed
    from jetviz.readers import load_jets
    from jetviz.readers.stream import JetStream

    classes = SIGNAL + BACKGROUND
    config = TrainConfig(batch_size=256, encoder=EncoderConfig(kind=args.jetclr_kind))
    if mode == "streamed":
        stream = JetStream(path, 256, chunk_rows=args.chunk_rows,
                           buffer_chunks=args.buffer_chunks, classes=classes)
        n = len(stream)
        _, record = train_streamed(stream, replace(config, steps=math.ceil(n / 256)),
                                   device="cpu")
    else:
        jets = load_jets(path)
        jets = jets.subset(np.isin(jets.labels, [jets.class_names.index(c) for c in classes]))
        n = len(jets)
        _, record = train(jets.particles, jets.mask, replace(config, steps=math.ceil(n / 256)),
                          jet_pt=jets.jets[:, 0], device="cpu")
    return {"rate": math.ceil(n / 256) * 256 / record["seconds"], "n_jets": n}


def _file(path: Path, n: int, shuffle: bool = False) -> None:
    """The default file's jets repeated to n rows (in a seeded random order: ``shuffle``)."""
    import numpy as np

    from jetviz.paths import DEFAULT_JETS
    from jetviz.readers import load_jets
    from jetviz.readers.store import write_jets

    jets = load_jets(str(DEFAULT_JETS))
    rows = np.arange(n) % len(jets)
    write_jets(path, jets.subset(np.random.default_rng(0).permutation(rows) if shuffle else rows))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jets", type=int, default=100_000, help="rows of the file")
    parser.add_argument("--loss", default="chamfer", help="the VAE's reconstruction loss")
    parser.add_argument("--chunk-rows", type=int, default=8192)
    parser.add_argument("--buffer-chunks", type=int, default=4)
    parser.add_argument("--trainers", default="vae,jetclr",
                        help="comma-separated: vae, jetclr, prior")
    parser.add_argument("--prior-epochs", type=int, default=3, help="flow-prior epochs")
    parser.add_argument("--jetclr-kind", default="transformer",
                        choices=["transformer", "deepsets"], help="JetCLR's encoder")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)  # trainer, mode, path
    args = parser.parse_args()
    if args.child:
        _child(*args.child, args)
        return
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "jets.h5"
        _file(path, args.jets)
        print(f"{args.jets} jets ({path.stat().st_size / 1e6:.0f} MB on disk), VAE loss "
              f"{args.loss}, JetCLR {args.jetclr_kind}, chunks of {args.chunk_rows} × "
              f"{args.buffer_chunks} in the buffer")
        print(f"{'trainer':>7} {'mode':>10} {'jets':>7} {'epoch jets/s':>13} {'overall':>9} "
              f"{'CPU/jet':>9} {'peak RSS':>10} {'above start':>12} {'load':>5}")
        for trainer in args.trainers.split(","):
            data = path
            if trainer == "prior":  # whole held-out chunks: the file's rows shuffled first
                data = path.parent / "shuffled.h5"
                _file(data, args.jets, shuffle=True)
                _streamed_vae(data, args)
            out = {}
            for mode in ("in memory", "streamed"):
                done = subprocess.run(
                    [sys.executable, __file__, "--child", trainer, mode.split()[-1], str(data),
                     "--loss", args.loss, "--chunk-rows", str(args.chunk_rows),
                     "--buffer-chunks", str(args.buffer_chunks),
                     "--jetclr-kind", args.jetclr_kind, "--prior-epochs",
                     str(args.prior_epochs)],
                    capture_output=True, text=True, check=True,
                    env={**os.environ, "PYTHONPATH": str(ROOT)})
                r = out[mode] = json.loads(done.stdout.strip().splitlines()[-1])
                print(f"{trainer:>7} {mode:>10} {r['n_jets']:7d} {r['rate']:11.0f}/s "
                      f"{r['overall']:7.0f}/s {r['cpu_ms']:6.2f} ms {r['peak_mb']:7.0f} MB "
                      f"{r['peak_mb'] - r['start_mb']:9.0f} MB {os.getloadavg()[0]:5.1f}",
                      flush=True)
            a, b = out["in memory"], out["streamed"]
            print(f"{trainer}: streamed / in memory: epoch rate {b['rate'] / a['rate']:.2f}, "
                  f"overall {b['overall'] / a['overall']:.2f}, CPU per jet "
                  f"{b['cpu_ms'] / a['cpu_ms']:.2f}, peak RSS "
                  f"{b['peak_mb'] / a['peak_mb']:.2f}, above start "
                  f"{(b['peak_mb'] - b['start_mb']) / (a['peak_mb'] - a['start_mb']):.2f}",
                  flush=True)
            if trainer == "prior":
                print(f"prior: NLL of the VAE's held-out jets streamed {b['test_nll']:.3f} vs "
                      f"in memory {a['test_nll']:.3f} nats per jet ({args.prior_epochs} "
                      "epochs)", flush=True)


if __name__ == "__main__":
    main()
