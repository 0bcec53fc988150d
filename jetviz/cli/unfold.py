"""``jetviz unfold generate|train|posterior``: paired ZW events, the cINN, its posteriors.

  generate   Pythia 8 + FastJet pp → ZW → (ℓℓ)(qq̄′) paired with a parametric detector
             (jetviz.unfolding.simulation); HDF5 written atomically with the command.
  train      the conditional INN (jetviz.unfolding.flow) by maximum likelihood on the
             training part of a file; safetensors + config.json; --resume continues.
  posterior  posterior summaries of the test sample (PIT values, a few samples per event,
             IBU results) for the page and the benchmark (jetviz.unfolding.summary).
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import time

from jetviz.cli import add_chunk_options


def _command(argv_tail: list[str]) -> str:
    return shlex.join(["jetviz", "unfold", *argv_tail])


def canonical_command(args: argparse.Namespace) -> str:
    """The ``jetviz unfold ...`` command that reproduces ``args`` (flags in definition order)."""
    parts = [args.action]
    for key, value in vars(args).items():
        if key in {"command", "action", "func"} or value is None or value is False:
            continue
        if key in {"chunk_rows", "buffer_chunks"} and not args.stream:
            continue  # streaming's options, without effect on an in-memory run
        flag = "--" + key.replace("_", "-")
        if value is True:
            parts.append(flag)
            continue
        values = value if isinstance(value, list) else [value]
        parts += [flag, *(f"{v:g}" if isinstance(v, float) else str(v) for v in values)]
    return _command(parts)


def configure(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``jetviz unfold``."""
    from jetviz.unfolding.flow import CINNConfig
    from jetviz.unfolding.training import SELECT, TrainConfig

    sub = parser.add_subparsers(dest="action", required=True)
    gen = sub.add_parser("generate", help="paired parton/detector pp → ZW events")
    gen.add_argument("--events", type=int, default=20_000, help="kept (paired) events")
    gen.add_argument("--seed", type=int, default=1, help="master seed (fixes the result)")
    gen.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                     help="worker processes, one Pythia each (default: all cores)")
    gen.add_argument("--chunk", type=int, default=1000,
                     help="events per independently seeded Pythia run")
    gen.add_argument("--mpi", action="store_true",
                     help="multiparton interactions on (≈ 10× slower)")
    gen.add_argument("--extend", default=None,
                     help="an earlier file of this command with the same --seed/--chunk: "
                          "keep its events and generate only the rest")
    gen.add_argument("--shard", default=None, metavar="i/N",
                     help="make only shard i of N (chunks k with k %% N == i, same seeds); "
                          "`jetviz merge` joins the N files into the unsharded one")
    gen.add_argument("--out", required=True, help="output HDF5 file")

    tr = sub.add_parser("train", help="train the conditional INN on a paired file")
    tr.add_argument("--data", required=True, help="file from `jetviz unfold generate`")
    tr.add_argument("--out", required=True, help="checkpoint directory")
    tr.add_argument("--n-test", type=int, default=TrainConfig.n_test,
                    help="last events of the file held out as the test sample")
    tr.add_argument("--epochs", type=int, default=TrainConfig.epochs)
    tr.add_argument("--batch-size", type=int, default=TrainConfig.batch_size)
    tr.add_argument("--lr", type=float, default=TrainConfig.lr)
    tr.add_argument("--max-minutes", type=float, default=TrainConfig.max_minutes,
                    help="stop after this many minutes of training")
    tr.add_argument("--transforms", type=int, default=None,
                    help=f"spline transforms (default {CINNConfig.transforms})")
    tr.add_argument("--hidden", type=int, default=None,
                    help=f"width of each transform's hidden layers (default {CINNConfig.hidden})")
    tr.add_argument("--context", type=int, default=None,
                    help="size of the summary network's output")
    tr.add_argument("--weight-decay", type=float, default=TrainConfig.weight_decay,
                    help="AdamW's decoupled weight decay")
    tr.add_argument("--dropout", type=float, default=None,
                    help="dropout after each hidden layer of the summary network (default 0)")
    tr.add_argument("--select", choices=SELECT, default=TrainConfig.select,
                    help="keep the epoch whose unfolded marginals on the validation events are "
                         "best (w1: worst W1 / truth-vs-truth over observables and cuts, "
                         "relative to the goal) or the lowest validation NLL (nll)")
    tr.add_argument("--seed", type=int, default=TrainConfig.seed)
    tr.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    tr.add_argument("--resume", action="store_true", help="continue from --out's last state")
    tr.add_argument("--init", default=None,
                    help="start from this cINN checkpoint (same file and --n-test; its sizes "
                         "and dropout, so no --transforms/--hidden/--context/--dropout); kept "
                         "as epoch 0 if no epoch beats it")
    tr.add_argument("--device", default=None,
                    help="cpu, cuda or cuda:N (default: CUDA when present; under torchrun "
                         "each process takes cuda:LOCAL_RANK)")
    tr.add_argument("--no-progress", action="store_true", help="no progress bar")
    tr.add_argument("--stream", action="store_true",
                    help="read the file chunk by chunk, never whole (a file larger than memory "
                         "trains; the same split; see jetviz/unfolding/stream.py)")
    add_chunk_options(tr)

    po = sub.add_parser("posterior", help="posterior summaries of the test sample")
    po.add_argument("--data", required=True, help="file from `jetviz unfold generate`")
    po.add_argument("--model", required=True, help="checkpoint directory of the cINN")
    po.add_argument("--events", type=int, default=None,
                    help="summarise only the first EVENTS test events (default: all)")
    po.add_argument("--samples", type=int, default=1000, help="posterior samples per event")
    po.add_argument("--keep", type=int, default=8, help="samples per event stored")
    po.add_argument("--seed", type=int, default=1)
    po.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    po.add_argument("--out", required=True, help="output HDF5 file")


