"""``jetviz train``: train a (β-conditioned) VAE on jets, toy manifolds or a points file,
checkpoint it and store its per-β scan (:func:`jetviz.vae.train.train`); ``--rescan``
recomputes the stored scan of a trained model. Exit code 2 on bad input or a diverged run."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shlex
from pathlib import Path

# torch's OpenMP threads sleep, rather than spin, while they wait for each other: on a CPU
# shared with other jobs a spinning thread burns the time its preempted partner needs
# (compare `OMP_WAIT_POLICY=ACTIVE python benchmarks/betavae.py --training-only` with the
# default). Read when torch loads, so set before the import; OMP_WAIT_POLICY=ACTIVE in the
# environment keeps the spinning.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np
import torch
import torch.distributed as dist

from jetviz.cli import add_chunk_options
from jetviz.device import dist_info, resolve_device
from jetviz.errors import JetvizInputError
from jetviz.jets import JetSet
from jetviz.readers.stream import JetStream
from jetviz.simulation.toys import TOYS
from jetviz.vae.flat import (
    BETA_RANGE,
    CAPPED_POSTERIOR,
    EMBED_SHARPNESS,
    EXTENT_JETS,
    FEW_PARTICLES,
    TRAINING_DEFAULTS,
    WEIGHTING,
    emd_extent,
    is_few_particle,
    latent_dim_of_jets,
)
from jetviz.vae.model import JET_MODEL, WEIGHTINGS, VAEConfig
from jetviz.vae.scan import SCAN_POINTS_PER_DECADE, scan_points_for
from jetviz.vae.train import TrainConfig, rescan, train


def configure(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``jetviz train``."""
    d, t = VAEConfig(), TrainConfig()
    g = parser.add_argument_group("data")
    g.add_argument("--data", default=None,
                   help="jet file (jetviz, JetNet, hls4ml or top-tagging), or a points file "
                        "(.npy array (N, d), or HDF5 with a dataset 'points'; Euclidean "
                        "distance); default: the embedded checkpoints/jets_default.h5")
    g.add_argument("--classes", default=None,
                   help="comma-separated classes to train on, e.g. 'w' or 't' (default: all)")
    g.add_argument("--max-jets", type=int, default=None, help="use at most this many jets")
    g.add_argument("--stream", action="store_true",
                   help="read the jet file chunk by chunk every epoch instead of loading it "
                        "(for a file larger than memory; a jetviz jet file or a JetClass ROOT "
                        "file; whole held-out "
                        "chunks are the validation set)")
    add_chunk_options(g)
    g.add_argument("--particles", type=int, default=None,
                   help=f"particles per jet (the hardest P; default {d.n_particles_in}, or "
                        f"fewer if the file has fewer slots; a file whose jets have at most "
                        f"{FEW_PARTICLES} particles: their largest count)")
    g.add_argument("--toy", choices=list(TOYS), default=None,
                   help="train on a toy manifold of known scales instead of jets: the 2-D "
                        "banana, a 2-D strip or a 3-D ribbon (jetviz.simulation.toys)")
    g.add_argument("--toy-points", type=int, default=20000, help="number of toy points")
    m = parser.add_argument_group("model")
    m.add_argument("--whiten", action=argparse.BooleanOptionalAction, default=None,
                   help="let the networks work in the data's principal-axis frame scaled to "
                        "unit variance (default: on for --data points, the strip and ribbon "
                        f"toys and jets of at most {FEW_PARTICLES} particles, which then train "
                        "as one vector per jet, jetviz.vae.flat; off for the banana as first "
                        "shipped and for other jets)")
    m.add_argument("--latent-dim", type=int, default=None,
                   help=f"latent dimensions (default {d.latent_dim}; jets of P ≤ "
                        f"{FEW_PARTICLES} particles: 3P − 4, the dimension of prepared P-particle "
                        "jets, so D1 cannot count directions they do not have)")
    m.add_argument("--hidden", type=int, default=None,
                   help=f"width of the hidden layers (default: jets {JET_MODEL['hidden']}, "
                        f"points and jets of at most {FEW_PARTICLES} particles {d.hidden})")
    m.add_argument("--particle-hidden", type=int, default=None,
                   help="jets: width of the encoder's per-particle net (0: = --hidden; "
                        f"default {JET_MODEL['particle_hidden']})")
    m.add_argument("--depth", type=int, default=d.depth)
    m.add_argument("--particles-out", type=int, default=None,
                   help="particles the decoder emits (default: = --particles)")
    m.add_argument("--beta-min", type=float, default=None,
                   help="GeV (toy: data units); default 1 GeV for jets, 3e-5 × the largest "
                        f"EMD among {EXTENT_JETS} of the jets for jets of at most "
                        f"{FEW_PARTICLES} particles, 1e-4 × the extent for points")
    m.add_argument("--beta-max", type=float, default=None,
                   help="GeV (toy: data units); default 1000 GeV for jets, 30 × that largest "
                        "EMD for few-particle jets, 10 × the extent for points")
    m.add_argument("--fixed-beta", type=float, default=None,
                   help="train an ordinary VAE at this one β instead of a β-conditioned one")
    m.add_argument("--loss", default=None, choices=["sinkhorn", "exact", "chamfer", "mse"],
                   help="reconstruction distance for jets (default exact: the exact EMD "
                        "with the optimal plan's gradient; sinkhorn: the entropic one)")
    m.add_argument("--mse-jet-terms", type=float, nargs=2, default=None,
                   metavar=("PT_WEIGHT", "MASS_WEIGHT"),
                   help="--loss mse: add weighted (pT_jet − p̂T_jet)² and (m_jet − m̂_jet)² "
                        "terms, as the Chamfer loss has (talk 001; default: none)")
    m.add_argument("--weighting", default=None, choices=list(WEIGHTINGS),
                   help=f"per-example weighting over β (default: jets "
                        f"{JET_MODEL['weighting']}, jets of at most {FEW_PARTICLES} particles "
                        f"{WEIGHTING}, points {d.weighting}; with --resume: "
                        "switch the stored run to this one)")
    m.add_argument("--beta-power", type=float, default=None,
                   help="β-conditioned training draws log β = log β_min + (log β_max − "
                        "log β_min)·u^p with u uniform: 1 is uniform in log β, p > 1 draws "
                        f"more small β (default: jets {JET_MODEL['beta_power']}, points "
                        f"{d.beta_power})")
    m.add_argument("--gate-latent", action=argparse.BooleanOptionalAction, default=None,
                   help="the decoder scales each latent input by a learnt function of β, so "
                        "it can stop reading z at large β (default: off)")
    m.add_argument("--capped-posterior", action=argparse.BooleanOptionalAction, default=None,
                   help="cap the encoder's σ at 1 and shrink μ with it, so a latent direction "
                        "shuts within a narrow range of β where it stops paying (VAEConfig."
                        f"capped_posterior; default: on for jets of at most {FEW_PARTICLES} "
                        "particles, else off)")
    m.add_argument("--embed-sharpness", type=float, default=None,
                   help="steepness of the log β embedding's ramps at initialisation (default: "
                        f"{EMBED_SHARPNESS:g} for jets of at most {FEW_PARTICLES} particles, "
                        "else 1)")
    m.add_argument("--sinkhorn-eps", type=float, default=d.sinkhorn_eps)
    m.add_argument("--sinkhorn-iter", type=int, default=d.sinkhorn_iter)
    o = parser.add_argument_group("training")
    o.add_argument("--out", required=True, help="checkpoint directory")
    o.add_argument("--resume", action="store_true", help="continue from <out>/last")
    few = (f"; jets of at most {FEW_PARTICLES} particles: until --max-minutes, "
           f"{TRAINING_DEFAULTS['max_minutes']:g}, with the learning rate decaying over that time")
    o.add_argument("--epochs", type=int, default=None, help=f"default {t.epochs}{few}")
    o.add_argument("--batch-size", type=int, default=t.batch_size)
    o.add_argument("--lr", type=float, default=t.lr)
    o.add_argument("--patience", type=int, default=None,
                   help=f"epochs without a better validation loss before stopping (default "
                        f"{t.patience}{few})")
    o.add_argument("--kl-warmup", type=float, default=t.kl_warmup_epochs)
    o.add_argument("--val-fraction", type=float, default=t.val_fraction)
    o.add_argument("--seed", type=int, default=t.seed)
    o.add_argument("--scan-points", type=int, default=None,
                   help=f"β values of the stored scan (default: {SCAN_POINTS_PER_DECADE} per "
                        "decade of the β range)")
    o.add_argument("--scan-examples", type=int, default=t.scan_examples)
    o.add_argument("--max-minutes", type=float, default=None,
                   help=f"stop after the epoch that passes this wall time (default 0: no "
                        f"limit{few})")
    o.add_argument("--threads", type=int, default=0,
                   help="torch CPU threads (0: torch's default); 1 lets two runs share 2 cores")
    o.add_argument("--device", default=None,
                   help="cpu, cuda or cuda:N (default: CUDA when present; under torchrun "
                        "each process takes cuda:LOCAL_RANK)")
    o.add_argument("--no-progress", action="store_true", help="no progress bar")
    o.add_argument("--rescan", action="store_true",
                   help=("recompute the stored β-scan of the model in --out (bands, floor, "
                         "redundant directions) on its own validation examples, without "
                         "training; give the same data flags as when it was trained; with "
                         "--scan-points, on that many β values"))
    parser.set_defaults(train_parser=parser)


