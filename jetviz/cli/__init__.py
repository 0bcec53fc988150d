"""The ``jetviz`` command. Each subcommand lives in its own module, which defines
``configure(parser)`` (its arguments) and ``run(args) -> int``; modules are imported only
when their subcommand runs, so ``jetviz --help`` stays fast."""

from __future__ import annotations

import argparse
import importlib
import sys

SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "generate": ("jetviz.simulation.generate", "make jets or BSM events with Pythia 8 + FastJet"),
    "train": ("jetviz.vae.train", "train a (β-conditioned) VAE on jets"),
    "theorymap": (
        "jetviz.theorymap.encoders", "train the theory-map encoders and compute their maps"),
    "jetclr": (
        "jetviz.jetclr.train", "JetCLR: contrastive jet encoders, augmentation ablation, probe"),
    "gen": (
        "jetviz.generation.generators",
        "fit a flow prior to a VAE's aggregate posterior (generators)"),
    "anomaly": ("jetviz.anomaly.cli", "anomaly taggers: train an AE / normalized AE, score jets"),
    "slider-emd": ("jetviz.vae.slider_emd", "store exact reconstruction EMDs for the β slider"),
    "unfold": ("jetviz.unfolding.cli", "unfolding: paired ZW events, the cINN, posteriors"),
}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(prog="jetviz", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    chosen = argv[0] if argv and argv[0] in SUBCOMMANDS else None
    modules = {}
    for name, (module_name, help_text) in SUBCOMMANDS.items():
        p = sub.add_parser(name, help=help_text)
        if name == chosen:
            modules[name] = importlib.import_module(module_name)
            modules[name].configure(p)
    args = parser.parse_args(argv)
    return int(modules[args.command].run(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
