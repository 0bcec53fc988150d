"""Sharper resonances: fine-tune a generator's decoder with an MMD term on the jet mass.

A VAE decoder fed latents from its prior reproduces the jet-mass distribution only roughly:
the reconstruction loss is minimised by jets that are, on average, narrower than the real
ones, so the W, Z and top peaks come out low and broad. Talk 004 (Butter, Plehn, Winterhalder,
arXiv:1907.03764) sharpens such resonances with a maximum-mean-discrepancy term on the 1-D
feature. Here the decoder (only: the encoder, hence the aggregate posterior and its fitted flow
prior, stay as they were) is fine-tuned at the generator's β on

    L = ⟨EMD(x, x̂)²⟩ / (2β²) + λ · MMD²_k(m̂, m),

where x̂ = decoder(z ~ q(z | x), β) reconstructs training jets (keeping every other feature of
the jets), m̂ are the masses of jets decoded from latents of the flow prior (what the
generator produces) and m those of real training jets, both relative to the jet's scalar pT
sum, and k is a sum of Gaussian kernels of widths ``KERNEL_WIDTHS`` (relative-mass units),
so that both the peak position and its width are seen (``MmdConfig.kernel_widths`` may add
wider ones, which see the high-mass tail). MMD² is the unbiased estimator
(Gretton et al., JMLR 13 (2012) 723).

``MmdConfig.kernel = "energy"`` uses the distance-induced kernel instead, for which MMD² is the
energy distance (Székely & Rizzo 2013; Sejdinovic et al., Ann. Stat. 41 (2013) 2263)

    E(m̂, m) = 2⟨|m̂ − m|⟩ − ⟨|m̂ − m̂'|⟩ − ⟨|m − m'|⟩ = 2 ∫ (F̂(t) − F(t))² dt

(F the CDFs). It has no width to choose, and its gradient on a generated mass is
(4/n)(F(m̂_i) − F̂(m̂_i)): every generated jet is pushed by the gap of the CDFs where it lies,
however far out in the high-mass tail, where Gaussian kernels of a few per cent of the pT see
almost nothing.

With a joint (z, log pT) flow prior (:mod:`jetviz.generation.prior`) the generator draws each
jet's pT with its latents, so the term compares the masses in GeV instead: m̂ = (m/pT)(ẑ) · p̂T
with (ẑ, log p̂T) from the prior and m = (m/pT) · pT of real jets, both divided by the training
jets' median pT so that the kernel widths keep their meaning (``MASS_FEATURES``).

The fine-tuning runs on :func:`jetviz.device.resolve_device`'s device in float32 (the
Sinkhorn EMD and the narrow kernels need it: no AMP) and, under torchrun, shares every batch
between the processes (:mod:`jetviz.device`). ``finetune`` returns the tuned model;
:func:`tune_with_mass_mmd` (``jetviz gen mmd``) writes it
as a new generator (the tuned VAE + a copy of the flow prior), listed by the app next to the
untuned one. The training jets are in memory or, with ``--stream``, read chunk by chunk
(:mod:`jetviz.generation.mmd_data`: the batches walk the file, the real masses are a seeded
sample of the training jets').
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
import torch

from jetviz.checkpoints import LAST, load_optimizer, load_weights, save_last
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
from jetviz.generation.checkpoint import KIND, save_generator
from jetviz.generation.generators import (
    Generator,
    generator_specs,
    prepared_truth,
    vae_training_jets,
)
from jetviz.generation.mmd_data import MemoryJets, StreamedJets, relative_mass
from jetviz.generation.prior import FlowPrior
from jetviz.generation.prior_train import relative_to_checkpoints
from jetviz.generation.streamed import vae_training_stream
from jetviz.jets import JetSet
from jetviz.readers.stream import JetStream
from jetviz.resume import STREAMS, load_last, save_streams
from jetviz.vae.losses import emd_sinkhorn
from jetviz.vae.model import BetaVAE, log_beta_column

KERNEL_WIDTHS = (0.005, 0.01, 0.02, 0.05)  # σ of the Gaussian kernels, in units of the jet pT
KERNELS = ("gaussian", "energy")  # sum of Gaussians of kernel_widths, or −|a − b| (no width)
SAVE_EVERY = 50  # steps between resumable states (out/last)
# what one tuning run adds to a VAE's record (kept under "earlier_tunings" when tuned again)
TUNING_KEYS = ("mass_mmd", "tuned_from", "command", "ran_as")
POSITION = "stream_position"  # streamed: out/last's (epoch, next batch) of the stream
MASS_FEATURES = {False: "m/pT", True: "m / median training pT (the mass in GeV, scaled)"}


@dataclass(frozen=True)
class MmdConfig:
    """One fine-tuning run (saved in the tuned checkpoint's record)."""

    weight: float = 300.0  # λ: nats per unit of MMD²
    steps: int = 1200  # optimizer steps
    batch_size: int = 256  # training jets (and prior latents) per step
    lr: float = 3e-4  # Adam learning rate of the decoder
    latent_pool: int = 20_000  # flow-prior latents drawn once and resampled from
    seed: int = 0  # batches, posterior noise and the latent pool
    kernel_widths: tuple[float, ...] = KERNEL_WIDTHS  # σ of the kernels, units of the jet pT
    # generated and real masses per MMD² estimate (0: batch_size); the estimate's noise
    # falls as 1/√n, and decoding a latent costs far less than a Sinkhorn reconstruction
    mmd_batch: int = 0
    lr_final_fraction: float = 1.0  # cosine decay of lr to this fraction at the last step
    kernel: str = "gaussian"  # "gaussian" (kernel_widths) or "energy" (energy distance)

    def __post_init__(self) -> None:
        if (self.weight < 0 or self.steps < 1 or self.batch_size < 2 or self.latent_pool < 2
                or self.mmd_batch < 0 or self.mmd_batch == 1
                or not 0 < self.lr_final_fraction <= 1):
            raise JetvizInputError(f"MMD fine-tuning needs weight ≥ 0, steps ≥ 1, batch ≥ 2, "
                                   f"a pool ≥ 2 latents, an MMD batch of 0 or ≥ 2 and a final "
                                   f"lr fraction in (0, 1], got {self}")
        if not self.kernel_widths or min(self.kernel_widths) <= 0:
            raise JetvizInputError(f"MMD kernel widths must be > 0, got {self.kernel_widths}")
        if self.kernel not in KERNELS:
            raise JetvizInputError(f"MMD kernel must be one of {KERNELS}, got {self.kernel!r}")


def mmd2_unbiased(x: torch.Tensor, y: torch.Tensor,
                  widths: tuple[float, ...] = KERNEL_WIDTHS,
                  kernel_name: str = "gaussian") -> torch.Tensor:
    """Unbiased MMD² of two 1-D samples (n,), (m,).

    MMD² = ⟨k(x, x')⟩ + ⟨k(y, y')⟩ − 2⟨k(x, y)⟩ (pairs i ≠ j within a sample), with
    k(a, b) = Σ_σ exp(−(a − b)²/(2σ²)) (``"gaussian"``), or k(a, b) = −|a − b|
    (``"energy"``: MMD² is then the energy distance, ``widths`` unused); differentiable in
    both samples.
    """
    if x.ndim != 1 or y.ndim != 1 or len(x) < 2 or len(y) < 2:
        raise JetvizInputError(f"mmd2_unbiased: expected two 1-D samples of ≥ 2 values, got "
                               f"{tuple(x.shape)} and {tuple(y.shape)}")
    if kernel_name not in KERNELS:
        raise JetvizInputError(f"MMD kernel must be one of {KERNELS}, got {kernel_name!r}")

    def kernel(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        if kernel_name == "energy":
            return -(a[:, None] - b[None, :]).abs()
        d2 = (a[:, None] - b[None, :]).square()
        return sum(torch.exp(-d2 / (2 * s * s)) for s in widths)

    n, m = len(x), len(y)
    kxx, kyy = kernel(x, x), kernel(y, y)
    term_x = (kxx.sum() - kxx.diagonal().sum()) / (n * (n - 1))
    term_y = (kyy.sum() - kyy.diagonal().sum()) / (m * (m - 1))
    return term_x + term_y - 2 * kernel(x, y).mean()


def finetune(model: BetaVAE, prior: FlowPrior, beta: float,
             jets: MemoryJets | StreamedJets | tuple[np.ndarray, np.ndarray, np.ndarray],
             config: MmdConfig,
             progress: Callable[[int, dict], None] | None = None,
             device: torch.device | str | None = None, out: str | Path | None = None,
             resume: bool = False, save_every: int | None = None) -> tuple[BetaVAE, dict]:
    """Fine-tune ``model``'s decoder in place at β with the mass MMD term (module docstring).

    Args:
        model: a β-VAE on jets (its encoder and the prior are frozen).
        prior: the flow prior fitted to the model's aggregate posterior at β.
        beta: β [GeV] of the generator.
        jets: the training jets (:mod:`jetviz.generation.mmd_data`): in memory or streamed,
            or (particles (N, P, 3) prepared, mask (N, P), jet_pt (N,) in GeV) in memory.
        config: the run.
        progress: called as progress(step, means over the last 50 steps) every 50 steps
            (rank 0).
        device: ``cpu``, ``cuda`` or ``cuda:N`` (default: CUDA when present).
        out: where ``out/last`` keeps the state every ``save_every`` steps (default
            ``SAVE_EVERY``) and at the end (rank 0), from which ``resume`` continues exactly
            (None: not resumable).
        resume: continue from ``out/last`` (same settings; more steps may extend the run).

    Returns:
        The model (eval mode, on ``device``) and the run's record (loss history, seconds,
        device).
    """
    device = resolve_device(device)
    if not isinstance(model, BetaVAE):
        raise JetvizInputError("MMD fine-tuning needs a jet β-VAE")
    rank, world = setup_distributed(device)
    if isinstance(jets, tuple):
        jets = MemoryJets(*jets, device)
    if len(jets) < config.batch_size:
        raise JetvizInputError(f"MMD fine-tuning needs ≥ {config.batch_size} training jets, got "
                               f"{len(jets)}")
    torch.manual_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    joint = prior.config.joint_pt
    with torch.inference_mode():
        pool, pool_log_pt = prior.sample_joint(config.latent_pool,
                                               torch.Generator().manual_seed(config.seed))
    pool = pool.to(device)
    pool_log_pt = None if pool_log_pt is None else pool_log_pt.to(device)
    model.to(device)
    broadcast_parameters(model)
    # The mass feature the MMD sees: m/pT, or with a joint prior m [GeV] / median pT.
    pt_ref = float(jets.real_pt.median())
    true_mass = jets.real_mass * jets.real_pt / pt_ref if joint else jets.real_mass  # (N,)
    pool_scale = (pool_log_pt.exp() / pt_ref if joint
                  else torch.ones(len(pool), device=device))  # (pool,) scales generated m/pT
    decoder_params = [*model.decoder.parameters(), *model.embed_dec.parameters()]
    for p in model.parameters():
        p.requires_grad_(False)
    for p in decoder_params:
        p.requires_grad_(True)
    opt = torch.optim.Adam(decoder_params, lr=config.lr)
    n_mmd = config.mmd_batch or config.batch_size
    if n_mmd > min(len(pool), len(true_mass)):
        raise JetvizInputError(f"MMD batch {n_mmd} exceeds the latent pool ({len(pool)}) or the "
                               f"training jets ({len(true_mass)}); lower --mmd-batch")
    stepper = Stepper(opt, decoder_params, world=world)
    history: dict[str, list[float]] = {"recon": [], "mmd2": [], "loss": []}
    before, save_every = 0.0, save_every or SAVE_EVERY
    if resume:
        history, before, position = _resume(out, model, opt, rng, config)
        jets.seek(position)
    start = time.perf_counter()
    model.train()
    for step in range(len(history["loss"]), config.steps):
        cosine = 0.5 * (1 + np.cos(np.pi * step / max(config.steps - 1, 1)))
        for group in opt.param_groups:
            group["lr"] = config.lr * (config.lr_final_fraction
                                       + (1 - config.lr_final_fraction) * cosine)
        x, m, pt = jets.batch(rng, config.batch_size, rank, world)
        log_beta = log_beta_column(beta, len(x), device)
        with torch.no_grad():
            mu, logvar = model.encode(x, m, log_beta)
            z = mu + torch.randn_like(mu) * (0.5 * logvar).exp()
        recon = emd_sinkhorn(x, m, model.decode(z, log_beta), pt, model.config).square()
        recon = (recon / (2 * beta**2)).mean()
        pick = shard(torch.from_numpy(rng.choice(len(pool), n_mmd, replace=False)), rank, world)
        m_gen = (relative_mass(model.decode(pool[pick], log_beta_column(beta, len(pick), device)))
                 * pool_scale[pick])
        m_true = true_mass[shard(torch.from_numpy(rng.choice(len(true_mass), n_mmd,
                                                             replace=False)), rank, world)]
        mmd2 = mmd2_unbiased(m_gen, m_true, tuple(config.kernel_widths), config.kernel)
        loss = recon + config.weight * mmd2
        if not stepper.step(loss):  # NaN/inf on some process: none stepped
            raise JetvizInputError(f"MMD fine-tuning diverged at step {step} (loss {loss}); "
                                   "lower --lr or --weight")
        for key, value in (("recon", recon), ("mmd2", mmd2), ("loss", loss)):
            history[key].append(float(value.detach()))
        if out is not None and is_writer() and ((step + 1) % save_every == 0
                                                or step == config.steps - 1):
            streams, tensors = save_streams(rng)
            save_last(out, KIND, config=asdict(config), model=model, optimizer=opt,
                      record={"history": history, "streams": streams,
                              "seconds": before + time.perf_counter() - start,
                              POSITION: jets.position},
                      parts={STREAMS: tensors})
        if progress is not None and rank == 0 and (step % 50 == 0 or step == config.steps - 1):
            progress(step, {k: float(np.mean(v[-50:])) for k, v in history.items()})
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    curve = {k: mean_over_processes([float(np.mean(v[i:i + 50])) for i in range(0, len(v), 50)],
                                    world) for k, v in history.items()}
    return model, {"mmd_config": asdict(config), "kernel_widths": list(config.kernel_widths),
                   "mass_feature": MASS_FEATURES[joint],
                   "pt_reference": pt_ref if joint else None, "beta": float(beta),
                   "seconds": round(before + time.perf_counter() - start, 1),
                   "curves_per_50_steps": curve, **jets.record,
                   **device_record(device, world)}


def _resume(out: str | Path | None, model: BetaVAE, opt: torch.optim.Optimizer,
            rng: np.random.Generator, config: MmdConfig
            ) -> tuple[dict[str, list[float]], float, list[int] | None]:
    """Load ``out/last`` into the run (tuned weights, optimizer, random streams); returns
    (the loss history so far, the seconds trained so far, the stream's position or None)."""
    if out is None:
        raise JetvizInputError("resume needs the directory of the interrupted run (out)")
    payload = load_last(out, KIND, rng=rng)
    stored = payload["config"]
    stored = MmdConfig(**{**stored, "kernel_widths": tuple(stored["kernel_widths"])})
    if replace(stored, steps=config.steps) != config or config.steps < stored.steps:
        raise JetvizInputError(f"{out}/last was tuned with other settings ({stored}); resume "
                               "with the same ones (more --steps may extend the run)")
    load_weights(Path(out) / LAST, model)
    load_optimizer(Path(out) / LAST, opt)
    record = payload["record"]
    return record["history"], float(record["seconds"]), record.get(POSITION)


def tune_with_mass_mmd(gen_dir: str | os.PathLike, out: str | os.PathLike, *,
                       jets: JetSet | JetStream,
                       config: MmdConfig, provenance: dict | None = None,
                       progress: Callable[[int, dict], None] | None = None,
                       device: torch.device | str | None = None, resume: bool = False) -> dict:
    """Fine-tune a generator's decoder with the mass MMD and write the generator ``out``.

    ``out`` holds the tuned VAE and a copy of the untouched flow prior (its record's loss
    marked "+mmd"); returns the tuned VAE's record. ``gen_dir`` may itself be a tuned
    generator (a second stage, e.g. with another kernel): the record then lists the earlier
    runs under ``earlier_tunings`` and the flow's ``prior_command`` stays the flow fit's.
    ``jets`` is the file in memory, or a :class:`~jetviz.readers.stream.JetStream` of it (a
    VAE trained with ``--stream``: :class:`~jetviz.generation.mmd_data.StreamedJets`).
    Trains on ``device`` (default: CUDA when present); under torchrun only rank 0 writes
    ``out``. The run's state is kept in ``out/last`` every 50 steps, from which ``resume``
    continues an interrupted run exactly.
    """
    gen_dir = Path(gen_dir)
    spec = next(s for s in generator_specs(gen_dir) if s.prior == "flow")
    gen = Generator(spec)
    n_particles = gen.config.n_particles_in
    if isinstance(jets, JetStream):
        stream = vae_training_stream(jets, gen.vae_record, list(spec.classes), n_particles)
        data = StreamedJets(replace(stream, batch_size=config.batch_size, seed=config.seed),
                            n_particles, resolve_device(device))
    else:
        data = prepared_truth(vae_training_jets(jets, list(spec.classes), gen.vae_record),
                              n_particles)
    model, run_record = finetune(gen.model, gen.prior, spec.beta, data, config, progress,
                                 device, out=out, resume=resume)
    retuned = "mass_mmd" in gen.vae_record
    record = {k: v for k, v in gen.vae_record.items()  # the scan is the untuned decoder's
              if k != "scan" and not (retuned and k in TUNING_KEYS)}
    if retuned:  # tuning a tuned decoder again: keep how it was tuned before
        earlier = {k: gen.vae_record[k] for k in TUNING_KEYS if k in gen.vae_record}
        record["earlier_tunings"] = [*gen.vae_record.get("earlier_tunings", []), earlier]
    record.update({"mass_mmd": run_record, "tuned_from": relative_to_checkpoints(gen_dir),
                   **(provenance or {})})
    fit_record = {**{k: v for k, v in gen.prior_record.items() if k != "ran_as"},
                  "vae": relative_to_checkpoints(out), "loss": f"{gen.config.loss}+mmd",
                  **(provenance or {})}
    if "command" in gen.prior_record and not retuned:  # how the copied flow was fitted
        fit_record["prior_command"] = gen.prior_record["command"]  # (a retuned one has it)
    if is_writer():
        save_generator(out, model, gen.config, record, gen.flow, fit_record)
    return record