def _command_line(args: argparse.Namespace) -> str:
    """The ``jetviz train`` command that reproduces ``args`` (options differing from defaults)."""
    parser = getattr(args, "train_parser", None)
    if parser is None:
        return "jetviz train (called from Python)"
    words = ["jetviz", "train"]
    for action in parser._actions:
        if not action.option_strings or action.dest in ("help", "train_parser"):
            continue
        value = getattr(args, action.dest, None)
        if value == action.default or value is None:
            continue
        flag = action.option_strings[0]
        if isinstance(action, argparse.BooleanOptionalAction):
            words.append(flag if value else f"--no-{flag.removeprefix('--')}")
        elif isinstance(action, argparse._StoreTrueAction):
            words.append(flag)
        else:
            words += [flag, *(map(str, value) if isinstance(value, list) else [str(value)])]
    return " ".join(shlex.quote(w) for w in words)


def _stream(args: argparse.Namespace) -> tuple[JetStream, dict]:
    """The jet file of ``--data`` as a stream (``--stream``)."""
    from jetviz.paths import DEFAULT_JETS
    clash = [flag for flag, value in (("--toy", args.toy), ("--classes", args.classes),
                                      ("--max-jets", args.max_jets), ("--rescan", args.rescan))
             if value]
    if clash:
        raise JetvizInputError(f"--stream reads every jet of the file; it does not combine "
                               f"with {', '.join(clash)}")
    path = str(args.data or DEFAULT_JETS)
    if not Path(path).exists():
        raise JetvizInputError(f"{path}: no such jet file")
    stream = JetStream(path, args.batch_size, args.seed, args.chunk_rows, args.buffer_chunks,
                       args.particles or VAEConfig.n_particles_in)
    return stream, {"data_source": path, "n_jets": len(stream), "streamed": {
        "chunk_rows": args.chunk_rows, "buffer_chunks": args.buffer_chunks}}


