"""``jetviz jetclr ablation|probe``: the JetCLR augmentation ablation (one encoder per
augmentation set, the supervised ceiling, the shipped encoder and its map), and refitting
the linear probes of a finished ablation."""

from __future__ import annotations

import argparse
import shlex
import sys

from jetviz.cli import add_chunk_options
from jetviz.device import is_writer, resolve_device
from jetviz.errors import JetvizInputError
from jetviz.jetclr.ablation import reprobe, run_ablation
from jetviz.jetclr.augment import ABLATION_SETS
from jetviz.jetclr.model import EncoderConfig
from jetviz.jetclr.report import format_table
from jetviz.jetclr.train import SUPERVISED, TrainConfig
from jetviz.paths import CHECKPOINTS, DEFAULT_JETS
from jetviz.readers.stream import JetStream


def configure(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``jetviz jetclr``."""
    sub = parser.add_subparsers(dest="action", required=True)
    ab = sub.add_parser("ablation", help="train one encoder per augmentation set + the "
                        "supervised ceiling; write ablation.json, the shipped encoder and map")
    ab.add_argument("--jets", default=None, help="jet file (default: the embedded default)")
    ab.add_argument("--out", default=None, help="output directory (default: checkpoints/jetclr)")
    ab.add_argument("--steps", type=int, default=600, help="contrastive steps per encoder")
    ab.add_argument("--supervised-steps", type=int, default=600, help="steps of the ceiling")
    ab.add_argument("--batch-size", type=int, default=256, help="jets per step")
    ab.add_argument("--lr", type=float, default=1e-3, help="Adam learning rate")
    ab.add_argument("--temperature", type=float, default=0.1, help="NT-Xent τ")
    ab.add_argument("--kind", choices=["transformer", "deepsets"], default="transformer",
                    help="encoder architecture")
    ab.add_argument("--width", type=int, default=64, help="per-particle width")
    ab.add_argument("--layers", type=int, default=2, help="blocks / per-particle layers")
    ab.add_argument("--rep-dim", type=int, default=128, help="representation size")
    ab.add_argument("--pair-bias", action="store_true",
                    help="transformer: attention bias from pairwise ΔR, kT, z, m²")
    ab.add_argument("--max-per-class", type=int, default=None, help="jets per class t, g, q")
    ab.add_argument("--seed", type=int, default=0, help="training seed")
    ab.add_argument("--split-seed", type=int, default=0, help="train/test split seed")
    ab.add_argument("--parallel", type=int, default=1, help="trainings at once (1 thread each)")
    ab.add_argument("--only", nargs="+", default=None,
                    choices=[*ABLATION_SETS, SUPERVISED], help="run only these entries")
    ab.add_argument("--device", default=None,
                    help="cpu, cuda or cuda:N (default: CUDA when present; under torchrun "
                         "each process takes cuda:LOCAL_RANK)")
    ab.add_argument("--map-per-class", type=int, default=600, help="jets per class on the map")
    ab.add_argument("--stream", action="store_true",
                    help="read the jet file chunk by chunk instead of loading it (a file "
                         "larger than memory: a jetviz jet file or a JetClass ROOT file with "
                         "t, g, q classes); 20%% of its chunks are held out whole for the "
                         "probe and the test; no map is made")
    add_chunk_options(ab)
    ab.add_argument("--resume", action="store_true",
                    help="continue each entry interrupted mid-training from <out>/<entry>/last "
                         "(saved every 50 steps; the same settings, more --steps allowed)")
    rp = sub.add_parser("probe", help="refit the linear probes of an ablation's stored encoders "
                        "(no retraining) and update its table")
    rp.add_argument("--jets", default=None, help="jet file (default: the embedded default)")
    rp.add_argument("--out", default=None, help="ablation directory (default: checkpoints/jetclr)")


def run(args: argparse.Namespace) -> int:
    """Run ``jetviz jetclr ablation`` or ``jetviz jetclr probe``."""
    jets_path = str(args.jets or DEFAULT_JETS)
    out = str(args.out or CHECKPOINTS / "jetclr")
    command = "jetviz " + shlex.join(sys.argv[1:]) if sys.argv[1:2] == ["jetclr"] else ""
    if args.action == "probe":
        print(format_table(reprobe(jets_path, out, command)))
        return 0
    device = str(resolve_device(args.device))
    stream = None
    if args.stream:
        if args.max_per_class is not None:
            raise JetvizInputError("--stream trains on every t, g, q jet of the file; it does "
                                   "not combine with --max-per-class")
        stream = JetStream(jets_path, args.batch_size, args.split_seed, args.chunk_rows,
                           args.buffer_chunks)
    base = TrainConfig(
        steps=args.steps, batch_size=args.batch_size, lr=args.lr,
        temperature=args.temperature, seed=args.seed,
        encoder=EncoderConfig(kind=args.kind, width=args.width, layers=args.layers,
                              rep_dim=args.rep_dim, pair_bias=args.pair_bias))
    table = run_ablation(jets_path, out, base, args.supervised_steps, args.split_seed,
                         args.max_per_class, args.parallel, args.only, args.map_per_class,
                         command, device=device, resume=args.resume, stream=stream)
    if is_writer():
        print(format_table(table))
    return 0
