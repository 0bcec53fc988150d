"""Training of β-VAEs: the ``jetviz train`` subcommand and ``train()`` for the app.

One epoch samples, per example, log β uniformly over [log beta_min, log beta_max] (a
conditioned model, loss-conditional training, Dosovitskiy & Djolonga ICLR 2020) or uses the
fixed β, draws z = μ + σ ε, decodes, and minimises the β-VAE loss (jetviz.vae.losses). The
validation split is scored the same way with a fixed random stream, so its loss is
comparable between epochs; early stopping watches it (after the KL warm-up).

Determinism: the shuffling (a DistributedSampler seeded with the run's seed and the epoch),
the β draws and the latent noise (a generator seeded with (seed, epoch, rank)) depend only on
the seed and the epoch, so a resumed run continues exactly as an uninterrupted one on CPU.

Checkpoints: ``<out>/model.safetensors`` + ``config.json`` hold the best epoch (by validation
loss) and the per-β scan; ``<out>/last/`` holds the last epoch with the optimizer state for
``--resume``. Only rank 0 writes. Under ``torchrun --nproc_per_node=N`` the model is wrapped
in DistributedDataParallel (gloo on CPU, NCCL on CUDA).
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import math
import os
import shlex
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch
import torch.distributed as dist
from torch.utils.data import DistributedSampler

from jetviz.device import default_device
from jetviz.errors import JetvizInputError
from jetviz.jets import JetSet
from jetviz.simulation.toys import TOYS
from jetviz.vae.checkpoint import (
    LAST,
    load_checkpoint,
    load_optimizer,
    read_config,
    recover_last,
    save_checkpoint,
    save_last,
)
from jetviz.vae.inputs import VAEInputs, as_inputs
from jetviz.vae.losses import beta_vae_loss, distance2, kl_per_dim
from jetviz.vae.model import WEIGHTINGS, BetaVAE, PointVAE, VAEConfig, build_model

if TYPE_CHECKING:
    from jetviz.vae.scan import BetaScan

BALANCE_BINS = 20  # log-β bins of the running loss scale ("balanced" weighting)
BALANCE_MOMENTUM = 0.9  # running mean: new = momentum·old + (1 − momentum)·batch
DIVERGENCE_FACTOR = 100.0  # a validation loss this many times the lowest so far: diverged
EMD_BOUND_FACTOR = 2.0  # EMD of two jets ≤ their pT times the largest ground distance (2R/R)


class TrainingDivergedError(JetvizInputError):
    """The loss became NaN/inf or blew up; earlier checkpoints are left as they were."""


def divergence(val: dict, history: list[dict], emd_bound: float | None) -> str | None:
    """Why this epoch's validation scores mean the run diverged, or None.

    Finite blow-ups count: a validation loss above ``DIVERGENCE_FACTOR`` × the lowest of
    the earlier epochs, or a mean reconstruction EMD above ``emd_bound`` (GeV), the largest
    EMD any two jets of the data can have (``EMD_BOUND_FACTOR`` × the largest jet pT:
    the energy moved times the largest ground distance θ/R ≤ 2).
    """
    if not math.isfinite(val["loss"]):
        return f"the validation loss is {val['loss']}"
    lowest = min((h["val_loss"] for h in history), default=None)
    if lowest is not None and lowest > 0 and val["loss"] > DIVERGENCE_FACTOR * lowest:
        return (f"the validation loss {val['loss']:.4g} nats is more than "
                f"{DIVERGENCE_FACTOR:g}× the lowest so far ({lowest:.4g} nats)")
    if emd_bound is not None and not val["distance"] <= emd_bound:
        return (f"the mean reconstruction EMD {val['distance']:.4g} GeV exceeds the largest "
                f"EMD two jets of these data can have ({emd_bound:.4g} GeV)")
    return None


@dataclass(frozen=True)
class TrainConfig:
    """How to train (saved in the checkpoint's record)."""

    epochs: int = 40  # maximum number of epochs
    batch_size: int = 256  # examples per optimizer step (per process under DDP)
    lr: float = 1e-3  # Adam learning rate at the start; cosine decay to lr_final_fraction × lr
    lr_final_fraction: float = 0.05  # learning rate at the last epoch, as a fraction of lr
    val_fraction: float = 0.1  # fraction of the examples held out for validation
    patience: int = 8  # early stopping: epochs without a better validation loss
    kl_warmup_epochs: float = 2.0  # the KL weight ramps linearly from 0 to 1 over these epochs
    grad_clip: float = 10.0  # clip the gradient norm (0: no clipping)
    seed: int = 0  # seeds the split, the initial weights, shuffling, β draws and noise
    scan_points: int = 60  # β values in the stored per-β scan (log grid over the range)
    scan_examples: int = 2000  # validation examples used by the stored per-β scan
    max_minutes: float = 0.0  # stop after the epoch that passes this wall time (0: no limit)
    # True: the cosine decay runs over max_minutes of wall time rather than over the epochs
    # (a run with a time budget and no epoch count, as in the dimensionality playground)
    schedule_by_time: bool = False

    def to_dict(self) -> dict:
        """A JSON-ready dict of every field."""
        return dataclasses.asdict(self)


Callback = Callable[..., bool | None]  # (epoch, record) or (epoch, record, model)


def _dist_info() -> tuple[int, int]:
    """(rank, world size): from an initialised process group, else torchrun's environment."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return int(os.environ.get("RANK", "0")), int(os.environ.get("WORLD_SIZE", "1"))


def _setup_distributed(device: torch.device) -> tuple[int, int]:
    rank, world = _dist_info()
    if world > 1 and not dist.is_initialized():
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
        rank, world = dist.get_rank(), dist.get_world_size()
    return rank, world


def _generator(seed: int, epoch: int, rank: int, stream: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(
        (seed * 1_000_003 + epoch * 7919 + rank * 104_729 + stream * 15_485_863) % (2**63))


def _draw_log_beta(n: int, config: VAEConfig, gen: torch.Generator) -> torch.Tensor:
    if not config.conditioned:
        return torch.full((n,), math.log(config.beta_fixed))
    lo, hi = config.log_beta_range()
    return lo + (hi - lo) * torch.rand(n, generator=gen)


def _balance_bins(log_beta: torch.Tensor, config: VAEConfig) -> torch.Tensor:
    """(B,) index of each example's log-β bin for the running loss scale."""
    lo, hi = config.log_beta_range()
    t = (log_beta.detach().cpu() - lo) / (hi - lo)
    return (t * BALANCE_BINS).long().clamp(0, BALANCE_BINS - 1)


def _update_balance(balance: list[float], bins: torch.Tensor, raw: torch.Tensor) -> None:
    """Update the running mean of the per-example loss in each bin (in place)."""
    for b in torch.unique(bins).tolist():
        batch_mean = float(raw[bins == b].mean())
        old = balance[b]
        balance[b] = batch_mean if old <= 0 else (
            BALANCE_MOMENTUM * old + (1 - BALANCE_MOMENTUM) * batch_mean)


def _lr_at(epoch: int, tc: TrainConfig, elapsed_s: float = 0.0) -> float:
    """Cosine decay from lr (epoch 0) to lr_final_fraction × lr (last epoch, or the end of
    the time budget with ``schedule_by_time``)."""
    if tc.schedule_by_time and tc.max_minutes > 0:
        t = min(elapsed_s / (60 * tc.max_minutes), 1.0)
    else:
        t = epoch / max(tc.epochs - 1, 1)
    cosine = 0.5 * (1 + math.cos(math.pi * t))
    return tc.lr * (tc.lr_final_fraction + (1 - tc.lr_final_fraction) * cosine)


@torch.no_grad()
def evaluate(model: BetaVAE | PointVAE, inputs: VAEInputs, log_beta: torch.Tensor | float,
             generator: torch.Generator, batch_size: int = 1000) -> dict:
    """The β-VAE loss terms on ``inputs`` with z sampled from the posterior.

    Args:
        model: the model (eval mode is set here).
        inputs: examples to score.
        log_beta: (N,) log β per example, or one float for all.
        generator: CPU generator for the latent noise.
        batch_size: examples per forward pass.

    Returns:
        dict of means over examples: ``loss`` = d²/(2β²) + KL (nats), ``loss_gev2`` =
        d²/2 + β² KL (GeV²), ``kl`` (nats), ``distance`` d (GeV: the reconstruction EMD for
        EMD models), ``distance2`` d² (GeV²), and ``kl_per_dim`` (D,) list.
    """
    model = model.module if hasattr(model, "module") else model
    model.eval()
    config = model.config
    device = next(model.parameters()).device
    n = len(inputs)
    if not torch.is_tensor(log_beta):
        log_beta = torch.full((n,), float(log_beta))
    sums: dict[str, float] = {}
    kl_dims = torch.zeros(config.latent_dim, dtype=torch.float64)
    for start in range(0, n, batch_size):
        part = inputs.subset(slice(start, start + batch_size)).to(device)
        lb = log_beta[start:start + batch_size].to(device)
        noise = torch.randn((len(part), config.latent_dim), generator=generator).to(device)
        x_hat, mu, logvar = model(part.x, part.mask, lb, noise=noise)
        d2 = distance2(part.x, part.mask, x_hat.float(), part.jet_pt, config)
        kl = kl_per_dim(mu.float(), logvar.float())
        terms = beta_vae_loss(d2, kl, lb, config)
        for key, value in (("loss", terms["loss"]), ("loss_gev2", terms["loss_gev2"]),
                           ("kl", terms["kl"]), ("distance", d2.sqrt()), ("distance2", d2)):
            sums[key] = sums.get(key, 0.0) + float(value.double().sum())
        kl_dims += kl.double().sum(0).cpu()
    out = {key: value / n for key, value in sums.items()}
    out["kl_per_dim"] = (kl_dims / n).tolist()
    return out


def _split(n: int, val_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    if not 0 < val_fraction < 1:
        raise JetvizInputError(f"val_fraction must be in (0, 1), got {val_fraction}")
    perm = np.random.default_rng(seed).permutation(n)
    n_val = max(1, round(n * val_fraction))
    if n - n_val < 2:
        raise JetvizInputError(f"only {n} examples: too few to train (need ≥ 3)")
    return np.sort(perm[n_val:]), np.sort(perm[:n_val])


def _write_epoch(out_dir: Path, model, config: VAEConfig, record: dict, optimizer,
                 improved: bool) -> None:
    """The best model first, then ``last/`` as one unit: a kill before ``last/`` is swapped
    makes a resume redo this epoch, which rewrites the same best model (determinism)."""
    if improved or not (out_dir / "model.safetensors").exists():
        save_checkpoint(out_dir, model, config, record)
    save_last(out_dir, model, config, record, optimizer)


def train(config: VAEConfig, data: JetSet | np.ndarray | VAEInputs,
          train_config: TrainConfig = TrainConfig(), *, out_dir: str | os.PathLike | None = None,
          callback: Callback | None = None, resume: bool = False,
          device: torch.device | str | None = None, progress: bool = False,
          provenance: dict | None = None,
          resume_weighting: str | None = None,
          with_model: bool = False) -> tuple[BetaVAE | PointVAE, dict]:
    """Train a β-VAE, checkpointing each epoch, and store its per-β scan with the best model.

    Args:
        config: the model config (``n_particles_in`` must match the jets' P).
        data: a JetSet (prepared here), toy points (N, 2), or prepared VAEInputs.
        train_config: optimisation settings.
        out_dir: checkpoint directory (None: no checkpoints, e.g. for a quick page run).
        callback: called on rank 0 after each epoch as ``callback(epoch, record)``; returning
            False stops training after that epoch (the checkpoints stay resumable).
        resume: continue from ``<out_dir>/last`` (its configs replace the given ones).
        device: default :func:`jetviz.device.default_device`.
        progress: show a tqdm progress bar (rank 0).
        provenance: JSON-ready facts stored in the record (command, data source, ...).
        resume_weighting: on resume, switch the per-example weighting to this one (e.g. to
            fine-tune the large-β end with "balanced"); None keeps the stored one.
        with_model: call ``callback(epoch, record, model)`` instead, so it can look at the
            model as it trains (e.g. a quick β-scan; put the model back in train mode after).

    Returns:
        (model with the best weights, in eval mode; the record). The record holds
        ``history`` (one dict per epoch), ``best_epoch``, ``best_val_loss``, ``stopped``
        ("completed", "early_stopping", "time_limit" or "callback"), ``throughput``
        (jets/s) and ``scan``.

    Raises:
        TrainingDivergedError: the loss became NaN/inf, or blew up (see :func:`divergence`);
            the checkpoints of earlier epochs stay.
    """
    device = torch.device(device) if device is not None else default_device()
    rank, world = _setup_distributed(device)
    out_dir = Path(out_dir) if out_dir is not None else None
    tc = train_config
    record: dict = {"history": [], "best_epoch": -1, "best_val_loss": None, "bad_epochs": 0,
                    "balance": [0.0] * BALANCE_BINS}
    if resume:
        if out_dir is None:
            raise JetvizInputError("resume needs the checkpoint directory (out_dir)")
        recover_last(out_dir)
        payload = read_config(out_dir / LAST)
        config = VAEConfig.from_dict(payload["config"])
        if resume_weighting is not None and resume_weighting != config.weighting:
            config = dataclasses.replace(config, weighting=resume_weighting)
        record = payload["record"]
        if provenance and "command" in provenance:
            record["commands"] = [*record.get("commands", [record.get("command")]),
                                  provenance["command"]]
        tc = TrainConfig(**{**record["train_config"], "epochs": max(
            train_config.epochs, record["train_config"]["epochs"])})
    inputs = as_inputs(data, config)
    if config.data == "jets" and inputs.x.shape[1] != config.n_particles_in:
        raise JetvizInputError(f"the model takes {config.n_particles_in} particles per jet, "
                               f"the data have {inputs.x.shape[1]}")
    train_idx, val_idx = _split(len(inputs), tc.val_fraction, tc.seed)
    train_set, val_set = inputs.subset(torch.from_numpy(train_idx)), inputs.subset(
        torch.from_numpy(val_idx))

    torch.manual_seed(tc.seed)  # the initial weights (identical on every rank)
    model = build_model(config).to(device)
    if isinstance(model, PointVAE) and config.whiten and not resume:
        model.fit_whitening(train_set.x.to(device))
    optimizer = torch.optim.Adam(model.parameters(), lr=tc.lr)
    if resume:
        from jetviz.vae.checkpoint import _load_tensors
        model.load_state_dict(_load_tensors(out_dir / LAST / "model.safetensors"))
        load_optimizer(out_dir / LAST, optimizer)
    net = model
    if world > 1:
        net = torch.nn.parallel.DistributedDataParallel(
            model, device_ids=[device.index] if device.type == "cuda" else None)
    use_amp = device.type == "cuda"
    scaler = torch.amp.GradScaler("cuda") if use_amp else None

    record.update({
        "config": config.to_dict(), "train_config": tc.to_dict(), "device": str(device),
        "world_size": world, "torch": torch.__version__, "n_train": len(train_set),
        "n_val": len(val_set), **(provenance or {}),
    })
    sampler = DistributedSampler(range(len(train_set)), num_replicas=world, rank=rank,
                                 shuffle=True, seed=tc.seed, drop_last=True)
    n_batches = max(1, math.ceil(len(sampler) / tc.batch_size))
    steps_done = len(record["history"]) * n_batches
    warmup_steps = tc.kl_warmup_epochs * n_batches
    start_epoch = len(record["history"])
    bar = None
    if progress and rank == 0:
        from tqdm.auto import tqdm
        bar = tqdm(total=(tc.epochs - start_epoch) * n_batches, unit="batch", dynamic_ncols=True)
    emd_bound = (EMD_BOUND_FACTOR * float(inputs.jet_pt.max())
                 if config.loss in ("sinkhorn", "exact") and inputs.jet_pt is not None else None)
    stopped = "completed"
    t_start = time.perf_counter()
    for epoch in range(start_epoch, tc.epochs):
        t0 = time.perf_counter()
        lr = _lr_at(epoch, tc, time.perf_counter() - t_start)
        for group in optimizer.param_groups:
            group["lr"] = lr
        sampler.set_epoch(epoch)
        order = torch.tensor(list(sampler), dtype=torch.long)
        gen = _generator(tc.seed, epoch, rank)
        net.train()
        total, count = 0.0, 0
        for b in range(n_batches):
            idx = order[b * tc.batch_size:(b + 1) * tc.batch_size]
            batch = train_set.subset(idx).to(device)
            log_beta = _draw_log_beta(len(idx), config, gen).to(device)
            noise = torch.randn((len(idx), config.latent_dim), generator=gen).to(device)
            kl_weight = min(1.0, (steps_done + 1) / warmup_steps) if warmup_steps > 0 else 1.0
            with torch.autocast("cuda", enabled=use_amp):
                x_hat, mu, logvar = net(batch.x, batch.mask, log_beta, noise=noise)
            d2 = distance2(batch.x, batch.mask, x_hat.float(), batch.jet_pt, config)
            kl = kl_per_dim(mu.float(), logvar.float())
            bins = _balance_bins(log_beta, config)
            with torch.no_grad():
                raw = (d2 / (2 * torch.exp(2 * log_beta)) + kl_weight * kl.sum(-1)).cpu().double()
                _update_balance(record["balance"], bins, raw)
            balance = torch.tensor(record["balance"], dtype=torch.float32)[bins].to(device)
            terms = beta_vae_loss(d2, kl, log_beta, config, kl_weight, balance)
            objective = terms["objective"]
            check = objective.detach().clone()
            if world > 1:
                dist.all_reduce(check)  # every rank learns of a NaN before backward
            if not torch.isfinite(check):
                if bar is not None:
                    bar.close()
                raise TrainingDivergedError(
                    f"training diverged at epoch {epoch + 1}, batch {b + 1}: the loss is "
                    f"{float(check)}. Checkpoints of earlier epochs are intact"
                    f"{f' in {out_dir}' if out_dir else ''}. Lower the learning rate "
                    f"(now {lr:g}) or check the data for NaN/inf")
            optimizer.zero_grad(set_to_none=True)
            if scaler is not None:
                scaler.scale(objective).backward()
                scaler.unscale_(optimizer)
            else:
                objective.backward()
            if tc.grad_clip > 0:
                torch.nn.utils.clip_grad_norm_(model.parameters(), tc.grad_clip)
            if scaler is not None:
                scaler.step(optimizer)
                scaler.update()
            else:
                optimizer.step()
            steps_done += 1
            total += float(objective.detach()) * len(idx)
            count += len(idx)
            if bar is not None:
                bar.update(1)
                bar.set_postfix(epoch=epoch + 1, loss=f"{total / count:.4g}")
        seconds = time.perf_counter() - t0
        val_gen = _generator(tc.seed, 0, 0, stream=1)  # the same stream every epoch
        val = evaluate(model, val_set, _draw_log_beta(len(val_set), config, val_gen), val_gen)
        why = divergence(val, record["history"], emd_bound)
        if why is not None:
            if bar is not None:
                bar.close()
            kept = (f" The checkpoints of epoch {len(record['history'])} and earlier are "
                    f"kept{f' in {out_dir}' if out_dir else ''}." if record["history"] else "")
            raise TrainingDivergedError(
                f"training diverged at epoch {epoch + 1}: {why}.{kept} Lower the learning "
                f"rate (it was {lr:g}; try {lr / 10:g}) or check the data")
        warm = epoch + 1 >= tc.kl_warmup_epochs
        best = record["best_val_loss"]
        improved = warm and (best is None or val["loss"] < best)
        if improved:
            record.update(best_epoch=epoch, best_val_loss=val["loss"], bad_epochs=0)
        elif warm:
            record["bad_epochs"] += 1
        record["history"].append({
            "epoch": epoch + 1, "lr": lr, "train_objective": total / max(count, 1),
            "val_loss": val["loss"], "val_loss_gev2": val["loss_gev2"], "val_kl": val["kl"],
            "val_distance": val["distance"], "val_kl_per_dim": val["kl_per_dim"],
            "seconds": seconds, "jets_per_s": count * world / seconds,
        })
        if rank == 0 and out_dir is not None:
            _write_epoch(out_dir, model, config, record, optimizer, improved)
        keep_going = True
        if rank == 0 and callback is not None:
            keep_going = (callback(epoch, record, model) if with_model
                          else callback(epoch, record)) is not False
            model.train()
        if world > 1:
            flag = torch.tensor([1.0 if keep_going else 0.0])
            dist.broadcast(flag, 0)
            keep_going = bool(flag.item())
        if not keep_going:
            stopped = "callback"
            break
        if warm and record["bad_epochs"] >= tc.patience:
            stopped = "early_stopping"
            break
        if tc.max_minutes > 0 and time.perf_counter() - t_start > 60 * tc.max_minutes:
            stopped = "time_limit"
            break
    if bar is not None:
        bar.close()
    record["stopped"] = stopped
    rates = [h["jets_per_s"] for h in record["history"]]
    record["throughput"] = float(np.median(rates)) if rates else None
    if out_dir is not None and (out_dir / "model.safetensors").exists():
        from jetviz.vae.checkpoint import _load_tensors
        model.load_state_dict(_load_tensors(out_dir / "model.safetensors"))
    model.eval()
    if stopped != "callback" and tc.scan_points > 1:
        from jetviz.vae.scan import beta_scan, log_beta_grid
        scan_set = val_set.subset(slice(0, tc.scan_examples))
        record["scan"] = beta_scan(model, scan_set, log_beta_grid(config, tc.scan_points),
                                   seed=tc.seed).to_dict()
        if rank == 0 and out_dir is not None:
            save_checkpoint(out_dir, model, config, record)
    return model, record


def rescan(out_dir: str | os.PathLike, data: JetSet | np.ndarray | VAEInputs, command: str,
           device: torch.device | str | None = None) -> BetaScan:
    """Recompute and store the β-scan of the trained model in ``out_dir``.

    The scan runs on the model's own validation examples (the stored seed and validation
    fraction split ``data`` as training did) and its stored number of grid points and examples.

    Raises:
        JetvizInputError: ``data`` is not the data the model was trained on (size mismatch).
    """
    from jetviz.vae.scan import beta_scan, log_beta_grid

    device = torch.device(device) if device is not None else default_device()
    model, config, record = load_checkpoint(out_dir)
    model = model.to(device)
    tc = TrainConfig(**record["train_config"])
    inputs = as_inputs(data, config)
    n_expected = record.get("n_train", 0) + record.get("n_val", 0)
    if n_expected and len(inputs) != n_expected:
        raise JetvizInputError(f"{out_dir} was trained on {n_expected} examples, the data given "
                               f"have {len(inputs)}: give the data flags it was trained with "
                               f"({record.get('command', 'see its config.json')})")
    _, val_idx = _split(len(inputs), tc.val_fraction, tc.seed)
    scan_set = inputs.subset(torch.from_numpy(val_idx)).subset(slice(0, tc.scan_examples))
    scan = beta_scan(model, scan_set.to(device), log_beta_grid(config, tc.scan_points),
                     seed=tc.seed)
    record["scan"] = scan.to_dict()
    record["commands"] = [*record.get("commands", [record.get("command")]), command]
    save_checkpoint(out_dir, model, config, record)
    return scan


# ----------------------------------------------------------------------------- CLI


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
    g.add_argument("--particles", type=int, default=d.n_particles_in,
                   help="particles per jet (the hardest P)")
    g.add_argument("--toy", choices=list(TOYS), default=None,
                   help="train on a toy manifold of known scales instead of jets: the 2-D "
                        "banana, a 2-D strip or a 3-D ribbon (jetviz.simulation.toys)")
    g.add_argument("--toy-points", type=int, default=20000, help="number of toy points")
    m = parser.add_argument_group("model")
    m.add_argument("--whiten", action=argparse.BooleanOptionalAction, default=None,
                   help="points: let the networks work in the points' principal-axis frame "
                        "scaled to unit variance (default: on for --data points and the strip "
                        "and ribbon toys, off for the banana as first shipped)")
    m.add_argument("--latent-dim", type=int, default=d.latent_dim)
    m.add_argument("--hidden", type=int, default=d.hidden)
    m.add_argument("--depth", type=int, default=d.depth)
    m.add_argument("--particles-out", type=int, default=None,
                   help="particles the decoder emits (default: = --particles)")
    m.add_argument("--beta-min", type=float, default=None, help="GeV (toy: data units)")
    m.add_argument("--beta-max", type=float, default=None, help="GeV (toy: data units)")
    m.add_argument("--fixed-beta", type=float, default=None,
                   help="train an ordinary VAE at this one β instead of a β-conditioned one")
    m.add_argument("--loss", default=None, choices=["sinkhorn", "exact", "chamfer", "mse"],
                   help="reconstruction distance for jets (default exact: the exact EMD "
                        "with the optimal plan's gradient; sinkhorn: the entropic one)")
    m.add_argument("--weighting", default=None, choices=list(WEIGHTINGS),
                   help=f"per-example weighting over β (default {d.weighting}; with --resume: "
                        "switch the stored run to this one)")
    m.add_argument("--sinkhorn-eps", type=float, default=d.sinkhorn_eps)
    m.add_argument("--sinkhorn-iter", type=int, default=d.sinkhorn_iter)
    o = parser.add_argument_group("training")
    o.add_argument("--out", required=True, help="checkpoint directory")
    o.add_argument("--resume", action="store_true", help="continue from <out>/last")
    o.add_argument("--epochs", type=int, default=t.epochs)
    o.add_argument("--batch-size", type=int, default=t.batch_size)
    o.add_argument("--lr", type=float, default=t.lr)
    o.add_argument("--patience", type=int, default=t.patience)
    o.add_argument("--kl-warmup", type=float, default=t.kl_warmup_epochs)
    o.add_argument("--val-fraction", type=float, default=t.val_fraction)
    o.add_argument("--seed", type=int, default=t.seed)
    o.add_argument("--scan-points", type=int, default=t.scan_points)
    o.add_argument("--scan-examples", type=int, default=t.scan_examples)
    o.add_argument("--max-minutes", type=float, default=t.max_minutes,
                   help="stop after the epoch that passes this wall time (0: no limit)")
    o.add_argument("--threads", type=int, default=0,
                   help="torch CPU threads (0: torch's default); 1 lets two runs share 2 cores")
    o.add_argument("--device", default=None, help="cpu or cuda (default: CUDA when present)")
    o.add_argument("--no-progress", action="store_true", help="no progress bar")
    o.add_argument("--rescan", action="store_true",
                   help=("recompute the stored β-scan of the model in --out (bands, floor, "
                         "redundant directions) on its own validation examples, without "
                         "training; give the same data flags as when it was trained"))
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
        else:
            words += ([flag] if isinstance(action, argparse._StoreTrueAction)
                      else [flag, str(value)])
    return " ".join(shlex.quote(w) for w in words)


def _load_data(args: argparse.Namespace) -> tuple[JetSet | np.ndarray, dict]:
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
    jets = load_jets(path, n_particles=args.particles)
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
    return jets, {"data_source": str(path), "classes": classes or list(jets.class_names),
                  "n_jets": len(jets)}


def _class_index(jets: JetSet, name: str) -> int:
    if name not in jets.class_names:
        raise JetvizInputError(f"{jets.source}: no class {name!r}; the classes are "
                               f"{jets.class_names}")
    return jets.class_names.index(name)


def _config_from_args(args: argparse.Namespace, data: JetSet | np.ndarray) -> VAEConfig:
    points = not isinstance(data, JetSet)
    if args.toy is not None:
        lo, hi = TOYS[args.toy].beta_range
    elif points:  # a user's points: from 10⁻⁴ of their extent to 10× it
        from jetviz.readers.points import extent
        size = extent(data)
        lo, hi = size * 1e-4, size * 10
    else:
        lo, hi = 1.0, 1000.0
    beta_min = args.beta_min if args.beta_min is not None else lo
    beta_max = args.beta_max if args.beta_max is not None else hi
    return VAEConfig(
        data="banana" if args.toy == "banana" else ("points" if points else "jets"),
        point_dim=int(data.shape[1]) if points else 2,
        n_particles_in=args.particles,
        n_particles_out=args.particles_out or args.particles,
        latent_dim=args.latent_dim, hidden=args.hidden, depth=args.depth,
        beta_min=beta_min, beta_max=beta_max,
        conditioned=args.fixed_beta is None,
        beta_fixed=args.fixed_beta if args.fixed_beta is not None else 0.0,
        loss="euclidean" if points else (args.loss or "exact"),
        whiten=points and args.toy != "banana" if args.whiten is None else args.whiten,
        weighting=args.weighting or VAEConfig.weighting, sinkhorn_eps=args.sinkhorn_eps,
        sinkhorn_iter=args.sinkhorn_iter)


def run(args: argparse.Namespace) -> int:
    """``jetviz train``: train, checkpoint, scan; print a summary."""
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    try:
        data, provenance = _load_data(args)
        config = _config_from_args(args, data)
        tc = TrainConfig(epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
                         patience=args.patience, kl_warmup_epochs=args.kl_warmup,
                         val_fraction=args.val_fraction, seed=args.seed,
                         scan_points=args.scan_points, scan_examples=args.scan_examples,
                         max_minutes=args.max_minutes)
        command = _command_line(args)
        provenance["command"] = command
        if args.rescan:
            scan = rescan(args.out, data, command, device=args.device)
            print(json.dumps({"out": args.out, "floor": scan.floor,
                              "d1_max": float(scan.d1.max())}, indent=1))
            return 0
        if config.data == "points" and args.toy is None:  # a user's file: keep what to show
            from jetviz.readers.points import save_points
            save_points(args.out, data)
        _, record = train(config, data, tc, out_dir=args.out, resume=args.resume,
                          device=args.device, progress=not args.no_progress,
                          provenance=provenance, resume_weighting=args.weighting)
    except JetvizInputError as err:
        print(f"jetviz train: {err}", file=sys.stderr)
        return 2
    rank, _ = _dist_info()
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