def _load_data(args: argparse.Namespace) -> tuple[JetSet | np.ndarray | JetStream, dict]:
    if args.stream:
        return _stream(args)
    if args.toy is not None:
        family = TOYS[args.toy]
        points = family.draw(args.toy_points, np.random.default_rng(args.seed))
        return points, {"data_source": f"toy {family.name}", "scales": family.scales}
    from jetviz.paths import DEFAULT_JETS
    from jetviz.readers import load_jets
    from jetviz.readers.points import is_points_file, read_points
    path = args.data or str(DEFAULT_JETS)
    if not Path(path).exists():
        raise JetvizInputError(f"{path}: no such jet file; generate one with `jetviz generate` "
                               "or pass --data")
    if is_points_file(path):
        points, total = read_points(path)
        return points, {"data_source": str(path), "n_points": len(points),
                        "n_points_in_file": total}
    jets = load_jets(path)
    jets = jets.truncated(_particles(args, jets))
    classes = None
    if args.classes:
        classes = [c.strip() for c in args.classes.split(",") if c.strip()]
        keep = np.zeros(len(jets), dtype=bool)
        for name in classes:
            keep |= jets.labels == _class_index(jets, name)
        jets = jets.subset(keep)
    if args.max_jets is not None and len(jets) > args.max_jets:
        pick = np.sort(np.random.default_rng(args.seed).choice(len(jets), args.max_jets,
                                                               replace=False))
        jets = jets.subset(pick)
    provenance = {"data_source": str(path), "classes": classes or list(jets.class_names),
                  "n_jets": len(jets)}
    scales = jets.attrs.get("scales")  # a jet family's (jetviz.simulation.jet_families)
    if scales is not None:
        provenance["scales"] = json.loads(scales) if isinstance(scales, str) else scales
    return jets, provenance


def _particles(args: argparse.Namespace, jets: JetSet) -> int:
    """--particles, or its default for these jets (see its help)."""
    if args.particles is not None:
        return args.particles
    if is_few_particle(jets):
        return max(1, int(jets.mask.sum(1).max()))
    return min(VAEConfig.n_particles_in, jets.n_particles)


def _class_index(jets: JetSet, name: str) -> int:
    if name not in jets.class_names:
        raise JetvizInputError(f"{jets.source}: no class {name!r}; the classes are "
                               f"{jets.class_names}")
    return jets.class_names.index(name)


