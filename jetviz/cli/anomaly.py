"""``jetviz anomaly``: train the AE / NAE anomaly taggers and score jets with them.

    python -m jetviz anomaly train --background qcd --method ae --out checkpoints/anomaly/ae_qcd
    python -m jetviz anomaly train --background qcd --method nae \\
        --init checkpoints/anomaly/ae_qcd --out checkpoints/anomaly/nae_qcd
    python -m jetviz anomaly score --model checkpoints/anomaly/ae_qcd
"""

from __future__ import annotations

import argparse
import shlex
import sys

from jetviz.cli import add_chunk_options
from jetviz.readers.stream import JetStream


def configure(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="anomaly_command", required=True)
    t = sub.add_parser("train", help="train an AE or NAE on background jet images")
    t.add_argument("--background", choices=["qcd", "top"], default="qcd",
                   help="classes trained on: qcd = gluon + light quark, top = top")
    t.add_argument("--method", choices=["ae", "nae"], default="ae",
                   help="ae: reconstruction loss only; nae: AE phase then the NAE phase")
    t.add_argument("--jets", default=None, help="jet file (default: the embedded default)")
    t.add_argument("--out", required=True, help="checkpoint directory to write")
    t.add_argument("--stream", action="store_true",
                   help="read the jet file chunk by chunk instead of loading it (a file larger "
                        "than memory: a jetviz jet file or a JetClass ROOT file); 20%% of its "
                        "chunks are held out whole and scored (per class: --n-val validation "
                        "jets, --n-select selection jets, the rest tested); the model trains on "
                        "every background jet of the other chunks (--n-train is not used)")
    add_chunk_options(t)
    t.add_argument("--init", default=None,
                   help="start the NAE phase from this AE checkpoint (skips the AE phase)")
    t.add_argument("--resume", action="store_true", help="continue from OUT/last")
    t.add_argument("--n-train", type=int, default=7000, help="jets per background class "
                   "that may be trained on (file order); the rest are held out")
    t.add_argument("--n-val", type=int, default=500, help="of the training jets, kept aside "
                   "to monitor the validation energy")
    t.add_argument("--ae-epochs", type=int, default=20,
                   help="AE-phase epochs (with --resume: the new total)")
    t.add_argument("--batch-size", type=int, default=128, help="images per step")
    t.add_argument("--lr", type=float, default=1e-3, help="AE learning rate")
    t.add_argument("--nae-steps", type=int, default=400,
                   help="NAE-phase steps (with --resume: the new total)")
    t.add_argument("--nae-lr", type=float, default=1e-4, help="NAE learning rate")
    t.add_argument("--negatives", type=int, default=64, help="negative samples per NAE step")
    t.add_argument("--z-steps", type=int, default=20, help="latent Langevin steps")
    t.add_argument("--x-steps", type=int, default=20, help="pixel Langevin steps")
    t.add_argument("--z-step-size", type=float, default=10.0, help="latent step size λ_z")
    t.add_argument("--x-step-size", type=float, default=10.0, help="pixel step size λ_x")
    t.add_argument("--z-noise", type=float, default=0.02, help="latent noise σ_z")
    t.add_argument("--x-noise", type=float, default=1e-4, help="pixel noise σ_x")
    t.add_argument("--x-normalise", action="store_true",
                   help="divide pixel-chain images by their sum after every step (negatives "
                        "are then pT-normalised like the data)")
    t.add_argument("--gamma", type=float, default=1.0, help="weight of ⟨E²⟩ of negatives")
    t.add_argument("--latent-dim", type=int, default=3, help="bottleneck dimensions")
    t.add_argument("--smooth", type=float, default=0.0,
                   help="Gaussian blur of the jet images, σ in pixels (0: none, the shipped "
                        "models); the paper's code blurs with σ = 1 (models named gf1_…)")
    t.add_argument("--flip", choices=("half-plane", "moment"), default="half-plane",
                   help="flip rule of the jet images' frame (jetviz.physics.frame): half-plane "
                        "(harder side positive, the jet-image convention) or moment")
    t.add_argument("--no-spectral-norm", action="store_true",
                   help="train without spectral normalisation")
    t.add_argument("--monitor-every", type=int, default=0, help="every this many NAE steps, "
                   "measure the AUC on the selection jets and keep the best step (0: keep "
                   "the last step)")
    t.add_argument("--n-select", type=int, default=1000, help="jets per class after the "
                   "training jets used to choose the NAE step; the test jets come after")
    t.add_argument("--seed", type=int, default=1, help="seed of every random draw")
    t.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    t.add_argument("--device", default=None,
                   help="cpu, cuda or cuda:N (default: CUDA when present; under torchrun "
                        "each process takes cuda:LOCAL_RANK)")
    t.add_argument("--max-minutes", type=float, default=None,
                   help="stop and save after this many minutes")
    t.add_argument("--no-progress", action="store_true", help="print nothing while training")
    s = sub.add_parser("score", help="AUC table of a model on held-out jets")
    s.add_argument("--model", required=True, help="checkpoint directory")
    s.add_argument("--jets", default=None, help="jet file (default: the embedded default)")


