"""Fitting a flow prior, and making a generator from a VAE by fitting one.

:func:`fit_flow_prior` fits a :class:`~jetviz.generation.prior.FlowPrior` by maximum
likelihood to the aggregate posterior q(z) = ⟨q(z | x)⟩_x of jets, given their posterior means
μ (N, D) and log-variances (N, D): every epoch draws fresh z = μ + σ ε, so the flow fits the
mixture itself, not a fixed set of points. Adam with a cosine learning-rate decay to 5 %,
early stopping on the negative log-likelihood (nats per jet) of held-out jets. A joint prior
(``FlowPriorConfig.joint_pt``) is fitted to the rows (z, log pT) of the same jets. The fit runs
on :func:`jetviz.device.resolve_device`'s device and, under torchrun, shares every batch
between the processes (:mod:`jetviz.device`); it stays in float32 (no AMP), as a flow's
log-determinants need the precision. :func:`fit_flow_prior_streamed` fits the same flow to jets
read chunk by chunk (:mod:`jetviz.generation.streamed`): each epoch encodes every training jet
once, a buffer at a time, so a file larger than memory is fitted.

:func:`fit_generator_prior` is ``jetviz gen prior``: it encodes the VAE's training jets at β,
fits the flow and writes a generator (:mod:`jetviz.generation.checkpoint`); with ``--stream``
it walks the training chunks of a VAE trained with ``jetviz train --stream``.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
import torch

from jetviz.checkpoints import LAST, load_optimizer, load_weights, read_tensors, save_last
from jetviz.device import (
    Stepper,
    broadcast_parameters,
    device_record,
    is_writer,
    mean_over_processes,
    resolve_device,
    setup_distributed,
    shard,
)
from jetviz.errors import JetvizInputError
from jetviz.generation.checkpoint import FLOW_DIR, PRIOR_KIND, load_vae, save_generator
from jetviz.generation.generators import (
    encode_jets,
    prepared_truth,
    pt_quantiles,
    vae_training_jets,
)
from jetviz.generation.prior import FlowPrior, FlowPriorConfig, gaussian_log_prob
from jetviz.generation.streamed import Reservoir, chunks_in_order, vae_training_stream
from jetviz.jets import JetSet
from jetviz.paths import CHECKPOINTS
from jetviz.readers.stream import JetStream
from jetviz.resume import STREAMS, load_last, save_streams

BEST = "best"  # part of out/last: the weights of the best epoch so far
PT_SAMPLE = 200_000  # streamed: jets whose pT give the stored pT quantiles


@dataclass(frozen=True)
class FitConfig:
    """How to fit a flow prior (saved in the record)."""

    epochs: int = 150  # passes over the latents (fresh ε each pass)
    batch_size: int = 512  # latents per step
    lr: float = 2e-3  # Adam learning rate (cosine decay to 5 %)
    val_fraction: float = 0.1  # jets held out to watch the log-likelihood
    patience: int = 25  # stop after this many epochs without a better validation NLL
    seed: int = 0  # seeds the split, the initial weights and the ε draws


def _joint_columns(mu: np.ndarray, logvar: np.ndarray, log_pt: np.ndarray | None,
                   config: FlowPriorConfig) -> tuple[np.ndarray, np.ndarray]:
    """(μ, σ) rows (N, dims) of what the flow is fitted to: the latents, and for a joint prior
    log pT as one more column with σ = 0 (a jet's pT is known exactly)."""
    mu = np.asarray(mu, dtype=np.float32)
    logvar = np.asarray(logvar, dtype=np.float32)
    if mu.ndim != 2 or mu.shape != logvar.shape or mu.shape[1] != config.features:
        raise JetvizInputError(f"expected mu and logvar (N, {config.features}), got {mu.shape} "
                               f"and {logvar.shape}")
    if not (np.isfinite(mu).all() and np.isfinite(logvar).all()):
        raise JetvizInputError("posterior means/log-variances contain NaN or inf")
    sd = np.exp(0.5 * logvar)
    if not config.joint_pt:
        return mu, sd
    if log_pt is None:
        raise JetvizInputError("a joint (z, log pT) flow prior needs the jets' log pT")
    log_pt = np.asarray(log_pt, dtype=np.float32)
    if log_pt.shape != (len(mu),) or not np.isfinite(log_pt).all():
        raise JetvizInputError(f"expected a finite log pT per jet, shape ({len(mu)},), got "
                               f"{log_pt.shape}")
    return (np.concatenate([mu, log_pt[:, None]], 1),
            np.concatenate([sd, np.zeros((len(mu), 1), np.float32)], 1))


def fit_flow_prior(mu: np.ndarray, logvar: np.ndarray, config: FlowPriorConfig,
                   fit: FitConfig = FitConfig(), *, log_pt: np.ndarray | None = None,
                   callback: Callable[[int, dict], None] | None = None,
                   device: torch.device | str | None = None, out: str | Path | None = None,
                   resume: bool = False) -> tuple[FlowPrior, dict]:
    """Fit a flow by maximum likelihood to the aggregate posterior of jets.

    Each epoch draws fresh z = μ + σ ε for every training jet, so the flow fits the mixture
    ⟨q(z | x)⟩ itself, not a fixed set of points; a joint prior fits the rows (z, log pT).

    Args:
        mu: (N, D) posterior means of the training jets (at the chosen β).
        logvar: (N, D) their posterior log-variances.
        config: the flow; ``config.features`` must be D.
        fit: optimisation settings.
        log_pt: (N,) log(jet pT / GeV) of the same jets; needed for a joint prior (whose
            sampling is then restricted to their range), ignored otherwise.
        callback: called as ``callback(epoch, history_entry)`` after every epoch (rank 0).
        device: ``cpu``, ``cuda`` or ``cuda:N`` (default: CUDA when present).
        out: where ``out/last`` keeps the state after each epoch (rank 0), from which
            ``resume`` continues exactly (None: not resumable).
        resume: continue from ``out/last`` (same settings; more epochs may extend the fit).

    Returns:
        (the prior in eval mode, on ``device``; the record: ``history`` per epoch with
        ``train_nll``, ``val_nll`` (nats per jet, of (z, log pT) for a joint prior),
        ``best_epoch``, ``val_nll_gaussian`` of the same validation latents (z alone) under
        N(0, 1), ``n_train``, ``n_val``, ``fit_config``, ``device``, ``world_size``).
    """
    device = resolve_device(device)
    mu, sd = _joint_columns(mu, logvar, log_pt, config)
    dims = config.dims
    n = len(mu)
    n_val = max(1, round(n * fit.val_fraction))
    if n - n_val < 2:
        raise JetvizInputError(f"only {n} jets: too few to fit a flow prior (need ≥ 3)")
    rank, world = setup_distributed(device)
    gen = torch.Generator().manual_seed(fit.seed)
    perm = torch.randperm(n, generator=gen)
    mu_t, sd_t = torch.from_numpy(mu), torch.from_numpy(sd)
    tr, va = perm[n_val:], perm[:n_val]
    val_z = mu_t[va] + sd_t[va] * torch.randn((n_val, dims), generator=gen)
    z_all = mu_t[tr] + sd_t[tr] * torch.randn((len(tr), dims), generator=gen)
    start = Start(z_all.mean(0), z_all.std(0).clamp_min(1e-3),
                  torch.stack([mu_t[:, -1].min(), mu_t[:, -1].max()]) if config.joint_pt
                  else None)

    def epoch_batches(epoch: int) -> Iterator[torch.Tensor]:
        order = tr[torch.randperm(len(tr), generator=gen)]
        z = mu_t[order] + sd_t[order] * torch.randn((len(order), dims), generator=gen)
        for s in range(math.ceil(len(tr) / fit.batch_size)):
            yield shard(z[s * fit.batch_size:(s + 1) * fit.batch_size], rank, world)

    return _fit(config, fit, start, val_z, epoch_batches, gen,
                {"n_train": len(tr), "n_val": n_val}, device=device, world=world,
                callback=callback, out=out, resume=resume)


@dataclass(frozen=True)
class Start:
    """Where a fit starts: the flow's standardisation (loc, scale (dims,)) and, for a joint
    prior, the log pT range (2,) its sampling is kept within."""

    loc: torch.Tensor
    scale: torch.Tensor
    log_pt_range: torch.Tensor | None


def _fit(config: FlowPriorConfig, fit: FitConfig, start: Start, val_z: torch.Tensor,
         epoch_batches: Callable[[int], Iterable[torch.Tensor]], gen: torch.Generator,
         sizes: dict, *, device: torch.device, world: int,
         callback: Callable[[int, dict], None] | None, out: str | Path | None,
         resume: bool) -> tuple[FlowPrior, dict]:
    """The epochs of a fit (in memory or streamed): ``epoch_batches(epoch)`` yields this
    process's share of each batch of latents, drawn from ``gen`` (whose state ``out/last``
    keeps); the validation latents ``val_z`` are fixed. Returns what :func:`fit_flow_prior`
    does, ``sizes`` added to the record."""
    torch.manual_seed(fit.seed)  # the flow's initial weights
    prior = FlowPrior(config)
    prior.loc.copy_(start.loc)
    prior.scale.copy_(start.scale)
    if start.log_pt_range is not None:
        prior.log_pt_range.copy_(start.log_pt_range)
    prior.to(device)
    val_z = val_z.to(device)
    broadcast_parameters(prior)
    best_state = {k: v.clone() for k, v in prior.state_dict().items()}
    optimizer = torch.optim.Adam(prior.flow.parameters(), lr=fit.lr)
    stepper = Stepper(optimizer, list(prior.flow.parameters()), grad_clip=10.0, world=world)
    record: dict = {"history": [], "best_epoch": -1, "best_val_nll": None,
                    "fit_config": asdict(fit), **sizes, **device_record(device, world)}
    bad = 0
    if resume:
        record, best_state, bad = _resume(out, prior, optimizer, gen, config, fit)
        if any(record.get(k) != v for k, v in sizes.items()):
            raise JetvizInputError(
                f"{out}/last was fitted to other jets ({ {k: record.get(k) for k in sizes} }, "
                f"here {sizes}); resume with the same data (and --stream or not, as before)")
    for epoch in range(len(record["history"]), fit.epochs):
        if bad >= fit.patience:
            break
        lr = fit.lr * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * epoch / max(fit.epochs - 1, 1))))
        for group in optimizer.param_groups:
            group["lr"] = lr
        prior.train()
        total, count = 0.0, 0
        for batch in epoch_batches(epoch):
            batch = batch.to(device)
            loss = -prior.log_prob(batch).mean()
            if not stepper.step(loss):  # NaN/inf on some process: none stepped
                raise JetvizInputError(
                    f"flow prior fit diverged at epoch {epoch + 1} (NLL {float(loss)}); lower "
                    f"the learning rate (now {lr:g})")
            total += float(loss.detach()) * len(batch)
            count += len(batch)
        prior.eval()
        with torch.no_grad():
            val_nll = float(-prior.log_prob(val_z).mean())
        entry = {"epoch": epoch + 1, "lr": lr,
                 "train_nll": mean_over_processes(total / count, world), "val_nll": val_nll}
        record["history"].append(entry)
        if record["best_val_nll"] is None or val_nll < record["best_val_nll"]:
            record.update(best_epoch=epoch, best_val_nll=val_nll)
            best_state = {k: v.clone() for k, v in prior.state_dict().items()}
            bad = 0
        else:
            bad += 1
        record["bad_epochs"] = bad
        if out is not None and is_writer():
            streams, tensors = save_streams(generator=gen)
            save_last(out, PRIOR_KIND, config={"flow": asdict(config), "fit": asdict(fit)},
                      record={**record, "streams": streams}, model=prior, optimizer=optimizer,
                      parts={STREAMS: tensors, BEST: best_state})
        if callback is not None and is_writer():
            callback(epoch, entry)
    prior.load_state_dict(best_state)
    prior.eval()
    record["val_nll_gaussian"] = float(-gaussian_log_prob(val_z[:, :config.features]).mean())
    return prior, record


