"""``jetviz slider-emd``: store the exact reconstruction EMDs of the β page's jet sample at
every β of a model's scan, beside the model (:mod:`jetviz.vae.slider_emd`)."""

from __future__ import annotations

import argparse
import json
import shlex
import time
from pathlib import Path

import numpy as np

from jetviz.errors import JetvizInputError
from jetviz.readers import MAX_JETS_DEFAULT
from jetviz.vae.slider_emd import FILE_NAME, store_for_data


def configure(parser: argparse.ArgumentParser) -> None:
    parser.description = ("Store the exact reconstruction EMD of the β page's jet sample at "
                          "every β of a model's scan, beside the model (slider_emd.safetensors).")
    parser.add_argument("--model", required=True, help="checkpoint directory (e.g. "
                        "checkpoints/vae_w)")
    parser.add_argument("--jets", default=None, help="jet file the page uses (default: the "
                        "embedded default sample)")
    parser.add_argument("--class", dest="class_name", default=None,
                        help="class of the sample (default: the model's class if it was "
                        "trained on one, else all classes — the page's default)")
    parser.add_argument("--threads", type=int, default=2, help="CPU threads for the EMDs")


def _command_line(args: argparse.Namespace) -> str:
    """The command that reproduces ``args`` (stored with the grid)."""
    return " ".join(["jetviz slider-emd --model", shlex.quote(str(args.model))]
                    + (["--jets", shlex.quote(args.jets)] if args.jets else [])
                    + (["--class", args.class_name] if args.class_name else [])
                    + ["--threads", str(args.threads)])


def run(args: argparse.Namespace) -> int:
    import torch

    from jetviz.paths import DEFAULT_JETS
    from jetviz.readers import load_jets
    from jetviz.vae.checkpoint import load_checkpoint

    torch.set_num_threads(1)
    model, config, record = load_checkpoint(args.model)
    if config.data != "jets":
        raise JetvizInputError(f"{args.model}: a toy model's distance is Euclidean, computed "
                               "exactly on every slider move; nothing to store")
    path = args.jets or str(DEFAULT_JETS)
    jets = load_jets(path, max_jets=MAX_JETS_DEFAULT)  # the app reads as many
    t0 = time.perf_counter()
    grid = store_for_data(args.model, model, record, jets, Path(path).name, _command_line(args),
                          args.threads, args.class_name)
    print(json.dumps({"file": str(Path(args.model) / FILE_NAME), "betas": len(grid.betas),
                      "jets": grid.emd.shape[1], "seconds": round(time.perf_counter() - t0, 1),
                      "median_emd_gev": float(np.median(grid.emd))}))
    return 0
