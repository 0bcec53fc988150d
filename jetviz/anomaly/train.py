"""Training loops: the AE on background images, then (method "nae") the NAE phase.

The AE phase minimises ⟨E⟩ over the training jets with Adam (the paper: lr 10⁻³, gradient
norm clipped at 0.1, weight decay 10⁻⁸ as an explicit L2 term). The NAE phase starts from
the AE (the same run's AE phase, or ``init`` = an AE checkpoint) and minimises the NAE loss
of :mod:`jetviz.anomaly.nae` at a much smaller learning rate (the paper: 10⁻⁵), drawing
fresh negative samples every step. Both phases save ``last/`` regularly, so ``resume``
continues where an interrupted run stopped; the AE phase keeps the epoch with the lowest
validation energy, the NAE phase its last step (no labels are used to pick a model). The
training images are jets held in memory or a jet file read chunk by chunk
(:mod:`jetviz.anomaly.batches`).

Both phases run on :func:`jetviz.device.resolve_device`'s device (the AE phase under float16
autocast on CUDA; the NAE phase in float32, as its Langevin chains follow small energy
differences). Under torchrun every process draws the same seeded batch and trains on its
share (:mod:`jetviz.device`); the NAE's negative samples are drawn alike on every process;
rank 0 alone writes.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
import torch

from jetviz import checkpoints
from jetviz.anomaly import checkpoint as ckpt
from jetviz.anomaly.batches import MemoryImages, StreamImages, memory_data, streamed_data
from jetviz.anomaly.evaluate import OPPOSITE_GROUP, evaluate_checkpoint
from jetviz.anomaly.model import AEConfig, ConvAE, build_model
from jetviz.anomaly.nae import (
    ReplayBuffer,
    SamplerConfig,
    nae_loss,
    sample_negatives,
    weight_norm,
)
from jetviz.device import (
    Stepper,
    autocast,
    barrier,
    broadcast_parameters,
    device_record,
    grad_scaler,
    is_writer,
    mean_over_processes,
    resolve_device,
    setup_distributed,
    shard,
)
from jetviz.errors import JetvizInputError
from jetviz.jets import JetSet
from jetviz.readers.stream import JetStream


@dataclass(frozen=True)
class TrainConfig:
    """What and how to train (the paper's setting in brackets where it has one).

    Attributes:
        background: "qcd" or "top", the classes trained on.
        method: "ae" (AE phase only) or "nae" (AE phase, then the NAE phase).
        n_train: jets per background class that may be trained on (file order); the rest
            of every class is held out for scoring.
        n_val: of those, jets kept aside to monitor the validation energy.
        n_select: jets per class after the training jets (all classes) on which, every
            ``monitor_every`` NAE steps, the AUC of the talk's direction (top vs QCD for a
            QCD model, QCD vs top for a top model) is measured; the NAE keeps the step where
            it is highest (step 0 = the AE it started from). The paper's trainer monitors
            the AUC on a signal validation sample the same way. Tables and the page score
            only the jets after these (the *test* jets), for AE and NAE alike.
        ae_epochs: AE-phase epochs [100–500 on 100k jets]; 0 when starting from ``init``.
        batch_size: images per AE step and data images per NAE step [2048].
        lr: AE learning rate [10⁻³].
        clip_grad: AE gradient-norm clip [0.1].
        nae_steps: NAE steps [50–300 epochs].
        nae_lr: NAE learning rate [10⁻⁵].
        negatives: negative samples per NAE step.
        temperature: T in the loss [1].
        gamma: weight of ⟨E²⟩_model [1].
        l2: weight decay as Σ w² [10⁻⁸].
        sampler: the Langevin chains.
        seed: seeds the torch generator of every random draw.
        max_minutes: stop (and save) after this wall time (None: no limit).
        init: an AE checkpoint directory to start the NAE phase from (skips the AE phase).
        n_samples_kept: negative samples stored with an NAE for the page.
        monitor_every: every this many NAE steps, measure the selection AUCs (recorded in
            the history) and keep the best step; 0 = never (the last step is kept).
    """

    background: str = "qcd"
    method: str = "ae"
    n_train: int = 7000
    n_val: int = 500
    n_select: int = 1000
    ae_epochs: int = 20
    batch_size: int = 128
    lr: float = 1e-3
    clip_grad: float = 0.1
    nae_steps: int = 400
    nae_lr: float = 1e-4
    negatives: int = 64
    temperature: float = 1.0
    gamma: float = 1.0
    l2: float = 1e-8
    sampler: SamplerConfig = field(default_factory=SamplerConfig)
    seed: int = 1
    max_minutes: float | None = None
    init: str | None = None
    n_samples_kept: int = 32
    monitor_every: int = 0

    def __post_init__(self) -> None:
        if self.method not in ("ae", "nae"):
            raise JetvizInputError(f"method must be 'ae' or 'nae', got {self.method!r}")
        if self.method == "ae" and self.init:
            raise JetvizInputError("--init starts an NAE from an AE; it needs --method nae")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> TrainConfig:
        d = dict(d)
        d["sampler"] = SamplerConfig(**d.get("sampler", {}))
        return cls(**d)


def stored_config(out: str | Path) -> TrainConfig:
    """The settings of the run whose resume state is ``out/last`` (what ``--resume`` keeps)."""
    checkpoints.recover_last(out)
    payload = checkpoints.read_config(Path(out) / checkpoints.LAST, ckpt.KIND)
    return TrainConfig.from_dict(payload["config"]["train"])


def _log(msg: str, progress: bool) -> None:
    if progress and is_writer():  # torchrun: rank 0 reports
        print(msg, flush=True)


@torch.no_grad()
def mean_energy(model: ConvAE, x: torch.Tensor, batch: int = 1024) -> float:
    device = next(model.parameters()).device
    was = model.training
    model.eval()
    e = torch.cat([model.energy(x[i:i + batch].to(device)).cpu() for i in range(0, len(x), batch)])
    model.train(was)
    return float(e.mean())


def _save(out: Path, model: ConvAE, config: dict, record: dict,
          samples: dict[str, torch.Tensor] | None = None) -> None:
    checkpoints.save(out, ckpt.KIND, config=config, record=record, model=model,
                     parts={ckpt.SAMPLES: samples} if samples else None)


class _Run:
    """State of one training run: model, optimiser, buffer, generator, record."""

    def __init__(self, out: Path, model: ConvAE, cfg: TrainConfig, record: dict,
                 device: torch.device, rank: int = 0, world: int = 1) -> None:
        self.out, self.model, self.cfg, self.record, self.device = out, model, cfg, record, device
        self.rank, self.world = rank, world
        self.gen = torch.Generator().manual_seed(cfg.seed)
        self.buffer = ReplayBuffer(cfg.sampler.buffer_size, model.config.latent_dim)
        self.opt = self._optimizer(record.get("phase", "ae"))
        self.start = time.perf_counter()
        self.samples: dict[str, torch.Tensor] | None = None

    def _optimizer(self, phase: str) -> torch.optim.Adam:
        lr = self.cfg.lr if phase == "ae" else self.cfg.nae_lr
        return torch.optim.Adam(self.model.parameters(), lr=lr)

    def config(self) -> dict:
        return {"model": self.model.config.to_dict(), "train": self.cfg.to_dict()}

    def out_of_time(self) -> bool:
        limit = self.cfg.max_minutes
        return limit is not None and (time.perf_counter() - self.start) / 60 > limit

    def stepper(self, phase: str) -> Stepper:
        """The optimizer step of a phase: the AE's clipped and AMP-scaled, the NAE's plain."""
        ae = phase == "ae"
        return Stepper(self.opt, list(self.model.parameters()),
                       grad_scaler(self.device, enabled=ae), self.cfg.clip_grad if ae else 0.0,
                       self.world)

    def save(self, samples: dict[str, torch.Tensor] | None = None) -> None:
        """The model kept so far (best AE epoch, selected NAE step) into ``out`` (rank 0)."""
        if is_writer():
            _save(self.out, self.model, self.config(), self.record, samples)

    def save_last(self) -> None:
        if not is_writer():
            return
        state = {"generator": self.gen.get_state(), "buffer": self.buffer.points}
        self.record["minutes"] = self.record.get("minutes_before", 0.0) + (
            time.perf_counter() - self.start) / 60
        checkpoints.save_last(self.out, ckpt.KIND, config=self.config(), record=self.record,
                              model=self.model, parts={ckpt.STATE: state}, optimizer=self.opt)

    def restore(self) -> None:
        last = self.out / checkpoints.LAST
        checkpoints.load_optimizer(last, self.opt)
        state = checkpoints.read_tensors(last, ckpt.STATE)
        self.gen.set_state(state["generator"])
        self.buffer.points = state["buffer"]
        self.record["minutes_before"] = self.record.get("minutes", 0.0)


def _ae_phase(run: _Run, fit: MemoryImages | StreamImages, val: torch.Tensor,
              progress: bool) -> None:
    cfg, model, rec = run.cfg, run.model, run.record
    hist = rec.setdefault("ae_history", [])
    best = rec.get("best_val", math.inf)
    stepper = run.stepper("ae")
    while rec.get("epoch", 0) < cfg.ae_epochs and not run.out_of_time():
        t0, model = time.perf_counter(), model.train()
        losses, n_images = [], 0
        for batch in fit.epoch(rec.get("epoch", 0), cfg.batch_size, run.gen):
            x = shard(batch, run.rank, run.world).to(run.device)
            with autocast(run.device):
                loss = model.energy(x).mean()
            stepper.step(loss + cfg.l2 * weight_norm(model))
            losses.append(loss.item())
            n_images += len(batch)
        rec["epoch"] = rec.get("epoch", 0) + 1
        v = mean_energy(model, val)
        speed = n_images / (time.perf_counter() - t0)  # all processes
        train_energy = mean_over_processes(float(np.mean(losses)), run.world)
        hist.append({"epoch": rec["epoch"], "train_energy": train_energy,
                     "val_energy": v, "jets_per_s": speed})
        if v < best:
            best = rec["best_val"] = v
            rec["best_epoch"] = rec["epoch"]
            run.save()
        run.save_last()
        _log(f"[ae] epoch {rec['epoch']}/{cfg.ae_epochs}  train E {train_energy:.3e}  "
             f"val E {v:.3e}  {speed:,.0f} jets/s  {(time.perf_counter() - run.start) / 60:.1f}"
             " min", progress)
    if rec.get("best_epoch"):  # continue from the best epoch, as saved
        barrier()  # rank 0 has written it
        best_model, _, _ = ckpt.load(run.out, run.device)
        model.load_state_dict(best_model.state_dict())


def _select(run: _Run, monitor, progress: bool) -> dict:
    """Measure the selection AUCs; save the model when the talk's direction is the best yet."""
    rec = run.record
    aucs = {k: round(v["auc"], 4) for k, v in monitor(run.model).items()}
    key = OPPOSITE_GROUP[run.cfg.background]
    if aucs.get(key, -1.0) > rec.get("selected_auc", -1.0):
        rec["selected_auc"], rec["selected_step"] = aucs[key], rec.get("step", 0)
        run.save(run.samples)
    _log(f"[nae] step {rec.get('step', 0)} selection AUC {aucs} (best {key}: "
         f"{rec['selected_auc']:.4f} at step {rec['selected_step']})", progress)
    return aucs


