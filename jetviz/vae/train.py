"""Training of β-VAEs: :func:`train` (for ``jetviz train`` and the app) and :func:`rescan`.

One epoch samples, per example, log β uniformly over [log beta_min, log beta_max] (a
conditioned model, loss-conditional training, Dosovitskiy & Djolonga ICLR 2020) or uses the
fixed β, draws z = μ + σ ε, decodes, and minimises the β-VAE loss (jetviz.vae.losses;
one epoch is :func:`jetviz.vae.epoch.train_epoch`). The
validation split is scored the same way with a fixed random stream, so its loss is
comparable between epochs; early stopping watches it (after the KL warm-up).

Determinism: the shuffling (a DistributedSampler seeded with the run's seed and the epoch, or
for a file streamed chunk by chunk :class:`jetviz.readers.stream.JetStream`'s seeded chunk
order and buffers), the β draws and the latent noise (a generator seeded with (seed, epoch,
rank)) depend only on the seed and the epoch, so a resumed run continues exactly as an
uninterrupted one on CPU.

Checkpoints: ``<out>/model.safetensors`` + ``config.json`` hold the best epoch (by validation
loss) and the per-β scan; ``<out>/last/`` holds the last epoch with the optimizer state for
``--resume``. Only rank 0 writes. Under ``torchrun --nproc_per_node=N`` every process trains
a replica on its share and each step averages the gradients over the processes (one
all-reduce, gloo on CPU, NCCL on CUDA: :class:`jetviz.device.Stepper`). The command line is
:mod:`jetviz.cli.train`.
"""

from __future__ import annotations

import dataclasses
import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
from torch.utils.data import DistributedSampler

from jetviz.checkpoints import load_weights, recover_last
from jetviz.device import broadcast_parameters, grad_scaler, resolve_device
from jetviz.errors import JetvizInputError
from jetviz.jets import JetSet
from jetviz.readers.stream import JetStream
from jetviz.vae.checkpoint import (
    LAST,
    WEIGHTS_FILE,
    load_checkpoint,
    load_training_state,
    read_config,
    save_checkpoint,
    save_epoch,
)
from jetviz.vae.epoch import (
    EMD_BOUND_FACTOR,
    Optimisation,
    TrainingDivergedError,
    divergence,
    draw_log_beta,
    evaluate,
    memory_batches,
    seeded_generator,
    setup_distributed,
    stream_batches,
    train_epoch,
)
from jetviz.vae.inputs import VAEInputs, as_inputs, streamed_inputs
from jetviz.vae.losses import BALANCE_BINS, RunningBalance, balance_floor
from jetviz.vae.model import BetaVAE, PointVAE, VAEConfig, build_model
from jetviz.vae.scan import BetaScan, beta_scan, log_beta_grid

__all__ = ["TrainConfig", "TrainingDivergedError", "divergence", "evaluate", "rescan", "train"]

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


def _progress(epoch: int, tc: TrainConfig, elapsed_s: float = 0.0) -> float:
    """How far training is, 0 (first epoch) to 1 (last epoch, or the end of the time budget
    with ``schedule_by_time``)."""
    if tc.schedule_by_time and tc.max_minutes > 0:
        return min(elapsed_s / (60 * tc.max_minutes), 1.0)
    return epoch / max(tc.epochs - 1, 1)


def _lr_at(epoch: int, tc: TrainConfig, elapsed_s: float = 0.0) -> float:
    """Cosine decay from lr (epoch 0) to lr_final_fraction × lr (last epoch, or the end of
    the time budget with ``schedule_by_time``)."""
    t = _progress(epoch, tc, elapsed_s)
    cosine = 0.5 * (1 + math.cos(math.pi * t))
    return tc.lr * (tc.lr_final_fraction + (1 - tc.lr_final_fraction) * cosine)