def fit_flow_prior_streamed(model, beta: float, stream: JetStream, config: FlowPriorConfig,
                            fit: FitConfig = FitConfig(), *,
                            callback: Callable[[int, dict], None] | None = None,
                            device: torch.device | str | None = None,
                            out: str | Path | None = None, resume: bool = False,
                            pt_sample: int = PT_SAMPLE) -> tuple[FlowPrior, dict]:
    """:func:`fit_flow_prior` on the aggregate posterior of jets read chunk by chunk.

    A seeded ``fit.val_fraction`` of the stream's chunks is held out whole (its latents, one
    draw each, are the validation set); every epoch walks the other chunks
    (:meth:`JetStream.batches`: each jet once, at most the buffer in memory), encodes each
    batch with ``model`` at β and trains on fresh draws z = μ + σ ε. One pass over every
    chunk before the first epoch gives the flow's standardisation (the exact mean and
    standard deviation of the posterior mixture), the log pT range (exact) and the jet-pT
    quantiles (of a :class:`~jetviz.generation.streamed.Reservoir` of ``pt_sample`` jets, its
    ends the exact minimum and maximum).

    Args:
        model: the VAE (on the CPU) whose posterior is fitted.
        beta: β [GeV].
        stream: its training jets (:func:`~jetviz.generation.streamed.vae_training_stream`);
            the batch size and seed are ``fit``'s.
        config, fit, callback, device, out, resume: as :func:`fit_flow_prior`.
        pt_sample: jets whose pT the quantiles are taken from.

    Returns:
        (the prior, the record of :func:`fit_flow_prior` with ``pt_quantiles``, ``n_jets``
        (the stream's jets) and ``streamed`` (the chunking and the held-out chunks)).
    """
    device = resolve_device(device)
    rank, world = setup_distributed(device)
    stream = replace(stream, batch_size=fit.batch_size, seed=fit.seed)
    train_stream, val_jets = stream.holdout(fit.val_fraction)
    gen = torch.Generator().manual_seed(fit.seed)
    mu, sd = _posterior_columns(model, val_jets, beta, config)
    val_z = mu + sd * torch.randn(mu.shape, generator=gen)
    sums, n = torch.zeros(2, config.dims, dtype=torch.float64), 0
    low, high, pts = math.inf, -math.inf, Reservoir(pt_sample, fit.seed)
    for chunk, jets in chunks_in_order(stream):
        mu, sd = (c.double() for c in _posterior_columns(model, jets, beta, config))
        sums += torch.stack([mu.sum(0), (mu.square() + sd.square()).sum(0)])
        n += len(jets)
        pts.add(chunk, jets.jets[:, 0])
        low, high = min(low, float(jets.jets[:, 0].min())), max(high, float(jets.jets[:, 0].max()))
    loc = sums[0] / n
    start = Start(loc.float(), (sums[1] / n - loc.square()).clamp_min(0).sqrt().float()
                  .clamp_min(1e-3),
                  torch.tensor([math.log(low), math.log(high)]) if config.joint_pt else None)

    def epoch_batches(epoch: int) -> Iterator[torch.Tensor]:
        for jets in train_stream.batches(epoch):
            eps = torch.randn((len(jets), config.dims), generator=gen)
            rows = shard(torch.arange(len(jets)), rank, world)
            mu, sd = _posterior_columns(model, jets.subset(rows.numpy()), beta, config)
            yield mu + sd * eps[rows]

    prior, record = _fit(config, fit, start, val_z, epoch_batches, gen,
                         {"n_train": len(train_stream), "n_val": len(val_jets)},
                         device=device, world=world, callback=callback, out=out, resume=resume)
    quantiles = pt_quantiles(pts.values)
    quantiles[0], quantiles[-1] = low, high
    record.update(pt_quantiles=quantiles, n_jets=n, streamed={
        **stream.holdout_record(train_stream, fit.val_fraction), "pt_sample": len(pts.values)})
    return prior, record