def _nae_phase(run: _Run, fit: MemoryImages | StreamImages, val: torch.Tensor,
               progress: bool, monitor=None) -> None:
    cfg, model, rec = run.cfg, run.model, run.record
    if monitor is not None and cfg.monitor_every and "selected_step" not in rec:
        rec["selection_step0_auc"] = _select(run, monitor, progress)  # the AE itself
    hist = rec.setdefault("nae_history", [])
    every = max(1, cfg.nae_steps // 40)
    stepper = run.stepper("nae")
    model.train()
    t0 = time.perf_counter()
    while rec.get("step", 0) < cfg.nae_steps and not run.out_of_time():
        x = shard(fit.draw(cfg.batch_size, run.gen, rec), run.rank, run.world).to(run.device)
        neg = sample_negatives(model, cfg.negatives, cfg.sampler, run.buffer, run.gen)
        e_pos, e_neg = model.energy(x), model.energy(neg["x"])
        loss = nae_loss(e_pos, e_neg, cfg.temperature, cfg.gamma) + cfg.l2 * weight_norm(model)
        stepper.step(loss)
        rec["step"] = rec.get("step", 0) + 1
        run.samples = {k: v.detach().cpu()[: cfg.n_samples_kept] for k, v in neg.items()}
        monitored = bool(monitor is not None and cfg.monitor_every
                         and rec["step"] % cfg.monitor_every == 0)
        if rec["step"] % every == 0 or rec["step"] == cfg.nae_steps or monitored:
            with torch.no_grad():
                e_x0 = model.energy(neg["x0"]).mean().item()
            entry = {"step": rec["step"], "pos_energy": e_pos.mean().item(),
                     "neg_energy": e_neg.mean().item(), "neg_energy_decoded": e_x0,
                     "val_energy": mean_energy(model, val),
                     "s_per_step": (time.perf_counter() - t0) / every}
            if monitored:
                entry["auc"] = _select(run, monitor, progress)
            hist.append(entry)
            t0 = time.perf_counter()
            run.save_last()
            _log(f"[nae] step {rec['step']}/{cfg.nae_steps}  E+ {entry['pos_energy']:.3e}  "
                 f"E- {entry['neg_energy']:.3e} (decoded {e_x0:.3e})  val E "
                 f"{entry['val_energy']:.3e}  {entry['s_per_step']:.2f} s/step", progress)
    run.save_last()


def train(jets: JetSet | JetStream, out: str | Path, cfg: TrainConfig,
          model_config: AEConfig | None = None,
          resume: bool = False, command: str = "", progress: bool = True,
          device: torch.device | str | None = None) -> Path:
    """Train an AE or NAE on the background jets of ``jets`` and save it in ``out``.

    ``jets``: jets in memory, or a :class:`~jetviz.readers.stream.JetStream` of a file read
    chunk by chunk (its chunking is kept; its seed and batch size become the run's; see
    :mod:`jetviz.anomaly.batches` for what is trained, validated and scored on).

    ``device``: ``cpu``, ``cuda`` or ``cuda:N`` (default: CUDA when present). Under torchrun
    every process trains its share of each batch and rank 0 alone writes ``out``.

    Returns:
        The checkpoint directory (its config.json's record holds the held-out evaluation).
    """
    out, device = Path(out), resolve_device(device)
    rank, world = setup_distributed(device)
    if resume:
        checkpoints.recover_last(out)
        model, config, record = ckpt.load(out / checkpoints.LAST, device)
        # the stored run, with the schedule (and time limit) of this call: resume can extend
        cfg = replace(TrainConfig.from_dict(config["train"]), ae_epochs=cfg.ae_epochs,
                      nae_steps=cfg.nae_steps, max_minutes=cfg.max_minutes)
        record.setdefault("commands", []).append(command)
    else:
        if cfg.init:
            model, _, init_record = ckpt.load(cfg.init, device)
            cfg = replace(cfg, ae_epochs=0)
            record = {"commands": [command], "init": cfg.init,
                      "init_record": {k: init_record.get(k) for k in
                                      ("commands", "best_epoch", "best_val", "minutes")}}
        else:
            model = build_model(model_config or AEConfig()).to(device)
            record = {"commands": [command]}
        record["phase"] = "ae" if cfg.ae_epochs > 0 else "nae"
    model.train()
    broadcast_parameters(model)
    record.update(device_record(device, world))
    run = _Run(out, model, cfg, record, device, rank, world)
    if resume:
        run.restore()
    data = (streamed_data(jets, cfg, model.config) if isinstance(jets, JetStream) else
            memory_data(jets, cfg, model.config, torch.Generator().manual_seed(cfg.seed)))
    fit, val, record["data"] = data.fit, data.val, data.record
    _log(f"training {cfg.method} on {cfg.background}: {len(fit):,} jets (+{len(val)} "
         f"validation), device {device}", progress)
    if record["phase"] == "ae":
        _ae_phase(run, fit, val, progress)
        if cfg.method == "nae" and record.get("epoch", 0) >= cfg.ae_epochs:
            record["phase"] = "nae"
            run.opt = run._optimizer("nae")
    if cfg.method == "nae" and record["phase"] == "nae":
        def monitor(m: ConvAE) -> dict:
            return evaluate_checkpoint(m, data.scored, cfg.background, data.select_start,
                                       data.select_start + cfg.n_select)["signals"]

        _nae_phase(run, fit, val, progress, monitor)
        record["complete"] = record.get("step", 0) >= cfg.nae_steps
        barrier()  # rank 0 has written the selected step
        if cfg.monitor_every:  # the selected step's weights and samples, this record
            model, _, _ = ckpt.load(out, device)
            samples = ckpt.load_samples(out) or run.samples
        else:
            samples = run.samples
        run.model = model
        run.save(samples)
    else:
        record["complete"] = record.get("epoch", 0) >= cfg.ae_epochs
    record["minutes"] = record.get("minutes_before", 0.0) + (time.perf_counter() - run.start) / 60
    barrier()
    final, _, _ = ckpt.load(out, device)
    record["evaluation"] = evaluate_checkpoint(final, data.scored, cfg.background,
                                               data.select_start + cfg.n_select)
    samples = ckpt.load_samples(out) if cfg.method == "nae" else None
    run.model = final
    run.save(samples)
    barrier()
    _log(f"saved {out}: " + ", ".join(f"{k} AUC {v['auc']:.3f}"
                                       for k, v in record["evaluation"]["signals"].items()),
         progress)
    return out