def _split(n: int, val_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(training indices, validation indices) of n examples, sorted; seeded."""
    if not 0 < val_fraction < 1:
        raise JetvizInputError(f"val_fraction must be in (0, 1), got {val_fraction}")
    perm = np.random.default_rng(seed).permutation(n)
    n_val = max(1, round(n * val_fraction))
    if n - n_val < 2:
        raise JetvizInputError(f"only {n} examples: too few to train (need ≥ 3)")
    return np.sort(perm[n_val:]), np.sort(perm[:n_val])


def _resumed(out_dir: Path | None, train_config: TrainConfig, provenance: dict | None,
             resume_weighting: str | None) -> tuple[VAEConfig, TrainConfig, dict]:
    """(config, train config, record) of ``<out_dir>/last`` for a resume (after finishing an
    interrupted swap); ``train_config.epochs`` may extend the run."""
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
    return config, tc, record


def _optimisation(config: VAEConfig, tc: TrainConfig, train_set: VAEInputs | JetStream,
                  device: torch.device, rank: int, world: int,
                  resume_from: Path | None) -> Optimisation:
    """The model (seeded initial weights, or those of ``resume_from``; rank 0's on every
    process), Adam, AMP, and the shuffling of examples in memory (a streamed ``train_set``
    shuffles itself)."""
    torch.manual_seed(tc.seed)  # the initial weights (identical on every rank)
    model = build_model(config).to(device)
    if config.whiten and resume_from is None:  # points, or few-particle jets (vae.flat)
        if isinstance(train_set, JetStream):
            raise JetvizInputError("a whitened jet model fits its frame to jets in memory; "
                                   "train it without --stream")
        parts = (train_set.x, train_set.mask) if isinstance(model, BetaVAE) else (train_set.x,)
        model.fit_whitening(*(t.to(device) for t in parts))
    optimizer = torch.optim.Adam(model.parameters(), lr=tc.lr)
    if resume_from is not None:
        load_training_state(resume_from, model, optimizer)
    broadcast_parameters(model)  # rank 0's weights everywhere (a no-op for one process)
    if isinstance(train_set, JetStream):
        sampler, n_batches = None, train_set.n_batches(0)
    else:
        sampler = DistributedSampler(range(len(train_set)), num_replicas=world, rank=rank,
                                     shuffle=True, seed=tc.seed, drop_last=True)
        n_batches = max(1, math.ceil(len(sampler) / tc.batch_size))
    scaler = grad_scaler(device)
    return Optimisation(model, optimizer, scaler, sampler, rank, world, tc.batch_size,
                        tc.grad_clip, tc.kl_warmup_epochs * n_batches, n_batches)


def _keep_going(opt: Optimisation, callback: Callback | None, with_model: bool, epoch: int,
                record: dict) -> bool:
    """The callback's verdict (rank 0), shared with every process."""
    keep_going = True
    if opt.rank == 0 and callback is not None:
        keep_going = (callback(epoch, record, opt.model) if with_model
                      else callback(epoch, record)) is not False
        opt.model.train()
    if opt.world > 1:
        flag = torch.tensor([1.0 if keep_going else 0.0])
        dist.broadcast(flag, 0)
        keep_going = bool(flag.item())
    return keep_going


def _run_epochs(opt: Optimisation, tc: TrainConfig, train_set: VAEInputs | JetStream,
                val_set: VAEInputs,
                record: dict, out_dir: Path | None, emd_bound: float | None,
                callback: Callback | None, with_model: bool, bar) -> str:
    """Train until done; checkpoint every epoch; return why training stopped."""
    config = opt.model.config
    balance = RunningBalance(record["balance"], config)
    where = f" in {out_dir}" if out_dir else ""
    t_start = time.perf_counter()
    for epoch in range(len(record["history"]), tc.epochs):
        t0, cpu0 = time.perf_counter(), time.process_time()
        elapsed = time.perf_counter() - t_start
        lr = _lr_at(epoch, tc, elapsed)
        for group in opt.optimizer.param_groups:
            group["lr"] = lr
        balance.floor = balance_floor(config, _progress(epoch, tc, elapsed))
        batches = (stream_batches(train_set, epoch, opt.rank, opt.world)
                   if isinstance(train_set, JetStream)
                   else memory_batches(opt, train_set, epoch))
        objective, count = train_epoch(opt, batches, epoch, tc.seed, epoch * opt.n_batches,
                                       balance, where=where, bar=bar)
        seconds, cpu_seconds = time.perf_counter() - t0, time.process_time() - cpu0
        val_gen = seeded_generator(tc.seed, 0, 0, stream=1)  # the same stream every epoch
        val = evaluate(opt.model, val_set, draw_log_beta(len(val_set), config, val_gen),
                       val_gen, rank=opt.rank, world=opt.world)
        why = divergence(val, record["history"], emd_bound)
        if why is not None:
            kept = (f" The checkpoints of epoch {len(record['history'])} and earlier are "
                    f"kept{where}." if record["history"] else "")
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
            "epoch": epoch + 1, "lr": lr, "train_objective": objective,
            "val_loss": val["loss"], "val_loss_gev2": val["loss_gev2"], "val_kl": val["kl"],
            "val_distance": val["distance"], "val_kl_per_dim": val["kl_per_dim"],
            "seconds": seconds, "jets_per_s": count * opt.world / seconds,
            "cpu_seconds": cpu_seconds,  # this process's CPU time (all its threads)
        })
        if opt.rank == 0 and out_dir is not None:
            save_epoch(out_dir, opt.model, config, record, opt.optimizer, improved)
        if not _keep_going(opt, callback, with_model, epoch, record):
            return "callback"
        if warm and record["bad_epochs"] >= tc.patience:
            return "early_stopping"
        if tc.max_minutes > 0 and time.perf_counter() - t_start > 60 * tc.max_minutes:
            return "time_limit"
    return "completed"