def _posterior_columns(model, jets: JetSet, beta: float, config: FlowPriorConfig
                       ) -> tuple[torch.Tensor, torch.Tensor]:
    """(μ, σ) rows (n, dims) of the flow's columns (:func:`_joint_columns`) of jets at β."""
    particles, mask, jet_pt = prepared_truth(jets, model.config.n_particles_in)
    mu, logvar = encode_jets(model, particles, mask, beta)
    mu, sd = _joint_columns(mu, logvar, np.log(jet_pt), config)
    return torch.from_numpy(mu), torch.from_numpy(sd)


def _resume(out: str | Path | None, prior: FlowPrior, optimizer: torch.optim.Optimizer,
            gen: torch.Generator, config: FlowPriorConfig, fit: FitConfig
            ) -> tuple[dict, dict[str, torch.Tensor], int]:
    """Load ``out/last`` into the fit (weights, optimizer, ε stream); returns (its record,
    the best epoch's weights, the epochs since the best)."""
    if out is None:
        raise JetvizInputError("resume needs the directory of the interrupted fit (out)")
    payload = load_last(out, PRIOR_KIND, generator=gen)
    stored = payload["config"]
    if stored["flow"] != asdict(config) or {**stored["fit"], "epochs": fit.epochs} != asdict(fit):
        raise JetvizInputError(f"{out}/last was fitted with other settings ({stored}); resume "
                               "with the same ones (more --epochs may extend the fit)")
    last = Path(out) / LAST
    load_weights(last, prior)
    load_optimizer(last, optimizer)
    best = {k: v.to(prior.loc.device) for k, v in read_tensors(last, BEST).items()}
    record = {k: v for k, v in payload["record"].items() if k != "streams"}
    record["fit_config"] = asdict(fit)
    return record, best, record["bad_epochs"]