def _config_from_args(args: argparse.Namespace, data: JetSet | np.ndarray | JetStream
                      ) -> VAEConfig:
    points = not isinstance(data, JetSet | JetStream)
    few = isinstance(data, JetSet) and is_few_particle(data)
    if args.toy is not None:
        lo, hi = TOYS[args.toy].beta_range
    elif points:  # a user's points: from 10⁻⁴ of their extent to 10× it
        from jetviz.readers.points import extent
        size = extent(data)
        lo, hi = size * 1e-4, size * 10
    elif few:  # a family of few-particle jets: around the largest EMD among them
        extent = emd_extent(data, np.random.default_rng(args.seed))
        lo, hi = extent * BETA_RANGE[0], extent * BETA_RANGE[1]
    else:
        lo, hi = 1.0, 1000.0
    n_in = (data.n_particles if isinstance(data, JetSet)
            else args.particles or VAEConfig.n_particles_in)
    beta_min = args.beta_min if args.beta_min is not None else lo
    beta_max = args.beta_max if args.beta_max is not None else hi
    jets = not points and args.toy is None and not few  # few-particle jets: their own defaults
    built = {"weighting": args.weighting or (WEIGHTING if few else None), "hidden": args.hidden,
             "particle_hidden": args.particle_hidden, "beta_power": args.beta_power,
             "balance_floor": None}
    built = {key: (value if value is not None else JET_MODEL[key] if jets
                   else getattr(VAEConfig, key)) for key, value in built.items()}
    return VAEConfig(
        data="banana" if args.toy == "banana" else ("points" if points else "jets"),
        point_dim=int(data.shape[1]) if points else 2,
        n_particles_in=n_in,
        n_particles_out=args.particles_out or n_in,
        latent_dim=args.latent_dim or (latent_dim_of_jets(n_in) if few
                                       else VAEConfig.latent_dim),
        depth=args.depth, **built,
        beta_min=beta_min, beta_max=beta_max,
        conditioned=args.fixed_beta is None,
        beta_fixed=args.fixed_beta if args.fixed_beta is not None else 0.0,
        loss="euclidean" if points else (args.loss or "exact"),
        whiten=(points and args.toy != "banana") or few if args.whiten is None else args.whiten,
        sinkhorn_eps=args.sinkhorn_eps,
        sinkhorn_iter=args.sinkhorn_iter,
        mse_pt_weight=args.mse_jet_terms[0] if args.mse_jet_terms else 0.0,
        mse_mass_weight=args.mse_jet_terms[1] if args.mse_jet_terms else 0.0,
        gate_latent=bool(args.gate_latent),
        capped_posterior=(CAPPED_POSTERIOR and few if args.capped_posterior is None
                          else args.capped_posterior),
        embed_sharpness=args.embed_sharpness or (EMBED_SHARPNESS if few else 1.0),
        gate_skip=not points and args.toy is None)  # point toys: plateaus validated plain


def _given(value, budget: dict, name: str, defaults: TrainConfig):
    """An option's value: as given, else the few-particle budget's, else TrainConfig's."""
    return value if value is not None else budget.get(name, getattr(defaults, name))


def run(args: argparse.Namespace) -> int:
    """``jetviz train``: train, checkpoint, scan; print a summary."""
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    data, provenance = _load_data(args)
    config = _config_from_args(args, data)
    t = TrainConfig()
    budget = TRAINING_DEFAULTS if isinstance(data, JetSet) and is_few_particle(data) else {}
    tc = TrainConfig(epochs=_given(args.epochs, budget, "epochs", t),
                     batch_size=args.batch_size, lr=args.lr,
                     patience=_given(args.patience, budget, "patience", t),
                     kl_warmup_epochs=args.kl_warmup,
                     schedule_by_time=args.epochs is None and budget.get(
                         "schedule_by_time", t.schedule_by_time),
                     val_fraction=args.val_fraction, seed=args.seed,
                     scan_points=(scan_points_for(config) if args.scan_points is None
                                  else args.scan_points),
                     scan_examples=args.scan_examples,
                     max_minutes=_given(args.max_minutes, budget, "max_minutes", t))
    command = _command_line(args)
    provenance["command"] = command
    if args.rescan:
        scan = rescan(args.out, data, command, device=device, scan_points=args.scan_points)
        print(json.dumps({"out": args.out, "floor": scan.floor,
                          "d1_max": float(scan.d1.max())}, indent=1))
        return 0
    if config.data == "points" and args.toy is None:  # a user's file: keep what to show
        from jetviz.readers.points import save_points
        save_points(args.out, data)
    _, record = train(config, data, tc, out_dir=args.out, resume=args.resume,
                      device=device, progress=not args.no_progress,
                      provenance=provenance, resume_weighting=args.weighting)
    rank, _ = dist_info()
    if rank == 0:
        best = record["history"][record["best_epoch"]] if record["best_epoch"] >= 0 else None
        summary = {"out": args.out, "epochs": len(record["history"]), "stopped": record["stopped"],
                   "best_epoch": record["best_epoch"] + 1,
                   "best_val_loss": record["best_val_loss"],
                   "best_val_distance": best and best["val_distance"],
                   "throughput_jets_per_s": record["throughput"]}
        print(json.dumps(summary, indent=1))
    if dist.is_available() and dist.is_initialized():
        with contextlib.suppress(Exception):
            dist.destroy_process_group()
    return 0