def _scan_into_record(model: BetaVAE | PointVAE, scan_set: VAEInputs, tc: TrainConfig,
                      record: dict, on_beta: Callable[[int, int], None] | None = None
                      ) -> BetaScan:
    """Run the stored per-β scan on ``scan_set`` and put it in ``record["scan"]``."""
    scan = beta_scan(model, scan_set, log_beta_grid(model.config, tc.scan_points),
                     seed=tc.seed, on_beta=on_beta)
    record["scan"] = scan.to_dict()
    return scan


def train(config: VAEConfig, data: JetSet | np.ndarray | VAEInputs | JetStream,
          train_config: TrainConfig = TrainConfig(), *, out_dir: str | os.PathLike | None = None,
          callback: Callback | None = None, resume: bool = False,
          device: torch.device | str | None = None, progress: bool = False,
          provenance: dict | None = None,
          resume_weighting: str | None = None,
          with_model: bool = False,
          on_scan: Callable[[int, int], None] | None = None) -> tuple[BetaVAE | PointVAE, dict]:
    """Train a β-VAE, checkpointing each epoch, and store its per-β scan with the best model.

    Args:
        config: the model config (``n_particles_in`` must match the jets' P).
        data: a JetSet (prepared here), toy points (N, 2), prepared VAEInputs, or a
            :class:`~jetviz.readers.stream.JetStream` of a jet file too large to load:
            read chunk by chunk every epoch, whole held-out chunks for validation.
        train_config: optimisation settings.
        out_dir: checkpoint directory (None: no checkpoints, e.g. for a quick page run).
        callback: called on rank 0 after each epoch as ``callback(epoch, record)``; returning
            False stops training after that epoch (the checkpoints stay resumable).
        resume: continue from ``<out_dir>/last`` (its configs replace the given ones).
        device: ``cpu``, ``cuda`` or ``cuda:N``; default CUDA when present
            (:func:`jetviz.device.resolve_device`).
        progress: show a tqdm progress bar (rank 0).
        provenance: JSON-ready facts stored in the record (command, data source, ...).
        resume_weighting: on resume, switch the per-example weighting to this one (e.g. to
            fine-tune the large-β end with "balanced"); None keeps the stored one.
        with_model: call ``callback(epoch, record, model)`` instead, so it can look at the
            model as it trains (e.g. a quick β-scan; put the model back in train mode after).
        on_scan: called as ``on_scan(done, total)`` during the final β-scan (progress).

    Returns:
        (model with the best weights, in eval mode; the record). The record holds
        ``history`` (one dict per epoch), ``best_epoch``, ``best_val_loss``, ``stopped``
        ("completed", "early_stopping", "time_limit" or "callback"), ``throughput``
        (jets/s) and ``scan``.

    Raises:
        TrainingDivergedError: the loss became NaN/inf, or blew up (see :func:`divergence`);
            the checkpoints of earlier epochs stay.
    """
    device = resolve_device(device)
    rank, world = setup_distributed(device)
    out_dir = Path(out_dir) if out_dir is not None else None
    if resume:
        config, tc, record = _resumed(out_dir, train_config, provenance, resume_weighting)
    else:
        tc, record = train_config, {"history": [], "best_epoch": -1, "best_val_loss": None,
                                    "bad_epochs": 0}
    record.setdefault("balance", [0.0] * BALANCE_BINS)
    if isinstance(data, JetStream):
        train_set, val_set = streamed_inputs(data, config, tc.batch_size * world, tc.seed,
                                             tc.val_fraction)
        max_pt = val_set.jet_pt.max()
    else:
        inputs = as_inputs(data, config)
        if config.data == "jets" and inputs.x.shape[1] != config.n_particles_in:
            raise JetvizInputError(f"the model takes {config.n_particles_in} particles per "
                                   f"jet, the data have {inputs.x.shape[1]}")
        train_idx, val_idx = _split(len(inputs), tc.val_fraction, tc.seed)
        train_set = inputs.subset(torch.from_numpy(train_idx))
        val_set = inputs.subset(torch.from_numpy(val_idx))
        max_pt = None if inputs.jet_pt is None else inputs.jet_pt.max()
    opt = _optimisation(config, tc, train_set, device, rank, world,
                        out_dir / LAST if resume else None)
    record.update({
        "config": config.to_dict(), "train_config": tc.to_dict(), "device": str(device),
        "world_size": world, "torch": torch.__version__, "n_train": len(train_set),
        "n_val": len(val_set), **(provenance or {}),
    })
    bar = None
    if progress and rank == 0:
        from tqdm.auto import tqdm
        bar = tqdm(total=(tc.epochs - len(record["history"])) * opt.n_batches, unit="batch",
                   dynamic_ncols=True)
    emd_bound = (EMD_BOUND_FACTOR * float(max_pt)
                 if config.loss in ("sinkhorn", "exact") and max_pt is not None else None)
    try:
        stopped = _run_epochs(opt, tc, train_set, val_set, record, out_dir, emd_bound,
                              callback, with_model, bar)
    finally:
        if bar is not None:
            bar.close()
    record["stopped"] = stopped
    rates = [h["jets_per_s"] for h in record["history"]]
    record["throughput"] = float(np.median(rates)) if rates else None
    model = opt.model
    if out_dir is not None and (out_dir / WEIGHTS_FILE).exists():
        load_weights(out_dir, model)  # the best epoch
    model.eval()
    if stopped != "callback" and tc.scan_points > 1:
        _scan_into_record(model, val_set.subset(slice(0, tc.scan_examples)), tc, record,
                          on_scan if rank == 0 else None)
        if rank == 0 and out_dir is not None:
            save_checkpoint(out_dir, model, config, record)
    return model, record