def relative_to_checkpoints(path: str | os.PathLike) -> str:
    """``path`` relative to the shipped checkpoints/ folder when inside it, else absolute."""
    try:
        return str(Path(path).resolve().relative_to(CHECKPOINTS.resolve()))
    except ValueError:
        return str(Path(path).resolve())


def fit_generator_prior(vae_dir: str | os.PathLike, beta: float, out: str | os.PathLike, *,
                        jets: JetSet | JetStream, classes: list[str] | None = None,
                        flow_config: dict | None = None, fit: FitConfig | None = None,
                        provenance: dict | None = None,
                        device: torch.device | str | None = None, resume: bool = False) -> dict:
    """Fit the flow prior of a VAE at β and write the generator ``out``; returns the fit record.

    The flow is fitted to the aggregate posterior at β of the VAE's *training* jets (the same
    split ``jetviz train`` made, see :func:`vae_training_jets`); their pT quantiles are stored
    for sampling jet pT (the Gaussian generator, and the flow one unless the flow is joint in
    (z, log pT): ``flow_config={"joint_pt": True}``). ``jets`` is the file in memory, or a
    :class:`~jetviz.readers.stream.JetStream` of it (a VAE trained with ``--stream``: its
    training chunks are read chunk by chunk every epoch, :func:`fit_flow_prior_streamed`).
    ``out`` receives the VAE (kind "generator") and the flow in ``flow/``; ``out`` may be
    ``vae_dir`` itself, which then becomes a generator. The flow trains on ``device``
    (default: CUDA when present); under torchrun only rank 0 writes ``out``. The fit's state
    after each epoch is kept in ``out/flow/last``, from which ``resume`` continues an
    interrupted fit exactly.
    """
    vae_dir = Path(vae_dir)
    model, config, vae_record = load_vae(vae_dir)
    if config.data != "jets":
        raise JetvizInputError(f"{vae_dir}: a generator needs a jet VAE, not {config.data!r}")
    if not config.beta_min <= beta <= config.beta_max and config.conditioned:
        raise JetvizInputError(f"β = {beta} GeV is outside the VAE's range "
                               f"[{config.beta_min}, {config.beta_max}] GeV")
    classes = classes or list(vae_record.get("classes") or jets.class_names)
    flow = FlowPriorConfig(features=config.latent_dim, **(flow_config or {}))
    fit, where = fit or FitConfig(), Path(out) / FLOW_DIR
    if isinstance(jets, JetStream):
        stream = vae_training_stream(jets, vae_record, classes, config.n_particles_in)
        prior, record = fit_flow_prior_streamed(model, beta, stream, flow, fit, device=device,
                                                out=where, resume=resume)
        source, fit_jets = jets.path, "the VAE's training chunks, read chunk by chunk"
    else:
        particles, mask, jet_pt = prepared_truth(vae_training_jets(jets, classes, vae_record),
                                                 config.n_particles_in)
        mu, logvar = encode_jets(model, particles, mask, beta)
        prior, record = fit_flow_prior(mu, logvar, flow, fit, log_pt=np.log(jet_pt),
                                       device=device, out=where, resume=resume)
        record.update(pt_quantiles=pt_quantiles(jet_pt), n_jets=len(jet_pt))
        source = jets.source
        fit_jets = "the VAE's training split (seed and val_fraction from its record)"
    # MSE with the jet pT and mass terms is labelled "mse+jet"; a decoder fine-tuned with the
    # mass MMD keeps its label ("+mmd", as jetviz gen mmd wrote).
    loss = config.loss + ("+jet" if config.mse_pt_weight or config.mse_mass_weight else "")
    loss = f"{loss}+mmd" if "mass_mmd" in vae_record else loss
    record.update({
        "vae": relative_to_checkpoints(vae_dir), "beta": float(beta), "classes": classes,
        "loss": loss, "fit_jets": fit_jets, "data_source": source, **(provenance or {})})
    if is_writer():
        save_generator(out, model, config, vae_record, prior.cpu(), record)
    return record
