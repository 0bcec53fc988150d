"""The ``jetviz`` command. Each subcommand lives in its own module, which defines
``configure(parser)`` (its arguments) and ``run(args) -> int``; modules are imported only
when their subcommand runs, so ``jetviz --help`` stays fast."""

from __future__ import annotations

import argparse
import importlib
import sys

from jetviz.errors import JetvizInputError

SUBCOMMANDS: dict[str, str] = {  # name → help; the module is jetviz.cli.<name with _ for ->
    "generate": "Pythia 8 jets or BSM events, or a jet family of set EMD scales",
    "merge": "join the shard files of a --shard i/N run into one file",
    "train": "train a (β-conditioned) VAE on jets",
    "slider-emd": "store exact reconstruction EMDs for the β slider",
    "gen": "fit a flow prior to a VAE's aggregate posterior (generators)",
    "theorymap": "train the theory-map encoders and compute their maps",
    "jetclr": "JetCLR: contrastive jet encoders, augmentation ablation, probe",
    "anomaly": "anomaly taggers: train an AE / normalized AE, score jets",
    "unfold": "unfolding: paired ZW events, the cINN, posteriors",
    "checkpoints": "list every checkpoint; convert old-layout ones",
}


def add_chunk_options(group) -> None:
    """The ``--chunk-rows`` and ``--buffer-chunks`` options of every ``--stream`` trainer."""
    from jetviz.readers.stream import BUFFER_CHUNKS, CHUNK_ROWS

    group.add_argument("--chunk-rows", type=int, default=CHUNK_ROWS,
                       help="--stream: jets per read")
    group.add_argument("--buffer-chunks", type=int, default=BUFFER_CHUNKS,
                       help="--stream: chunks shuffled together (at most this × --chunk-rows "
                            "jets of the file in memory)")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(prog="jetviz", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    chosen = argv[0] if argv and argv[0] in SUBCOMMANDS else None
    modules = {}
    for name, help_text in SUBCOMMANDS.items():
        p = sub.add_parser(name, help=help_text)
        if name == chosen:
            modules[name] = importlib.import_module(f"jetviz.cli.{name.replace('-', '_')}")
            modules[name].configure(p)
    args = parser.parse_args(argv)
    try:
        return int(modules[args.command].run(args) or 0)
    except JetvizInputError as err:  # bad input: say what and how to fix it, no traceback
        print(f"jetviz {args.command}: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"\njetviz {args.command}: interrupted (every file is written whole or not at "
              "all)", file=sys.stderr)
        return 130
    finally:
        if "torch.distributed" in sys.modules:  # a torchrun process leaves its group
            from jetviz.device import shutdown_distributed

            shutdown_distributed()


if __name__ == "__main__":
    sys.exit(main())