def rescan(out_dir: str | os.PathLike, data: JetSet | np.ndarray | VAEInputs, command: str,
           device: torch.device | str | None = None, scan_points: int | None = None) -> BetaScan:
    """Recompute and store the β-scan of the trained model in ``out_dir``.

    The scan runs on the model's own validation examples (the stored seed and validation
    fraction split ``data`` as training did) and its stored number of examples, on
    ``scan_points`` β values (None: the stored number; a new number is stored).

    Raises:
        JetvizInputError: ``data`` is not the data the model was trained on (size mismatch).
    """
    device = resolve_device(device)
    model, config, record = load_checkpoint(out_dir)
    model = model.to(device)
    if scan_points is not None:
        if scan_points < 2:
            raise JetvizInputError(f"a scan needs at least 2 β values, got {scan_points}")
        record["train_config"] = {**record["train_config"], "scan_points": scan_points}
    tc = TrainConfig(**record["train_config"])
    inputs = as_inputs(data, config)
    n_expected = record.get("n_train", 0) + record.get("n_val", 0)
    if n_expected and len(inputs) != n_expected:
        raise JetvizInputError(f"{out_dir} was trained on {n_expected} examples, the data given "
                               f"have {len(inputs)}: give the data flags it was trained with "
                               f"({record.get('command', 'see its config.json')})")
    _, val_idx = _split(len(inputs), tc.val_fraction, tc.seed)
    scan_set = inputs.subset(torch.from_numpy(val_idx)).subset(slice(0, tc.scan_examples))
    scan = _scan_into_record(model, scan_set.to(device), tc, record)
    record["commands"] = [*record.get("commands", [record.get("command")]), command]
    save_checkpoint(out_dir, model, config, record)
    return scan