def run(args: argparse.Namespace) -> int:

    command = canonical_command(args)
    start = time.perf_counter()
    if args.action == "generate":
        _generate(args, command)
    elif args.action == "train":
        _train(args, command)
    else:
        _posterior(args, command)
    if os.environ.get("RANK", "0") == "0":  # torchrun: rank 0 reports
        print(f"done in {time.perf_counter() - start:.0f} s")
    return 0


def _generate(args: argparse.Namespace, command: str) -> None:
    from jetviz.simulation.shards import shard_from_text
    from jetviz.unfolding.generation import generate_file
    from jetviz.unfolding.simulation import UnfoldingConfig

    fresh = canonical_command(argparse.Namespace(**{**vars(args), "extend": None}))
    pairs = generate_file(args.out, args.events, args.seed,
                          UnfoldingConfig(chunk=args.chunk, mpi=args.mpi),
                          workers=args.workers, command=command, extend=args.extend,
                          fresh_command=fresh, shard=shard_from_text(args.shard))
    print(f"wrote {args.out}: {json.dumps(pairs.attrs['stats'])}")


def _train(args: argparse.Namespace, command: str) -> None:
    import torch

    from jetviz.device import is_writer, resolve_device
    from jetviz.errors import JetvizInputError
    from jetviz.unfolding.data import read_pairs
    from jetviz.unfolding.flow import CINNConfig
    from jetviz.unfolding.training import TrainConfig, train_cinn

    torch.set_num_threads(max(1, args.threads))
    device = resolve_device(args.device)
    config = TrainConfig(n_test=args.n_test, epochs=args.epochs, batch_size=args.batch_size,
                         lr=args.lr, max_minutes=args.max_minutes, seed=args.seed,
                         weight_decay=args.weight_decay, select=args.select)
    flags = {"transforms": "--transforms", "hidden": "--hidden", "context": "--context",
             "summary_dropout": "--dropout"}  # CINNConfig field → flag
    given = {key: getattr(args, flag[2:]) for key, flag in flags.items()
             if getattr(args, flag[2:]) is not None}
    if args.init is not None and given:
        raise JetvizInputError(f"--init {args.init} fixes the model's sizes; drop "
                               f"{', '.join(flags[key] for key in given)}")
    model_config = CINNConfig(**given)
    if args.stream:
        from jetviz.unfolding.stream import StreamedEvents

        events = StreamedEvents(args.data, config.n_test, config.val_fraction,
                                config.batch_size, config.seed, config.val_samples,
                                args.chunk_rows, args.buffer_chunks)
    else:
        events = read_pairs(args.data)
    record = train_cinn(events, args.out, config, model_config, command,
                        resume=args.resume, progress=not args.no_progress, device=device,
                        init=args.init)
    if is_writer():
        score = record.get("best_val_w1_score")
        print(f"best epoch {record['best_epoch']}: validation NLL {record['best_val_nll']:.4f}"
              + ("" if score is None else f", worst W1 ratio / goal {score:.3f}"))


def _posterior(args: argparse.Namespace, command: str) -> None:
    import torch

    from jetviz.unfolding.summary import summarise_file

    torch.set_num_threads(max(1, args.threads))
    n, seconds = summarise_file(args.data, args.model, args.out, args.samples, args.keep,
                                args.seed, n_events=args.events, command=command)
    print(f"wrote {args.out}: {n} events × {args.samples} samples in {seconds:.0f} s")