def _path(path: str | None) -> str:
    from jetviz.paths import DEFAULT_JETS

    return str(path or DEFAULT_JETS)


def _jets(path: str | None):
    from jetviz.readers import load_jets

    return load_jets(_path(path))


def run(args: argparse.Namespace) -> int:
    import torch

    argv = sys.argv[1:]
    args.ae_epochs_given = "--ae-epochs" in argv
    args.nae_steps_given = "--nae-steps" in argv


    if getattr(args, "threads", None):
        torch.set_num_threads(args.threads)
    if args.anomaly_command == "train":
        return _train(args)
    return _score(args)


def _train(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from jetviz.anomaly.model import AEConfig
    from jetviz.anomaly.nae import SamplerConfig
    from jetviz.anomaly.train import TrainConfig, stored_config, train
    from jetviz.device import resolve_device

    device = resolve_device(args.device)
    sampler = SamplerConfig(z_steps=args.z_steps, x_steps=args.x_steps,
                            z_step_size=args.z_step_size, x_step_size=args.x_step_size,
                            z_noise=args.z_noise, x_noise=args.x_noise,
                            x_normalise=args.x_normalise)
    cfg = TrainConfig(background=args.background, method=args.method, n_train=args.n_train,
                      n_val=args.n_val,
                      ae_epochs=args.ae_epochs, batch_size=args.batch_size, lr=args.lr,
                      nae_steps=args.nae_steps, nae_lr=args.nae_lr, negatives=args.negatives,
                      gamma=args.gamma, sampler=sampler, seed=args.seed,
                      max_minutes=args.max_minutes, init=args.init,
                      monitor_every=args.monitor_every, n_select=args.n_select)
    if args.resume:  # the stored run's settings; only the schedule comes from this command
        stored = stored_config(args.out)
        given = {"ae_epochs": args.ae_epochs_given, "nae_steps": args.nae_steps_given}
        cfg = replace(stored, max_minutes=args.max_minutes,
                      **{k: getattr(cfg, k) for k, v in given.items() if v})
    model_config = AEConfig(latent_dim=args.latent_dim,
                            spectral_norm=not args.no_spectral_norm, flip=args.flip,
                            smooth=args.smooth)
    command = "jetviz anomaly " + " ".join(shlex.quote(a) for a in sys.argv[2:]) \
        if len(sys.argv) > 2 and sys.argv[1] == "anomaly" else "jetviz anomaly train (API)"
    torch_seed(args.seed)
    data = _jets(args.jets) if not args.stream else JetStream(
        _path(args.jets), cfg.batch_size, cfg.seed, args.chunk_rows, args.buffer_chunks)
    train(data, args.out, cfg, model_config, resume=args.resume, command=command,
          progress=not args.no_progress, device=device)
    return 0


def torch_seed(seed: int) -> None:
    """Seed torch's global generator too: it draws the initial weights."""
    import torch

    torch.manual_seed(seed)


def _score(args: argparse.Namespace) -> int:
    from jetviz.anomaly.batches import streamed_scored
    from jetviz.anomaly.checkpoint import load
    from jetviz.anomaly.evaluate import score_checkpoint

    _, config, record = load(args.model)
    streamed = record.get("data", {}).get("streamed")
    if streamed:  # scored on the chunks it held out, read again
        jets, start = streamed_scored(args.jets or record["data"]["source"], config["train"],
                                      streamed)
    else:
        jets, start = _jets(args.jets), None
    for row in score_checkpoint(args.model, jets, start):
        print(row)
    return 0
