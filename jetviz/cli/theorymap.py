"""``jetviz theorymap train|report``: train the theory-map encoders and compute their maps, or
print the accuracy table of a trained directory."""

from __future__ import annotations

import argparse
import shlex

import torch

from jetviz.cli import add_chunk_options
from jetviz.device import is_writer, resolve_device
from jetviz.paths import CHECKPOINTS, DEFAULT_EVENTS
from jetviz.readers.store import read_events
from jetviz.theorymap.checkpoint import load_summary
from jetviz.theorymap.model import METHODS, EncoderConfig
from jetviz.theorymap.train import TrainConfig, format_table, run_training


def configure(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``jetviz theorymap``."""
    sub = parser.add_subparsers(dest="action", required=True)
    tr = sub.add_parser("train", help="train the encoders, evaluate them, store models and maps")
    tr.add_argument("--events", default=str(DEFAULT_EVENTS), help="jetviz events file")
    tr.add_argument("--set-sizes", type=int, nargs="+", default=[1, 16, 64],
                    help="events per set N, one model per method and N")
    tr.add_argument("--methods", nargs="+", default=list(METHODS), choices=METHODS)
    tr.add_argument("--out", default=str(CHECKPOINTS / "theorymap"), help="output directory")
    tr.add_argument("--steps", type=int, default=TrainConfig.steps, help="optimiser steps")
    tr.add_argument("--latent", type=int, default=EncoderConfig.latent, help="latent dimension")
    tr.add_argument("--margin", type=float, default=TrainConfig.margin,
                    help="contrastive margin m")
    tr.add_argument("--seed", type=int, default=0, help="split, unphysical sample and training")
    tr.add_argument("--resume", action="store_true",
                    help="continue each encoder interrupted mid-training from <out>/<method>_n<N>"
                         "/last (kept every 100 steps; the same settings, more --steps allowed)")
    tr.add_argument("--threads", type=int, default=1,
                    help="torch threads (1 leaves the other core to the rest of the machine)")
    tr.add_argument("--device", default=None,
                    help="cpu, cuda or cuda:N (default: CUDA when present; under torchrun "
                         "each process takes cuda:LOCAL_RANK)")
    tr.add_argument("--stream", action="store_true",
                    help="read the event file chunk by chunk, one stream per theory, never whole "
                         "(a file larger than memory trains; see jetviz/theorymap/stream.py)")
    add_chunk_options(tr)
    rep = sub.add_parser("report", help="print the accuracy table of a trained directory")
    rep.add_argument("--dir", default=str(CHECKPOINTS / "theorymap"))


def run(args: argparse.Namespace) -> int:
    """Run ``jetviz theorymap train`` or ``jetviz theorymap report``."""
    if args.action == "report":
        summary = load_summary(args.dir)
        print(format_table(summary["table"], summary["set_sizes"]))
        return 0
    torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    streamed = (["--stream", "--chunk-rows", str(args.chunk_rows), "--buffer-chunks",
                 str(args.buffer_chunks)] if args.stream else [])
    if args.stream:
        from jetviz.theorymap.stream import StreamedTheories

        events = StreamedTheories(args.events, args.seed, chunk_rows=args.chunk_rows,
                                  buffer_chunks=args.buffer_chunks)
    else:
        events = read_events(args.events)
    command = shlex.join(["jetviz", "theorymap", "train", "--events", args.events,
                          "--set-sizes", *map(str, args.set_sizes), "--methods", *args.methods,
                          "--out", args.out, "--steps", str(args.steps), "--latent",
                          str(args.latent), "--margin", f"{args.margin:g}", "--seed",
                          str(args.seed), *streamed])
    summary = run_training(events, args.out, args.set_sizes, args.methods,
                           EncoderConfig(latent=args.latent),
                           TrainConfig(steps=args.steps, margin=args.margin, seed=args.seed),
                           command=command, device=device, resume=args.resume)
    if not is_writer():
        return 0
    print(format_table(summary["table"], summary["set_sizes"]))
    print(f"total {summary['total_seconds']} s; wrote {args.out}")
    return 0
