"""One epoch of β-VAE training and one validation pass (the loop :func:`jetviz.vae.train.train`
repeats).

Vocabulary
----------
An **example** is a prepared jet (P, 3) with its mask and jet pT, or a point (d,)
(:class:`jetviz.vae.inputs.VAEInputs`). Each example of a batch gets its own **log β**: drawn
uniformly over [log beta_min, log beta_max] for a conditioned model, the fixed β otherwise.
The **latent noise** ε (B, D) makes z = μ + σ ε. Both come from a CPU ``torch.Generator``
seeded by (seed, epoch, rank, stream) only, so a resumed run draws exactly what an
uninterrupted one would. The **objective** is :func:`jetviz.vae.losses.beta_vae_loss`'s
(the one β-VAE loss); the KL weight ramps from 0 to 1 over the warm-up steps.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np
import torch
import torch.distributed as dist
from torch.utils.data import DistributedSampler

from jetviz.device import Stepper, autocast, dist_info, setup_distributed, shard
from jetviz.errors import JetvizInputError
from jetviz.readers.stream import JetStream
from jetviz.vae.inputs import VAEInputs, inputs_from_jets
from jetviz.vae.losses import RunningBalance, beta_vae_loss, distance2, kl_per_dim
from jetviz.vae.model import BetaVAE, PointVAE, VAEConfig, log_beta_column

__all__ = ["Optimisation", "TrainingDivergedError", "dist_info", "divergence", "draw_log_beta",
           "evaluate", "memory_batches", "seeded_generator", "setup_distributed",
           "stream_batches", "train_epoch"]


class TrainingDivergedError(JetvizInputError):
    """The loss became NaN/inf or blew up; earlier checkpoints are left as they were."""


DIVERGENCE_FACTOR = 100.0  # a validation loss this many times the lowest so far: a spike
DIVERGENCE_EPOCHS = 2  # consecutive spiking epochs that mean the run diverged
EMD_BOUND_FACTOR = 2.0  # EMD of two jets ≤ their pT times the largest ground distance (2R/R)


def _spikes(loss: float, earlier: list[float]) -> bool:
    lowest = min(earlier, default=None)
    return lowest is not None and lowest > 0 and loss > DIVERGENCE_FACTOR * lowest


def divergence(val: dict, history: list[dict], emd_bound: float | None) -> str | None:
    """Why this epoch's validation scores mean the run diverged, or None.

    A non-finite validation loss, or a mean reconstruction EMD above ``emd_bound`` (GeV), the
    largest EMD any two jets of the data can have (``EMD_BOUND_FACTOR`` × the largest jet pT:
    the energy moved times the largest ground distance θ/R ≤ 2), stops the run at once. A
    finite validation loss above ``DIVERGENCE_FACTOR`` × the lowest of the earlier epochs
    stops it when ``DIVERGENCE_EPOCHS`` epochs in a row do so: over a wide β range the loss
    in nats is ruled by the few examples at the smallest β (d²/(2β²) of thousands), and on a
    small validation set one epoch can spike past 100× and come back (the playground's jet
    family on 2,000 jets: 5,082 against 30 nats at epoch 316 of a one-minute run).
    """
    if not math.isfinite(val["loss"]):
        return f"the validation loss is {val['loss']}"
    if emd_bound is not None and not val["distance"] <= emd_bound:
        return (f"the mean reconstruction EMD {val['distance']:.4g} GeV exceeds the largest "
                f"EMD two jets of these data can have ({emd_bound:.4g} GeV)")
    losses = [h["val_loss"] for h in history] + [val["loss"]]
    run = 0
    while run < len(losses) and _spikes(losses[-1 - run], losses[:-1 - run]):
        run += 1
    if run >= DIVERGENCE_EPOCHS:
        return (f"the validation loss {val['loss']:.4g} nats is more than "
                f"{DIVERGENCE_FACTOR:g}× the lowest before it ({min(losses[:-run]):.4g} nats) "
                f"for {run} epochs in a row")
    return None


def seeded_generator(seed: int, epoch: int, rank: int, stream: int = 0) -> torch.Generator:
    """The CPU generator of one (seed, epoch, rank, stream): β draws and latent noise."""
    return torch.Generator().manual_seed(
        (seed * 1_000_003 + epoch * 7919 + rank * 104_729 + stream * 15_485_863) % (2**63))


def draw_log_beta(n: int, config: VAEConfig, gen: torch.Generator) -> torch.Tensor:
    """(n,) log β: lo + (hi − lo)·u^beta_power over the config's range [lo, hi] (u uniform;
    power 1: uniform in log β), or the fixed β of an unconditioned model."""
    if not config.conditioned:
        return log_beta_column(config.beta_fixed, n)
    lo, hi = config.log_beta_range()
    return lo + (hi - lo) * torch.rand(n, generator=gen).pow(config.beta_power)


@torch.no_grad()
def evaluate(model: BetaVAE | PointVAE, inputs: VAEInputs, log_beta: torch.Tensor | float,
             generator: torch.Generator, batch_size: int = 1000, *, rank: int = 0,
             world: int = 1) -> dict:
    """The β-VAE loss terms on ``inputs`` with z sampled from the posterior.

    Args:
        model: the model (eval mode is set here).
        inputs: examples to score.
        log_beta: (N,) log β per example, or one float for all.
        generator: CPU generator for the latent noise.
        batch_size: examples per forward pass.
        rank, world: under DDP every process (all must call) draws the same noise, scores
            its share of each batch (:func:`jetviz.device.shard`) and the sums are added
            over the processes: the same per-example terms as one process, 1/world the work.

    Returns:
        dict of means over examples: ``loss`` = d²/(2β²) + KL (nats), ``loss_gev2`` =
        d²/2 + β² KL (GeV²), ``kl`` (nats), ``distance`` d (GeV: the reconstruction EMD for
        EMD models), ``distance2`` d² (GeV²), and ``kl_per_dim`` (D,) list.
    """
    model.eval()
    config = model.config
    device = next(model.parameters()).device
    n = len(inputs)
    if not torch.is_tensor(log_beta):
        log_beta = torch.full((n,), float(log_beta))
    sums: dict[str, float] = {}
    kl_dims = torch.zeros(config.latent_dim, dtype=torch.float64)
    for start in range(0, n, batch_size):
        part = inputs.subset(slice(start, start + batch_size))
        lb = log_beta[start:start + batch_size]
        noise = torch.randn((len(part), config.latent_dim), generator=generator)
        if world > 1:  # this process's rows: rank, rank + world, …
            rows = torch.arange(rank, len(part), world)
            if len(rows) == 0:
                continue
            part, lb, noise = part.subset(rows), lb[rows], noise[rows]
        part, lb, noise = part.to(device), lb.to(device), noise.to(device)
        x_hat, mu, logvar = model(part.x, part.mask, lb, noise=noise)
        d2 = distance2(part.x, part.mask, x_hat.float(), part.jet_pt, config)
        kl = kl_per_dim(mu.float(), logvar.float())
        terms = beta_vae_loss(d2, kl, lb, config)
        for key, value in (("loss", terms["loss"]), ("loss_gev2", terms["loss_gev2"]),
                           ("kl", terms["kl"]), ("distance", d2.sqrt()), ("distance2", d2)):
            sums[key] = sums.get(key, 0.0) + float(value.double().sum())
        kl_dims += kl.double().sum(0).cpu()
    if world > 1:
        keys = ("loss", "loss_gev2", "kl", "distance", "distance2")
        total = torch.cat([torch.tensor([sums.get(k, 0.0) for k in keys], dtype=torch.float64),
                           kl_dims])
        dist.all_reduce(total)
        sums, kl_dims = dict(zip(keys, total[:len(keys)].tolist(), strict=True)), total[len(keys):]
    out = {key: value / n for key, value in sums.items()}
    out["kl_per_dim"] = (kl_dims / n).tolist()
    return out


@dataclass
class Optimisation:
    """What a run optimises and with what: the model, Adam, the AMP scaler on CUDA, and where
    the data are shuffled for this process.

    Attributes:
        model: the model (the same initial weights on every process; each step averages the
            gradients over the processes, :class:`jetviz.device.Stepper`).
        optimizer: Adam over ``model``'s parameters.
        scaler: GradScaler under CUDA autocast, else None.
        sampler: DistributedSampler over the training examples held in memory (seeded by
            the run's seed); None when they are streamed from a file.
        rank: this process's rank; world: the number of processes.
        batch_size: examples per step and process; grad_clip: gradient-norm cap (0: none).
        warmup_steps: optimizer steps over which the KL weight ramps to 1.
        n_batches: optimizer steps per epoch (a streamed epoch: those of its first epoch,
            the clock of the KL warm-up).
    """

    model: BetaVAE | PointVAE
    optimizer: torch.optim.Optimizer
    scaler: torch.amp.GradScaler | None
    sampler: DistributedSampler | None
    rank: int
    world: int
    batch_size: int
    grad_clip: float
    warmup_steps: float
    n_batches: int

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    def kl_weight(self, steps_done: int) -> float:
        """The KL warm-up weight of the next step: linear from 0 to 1 over the warm-up."""
        return min(1.0, (steps_done + 1) / self.warmup_steps) if self.warmup_steps > 0 else 1.0

    def step(self, objective: torch.Tensor) -> bool:
        """Backpropagate ``objective`` and take one (averaged, clipped, AMP-scaled) Adam
        step; False (no step) when the objective is NaN/inf on any process."""
        return Stepper(self.optimizer, list(self.model.parameters()), self.scaler,
                       self.grad_clip, self.world).step(objective)


def memory_batches(opt: Optimisation, train_set: VAEInputs, epoch: int) -> Iterator[VAEInputs]:
    """This process's batches of ``epoch`` from examples held in memory (its sampler's share,
    shuffled by the run's seed and the epoch)."""
    opt.sampler.set_epoch(epoch)
    order = torch.tensor(list(opt.sampler), dtype=torch.long)
    for b in range(opt.n_batches):
        yield train_set.subset(order[b * opt.batch_size:(b + 1) * opt.batch_size])


def stream_batches(stream: JetStream, epoch: int, rank: int, world: int
                   ) -> Iterator[VAEInputs]:
    """This process's batches of ``epoch`` read from a file chunk by chunk: its share
    (:func:`jetviz.device.shard`) of each batch every process reads alike, prepared."""
    for jets in stream.batches(epoch):
        mine = jets.subset(shard(np.arange(len(jets)), rank, world))
        yield inputs_from_jets(mine, mine.n_particles)


def train_epoch(opt: Optimisation, batches: Iterable[VAEInputs], epoch: int, seed: int,
                steps_done: int, balance: RunningBalance, *, where: str = "",
                bar=None) -> tuple[float, int]:
    """One pass over this process's batches.

    Args:
        opt: the optimisation state (its learning rate is already set for this epoch).
        batches: this process's training batches of the epoch (:func:`memory_batches`,
            :func:`stream_batches`).
        epoch: 0-based epoch (seeds the shuffling, β draws and noise).
        seed: the run's seed.
        steps_done: optimizer steps taken before this epoch (the KL warm-up's clock).
        balance: the running loss scale of the "balanced" weighting (updated in place).
        where: " in <out_dir>" for the divergence message.
        bar: a tqdm bar to advance per batch, or None.

    Returns:
        (mean objective over the examples, number of examples seen by this process).

    Raises:
        TrainingDivergedError: the objective became NaN/inf (on any process).
    """
    config = opt.model.config
    device = opt.device
    gen = seeded_generator(seed, epoch, opt.rank)
    opt.model.train()
    total, count = 0.0, 0
    for b, batch in enumerate(batches):
        batch = batch.to(device)
        n = len(batch)
        log_beta = draw_log_beta(n, config, gen).to(device)
        noise = torch.randn((n, config.latent_dim), generator=gen).to(device)
        decoder_weight = (balance.decoder_weight(log_beta).to(device)
                          if config.weighting == "balanced" else None)
        with autocast(device, enabled=opt.scaler is not None):
            x_hat, mu, logvar = opt.model(batch.x, batch.mask, log_beta, noise=noise,
                                          decoder_weight=decoder_weight)
        d2 = distance2(batch.x, batch.mask, x_hat.float(), batch.jet_pt, config)
        kl = kl_per_dim(mu.float(), logvar.float())
        objective = beta_vae_loss(d2, kl, log_beta, config, opt.kl_weight(steps_done),
                                  balance)["objective"]
        if not opt.step(objective):  # every process learns of a NaN anywhere, none steps
            lr = opt.optimizer.param_groups[0]["lr"]
            raise TrainingDivergedError(
                f"training diverged at epoch {epoch + 1}, batch {b + 1}: the loss is not "
                f"finite (this process's: {float(objective.detach())}). Checkpoints of "
                f"earlier epochs are intact{where}. Lower the learning rate (now {lr:g}) or "
                f"check the data for NaN/inf")
        steps_done += 1
        total += float(objective.detach()) * n
        count += n
        if bar is not None:
            bar.update(1)
            bar.set_postfix(epoch=epoch + 1, loss=f"{total / count:.4g}")
    return total / max(count, 1), count
