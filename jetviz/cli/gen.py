"""``jetviz gen prior|mmd``: make generators — fit a flow prior to a VAE's aggregate posterior
(:mod:`jetviz.generation.prior_train`), or fine-tune a generator's decoder with the mass MMD
(:mod:`jetviz.generation.mass_mmd`)."""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path

import torch

from jetviz.cli import add_chunk_options
from jetviz.device import is_writer, resolve_device
from jetviz.errors import JetvizInputError
from jetviz.generation.checkpoint import load_vae
from jetviz.generation.mass_mmd import KERNELS, MmdConfig, tune_with_mass_mmd
from jetviz.generation.mmd_data import MASS_SAMPLE
from jetviz.generation.prior import FlowPriorConfig
from jetviz.generation.prior_train import FitConfig, fit_generator_prior
from jetviz.jets import JetSet
from jetviz.readers.stream import JetStream


def configure(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``jetviz gen``."""
    sub = parser.add_subparsers(dest="gen_command", required=True)
    p = sub.add_parser("prior", help="fit a normalizing-flow prior to a VAE's aggregate "
                                     "posterior at one β (makes a Gaussian and a flow generator)")
    p.add_argument("--vae", required=True, help="VAE checkpoint directory (from jetviz train)")
    p.add_argument("--beta", type=float, required=True,
                   help="β [GeV] to generate at (a conditioned VAE: any β in its range)")
    p.add_argument("--out", required=True,
                   help="generator directory; the prior goes to <out>/flow (checkpoints/gen_*/ "
                        "are listed by the app)")
    p.add_argument("--data", default=None,
                   help="jet file (default: the embedded checkpoints/jets_default.h5)")
    p.add_argument("--classes", default=None,
                   help="comma-separated classes (default: those the VAE was trained on)")
    _stream_options(p, "every epoch walks the VAE's training chunks, encoding each batch; "
                       f"{100 * FitConfig.val_fraction:.0f}%% of them are held out whole for "
                       "validation")
    p.add_argument("--kind", choices=["nsf", "maf"], default="nsf")
    p.add_argument("--transforms", type=int, default=FlowPriorConfig.transforms)
    p.add_argument("--passes", type=int, default=None,
                   help="sequential passes per transform when sampling (default: one per latent "
                        "dimension, autoregressive; 2: coupling, much faster sampling)")
    p.add_argument("--hidden", type=int, default=FlowPriorConfig.hidden)
    p.add_argument("--joint-pt", action="store_true",
                   help="fit the flow to (z, log jet pT) jointly, so the flow generator draws "
                        "each jet's pT with its shape (keeps a resonance's mass sharp in GeV); "
                        "default: pT drawn from the training pT distribution, independent of z")
    p.add_argument("--epochs", type=int, default=FitConfig.epochs)
    p.add_argument("--lr", type=float, default=FitConfig.lr)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--resume", action="store_true",
                   help="continue an interrupted fit from <out>/flow/last (kept after every "
                        "epoch; the same settings, more --epochs allowed)")
    p.add_argument("--threads", type=int, default=0,
                   help="torch CPU threads (0: torch's default); 1 lets runs share the cores")
    p.add_argument("--device", default=None,
                   help="cpu, cuda or cuda:N (default: CUDA when present; under torchrun "
                        "each process takes cuda:LOCAL_RANK)")
    q = sub.add_parser("mmd", help="fine-tune a generator's decoder with an MMD term on the "
                                   "jet mass (talk 004); writes a new generator directory")
    q.add_argument("--gen", required=True, help="generator directory with a flow prior "
                                                "(e.g. checkpoints/gen_w_emd)")
    q.add_argument("--out", required=True, help="new generator directory (checkpoints/gen_*)")
    q.add_argument("--data", default=None, help="jet file (default: the embedded one)")
    _stream_options(q, "the reconstruction batches walk the VAE's training chunks, each "
                       f"jet once per pass; the real masses are a seeded sample of "
                       f"{MASS_SAMPLE:,} training jets' (all of them when fewer)")
    q.add_argument("--weight", type=float, default=MmdConfig.weight, help="λ of the MMD² term")
    q.add_argument("--steps", type=int, default=MmdConfig.steps, help="optimizer steps")
    q.add_argument("--lr", type=float, default=MmdConfig.lr, help="Adam learning rate")
    q.add_argument("--seed", type=int, default=0)
    q.add_argument("--resume", action="store_true",
                   help="continue an interrupted run from <out>/last (kept every 50 steps; "
                        "the same settings, more --steps allowed)")
    q.add_argument("--kernel-widths", type=float, nargs="+", default=list(MmdConfig.kernel_widths),
                   help="σ of the Gaussian kernels of the MMD, in units of the jet pT (wider ones "
                        "see the high-mass tail)")
    q.add_argument("--kernel", choices=list(KERNELS), default=MmdConfig.kernel,
                   help="gaussian: a sum of Gaussians of --kernel-widths; energy: the energy "
                        "distance (kernel −|a − b|, no width; pushes the high-mass tail too)")
    q.add_argument("--mmd-batch", type=int, default=MmdConfig.mmd_batch,
                   help="generated and real masses per MMD² estimate (0: the batch of 256)")
    q.add_argument("--lr-final", type=float, default=MmdConfig.lr_final_fraction,
                   help="cosine decay of the learning rate to this fraction of --lr at the last "
                        "step (1: constant)")
    q.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: default)")
    q.add_argument("--device", default=None,
                   help="cpu, cuda or cuda:N (default: CUDA when present; under torchrun "
                        "each process takes cuda:LOCAL_RANK)")


def _stream_options(parser: argparse.ArgumentParser, what: str) -> None:
    """``--stream`` and its chunking, for a VAE trained with ``jetviz train --stream``."""
    parser.add_argument("--stream", action="store_true",
                        help="read the jet file chunk by chunk instead of loading it (a file "
                             "larger than memory; the VAE must have been trained with "
                             f"--stream on it, with the same --chunk-rows): {what}")
    add_chunk_options(parser)


def _jets(args: argparse.Namespace, path: str, n_particles: int | None = None
          ) -> JetSet | JetStream:
    """The jet file in memory, or (``--stream``) as a stream read chunk by chunk."""
    if args.stream:
        return JetStream(path, 1, args.seed, args.chunk_rows, args.buffer_chunks)
    from jetviz.readers import load_jets

    return load_jets(path, n_particles=n_particles)


def _mmd(args: argparse.Namespace, path: str, command: str, device: torch.device) -> int:
    jets = _jets(args, path)  # prepared_truth keeps the VAE's hardest P particles

    def report(step: int, means: dict) -> None:
        print(f"[mmd] step {step:5d}  " + "  ".join(f"{k} {v:.4g}" for k, v in means.items()),
              flush=True)

    record = tune_with_mass_mmd(
        args.gen, args.out, jets=jets, provenance={"command": command},
        config=MmdConfig(weight=args.weight, steps=args.steps, lr=args.lr, seed=args.seed,
                         kernel_widths=tuple(args.kernel_widths), mmd_batch=args.mmd_batch,
                         lr_final_fraction=args.lr_final, kernel=args.kernel),
        progress=report, device=device, resume=args.resume)
    if is_writer():
        print(json.dumps({"out": args.out, "seconds": record["mass_mmd"]["seconds"]}))
    return 0


def _prior(args: argparse.Namespace, path: str, command: str, device: torch.device) -> int:
    jets = _jets(args, path, n_particles=load_vae(args.vae)[1].n_particles_in)
    classes = [c.strip() for c in args.classes.split(",")] if args.classes else None
    record = fit_generator_prior(
        args.vae, args.beta, args.out, jets=jets, classes=classes,
        flow_config={"kind": args.kind, "transforms": args.transforms,
                     "hidden": args.hidden, "passes": args.passes, "joint_pt": args.joint_pt},
        fit=FitConfig(epochs=args.epochs, lr=args.lr, seed=args.seed),
        provenance={"command": command}, device=device, resume=args.resume)
    if not is_writer():
        return 0
    print(json.dumps({"out": args.out, "epochs": len(record["history"]),
                      "best_val_nll": record["best_val_nll"],
                      "val_nll_gaussian": record["val_nll_gaussian"],
                      "n_jets": record["n_jets"]}, indent=1))
    return 0


def run(args: argparse.Namespace) -> int:
    """``jetviz gen prior`` (fit, save, print a summary) or ``jetviz gen mmd``."""
    from jetviz.paths import DEFAULT_JETS

    if args.threads > 0:
        torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    path = args.data or str(DEFAULT_JETS)
    if not Path(path).is_file():
        raise JetvizInputError(f"{path}: no such jet file; pass --data")
    command = "jetviz gen " + " ".join(shlex.quote(a) for a in sys.argv[2:])
    action = _mmd if args.gen_command == "mmd" else _prior
    return action(args, path, command, device)
