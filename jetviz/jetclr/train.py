"""JetCLR training: one loop for the contrastive encoder and for its supervised ceiling.

JetCLR (Dillon, Kasieczka, Olischläger, Plehn, Sorrenson, Vogel, arXiv:2108.04253) learns a
representation of jets without labels: two augmentations of the same jet
(``jetviz.jetclr.augment``) should map to nearby points on the unit sphere, different jets far
apart (NT-Xent loss, ``jetviz.jetclr.model``). The supervised ceiling is the same architecture
trained with labels (binary cross-entropy, top vs QCD). ``train`` runs either: the run's
``TrainConfig.augmentations`` names an augmentation set, or ``"supervised"``.

Vocabulary (as in ``jetviz.jets``): ``particles`` (N, P, 3) = (ptrel, etarel, phirel) with a
boolean ``mask`` (N, P), True for real particles; ``jet_pt`` (N,) in GeV; ``labels`` (N,) 1 for
top, 0 for QCD.

Training runs on :func:`jetviz.device.resolve_device`'s device (float16 autocast on CUDA) and,
under torchrun, every process draws (and augments) the same seeded batch and trains on its
share of the jets (:mod:`jetviz.device`); NT-Xent then contrasts each jet with the other jets
of its process's share. :func:`train_streamed` trains on a jet file read chunk by chunk
(:class:`jetviz.readers.stream.JetStream`) instead of jets held in memory.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
import torch

from jetviz.checkpoints import load_optimizer, load_weights, read_tensors, save_last
from jetviz.device import (
    Stepper,
    autocast,
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
from jetviz.jetclr.augment import augment, augmentation_set, pad_particles
from jetviz.jetclr.model import EncoderConfig, JetClassifier, JetEncoder, nt_xent
from jetviz.readers.stream import JetStream, StreamCursor
from jetviz.resume import STREAMS, load_last, save_streams

SUPERVISED = "supervised"  # the augmentations name of the supervised ceiling
LOG_EVERY = 50  # steps between progress reports (and the window of their mean loss)
SAVE_EVERY = 50  # steps between resumable states (out/last)
KIND = "jetclr-encoder"  # the checkpoint kind (jetviz.jetclr.checkpoint)
ORDER = "order"  # part of out/last: the batch order and the position in it


@dataclass(frozen=True)
class TrainConfig:
    """One JetCLR (or supervised) training run; saved in the checkpoint."""

    augmentations: str = "all"  # name in augment.ABLATION_SETS ("supervised" for ceiling)
    steps: int = 600  # optimizer steps
    batch_size: int = 256  # jets per step (two views each for NT-Xent)
    lr: float = 1e-3  # Adam learning rate (cosine decay to 0)
    weight_decay: float = 1e-5  # AdamW weight decay
    temperature: float = 0.1  # NT-Xent τ
    seed: int = 0  # weights, batches and augmentations
    encoder: EncoderConfig = field(default_factory=EncoderConfig)

    def to_dict(self) -> dict:
        return asdict(self)

    @staticmethod
    def from_dict(d: dict) -> TrainConfig:
        return TrainConfig(**{**d, "encoder": EncoderConfig(**d["encoder"])})


@dataclass
class _BatchOrder:
    """Indices of batches, epoch after epoch of fresh permutations drawn from ``rng`` (the
    first when the first batch is asked for); ``order`` and ``pos`` are its resumable state."""

    n: int
    batch_size: int
    rng: np.random.Generator
    order: np.ndarray | None = None
    pos: int = 0

    def next(self) -> np.ndarray:
        if self.order is None or self.pos + self.batch_size > self.n:
            self.order, self.pos = self.rng.permutation(self.n), 0
        self.pos += self.batch_size
        return self.order[self.pos - self.batch_size:self.pos]


def _batches(n: int, batch_size: int, steps: int, rng: np.random.Generator) -> Iterator[np.ndarray]:
    """Indices of ``steps`` batches, epoch after epoch of fresh permutations."""
    order = _BatchOrder(n, batch_size, rng)
    for _ in range(steps):
        yield order.next()


def _loss_record(losses: list[float]) -> dict:
    """Mean loss over the first and the last tenth of training (at most 50 steps each), and
    the curve of 25-step means."""
    k = max(1, min(50, len(losses) // 10))
    return {"loss_start": float(np.mean(losses[:k])), "loss_end": float(np.mean(losses[-k:])),
            "loss_curve": [float(np.mean(losses[i:i + 25])) for i in range(0, len(losses), 25)]}


def _optimizer(model: torch.nn.Module, config: TrainConfig):
    opt = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: 0.5 * (1 + math.cos(math.pi * min(s, config.steps) / config.steps)))
    return opt, sched


@dataclass(frozen=True)
class _Batch:
    """One training batch, every process's alike: particles (B, P, 3), mask (B, P), jet pT
    (B,) [GeV] and labels (B,) 1 for top, 0 for QCD (None where the run does not use them)."""

    particles: np.ndarray
    mask: np.ndarray
    jet_pt: np.ndarray | None
    labels: np.ndarray | None


class _MemoryBatches:
    """Batches of jets held in memory, in a :class:`_BatchOrder` drawn from the run's ``rng``
    (the generator the augmentations draw from too)."""

    def __init__(self, particles: np.ndarray, mask: np.ndarray, jet_pt: np.ndarray | None,
                 labels: np.ndarray | None, batch_size: int, rng: np.random.Generator) -> None:
        self.particles, self.mask, self.jet_pt, self.labels = particles, mask, jet_pt, labels
        self.order = _BatchOrder(len(particles), batch_size, rng)
        self.n_jets = len(particles)

    def next(self) -> _Batch:
        idx = self.order.next()
        return _Batch(self.particles[idx], self.mask[idx],
                      None if self.jet_pt is None else self.jet_pt[idx],
                      None if self.labels is None else self.labels[idx])

    def state(self) -> dict[str, torch.Tensor]:
        return {"order": torch.from_numpy(self.order.order), "pos": torch.tensor(self.order.pos)}

    def restore(self, state: dict[str, np.ndarray]) -> None:
        if "order" not in state:
            raise JetvizInputError("this last/ state was trained on a streamed file; resume it "
                                   "with --stream")
        self.order.order, self.order.pos = state["order"], int(state["pos"])


class _StreamBatches:
    """Batches of a jet file read chunk by chunk (:class:`StreamCursor`); the position
    (epoch, next batch) is the resumable state."""

    def __init__(self, stream: JetStream) -> None:
        self.cursor = StreamCursor(stream)
        self.top = stream.class_names.index("t") if "t" in stream.class_names else -1
        self.n_jets = len(stream)

    def next(self) -> _Batch:
        jets = self.cursor.next()
        return _Batch(jets.particles, jets.mask, jets.jets[:, 0],
                      (jets.labels == self.top).astype(np.int64))

    def state(self) -> dict[str, torch.Tensor]:
        epoch, batch = self.cursor.position
        return {"epoch": torch.tensor(epoch), "batch": torch.tensor(batch)}

    def restore(self, state: dict[str, np.ndarray]) -> None:
        if "epoch" not in state:
            raise JetvizInputError("this last/ state was trained on jets held in memory; resume "
                                   "it without --stream")
        self.cursor.seek((state["epoch"], state["batch"]))


def _contrastive(config: TrainConfig, rng: np.random.Generator, device: torch.device,
                 rank: int, world: int):
    """The encoder and the NT-Xent loss of this process's share of a batch of two augmented
    views of each jet (the whole batch is augmented, so every process draws alike)."""
    aug = augmentation_set(config.augmentations)
    model = JetEncoder(config.encoder).to(device)

    def loss_of(batch: _Batch) -> torch.Tensor:
        if batch.jet_pt is None:
            raise ValueError("contrastive training needs the jets' pT (jet_pt)")
        x, m = pad_particles(batch.particles, batch.mask,
                             batch.particles.shape[1] + aug.extra_slots)
        x1, m1 = augment(x, m, rng, aug, batch.jet_pt)
        x2, m2 = augment(x, m, rng, aug, batch.jet_pt)
        x1, m1, x2, m2 = (shard(a, rank, world) for a in (x1, m1, x2, m2))
        xs = torch.from_numpy(np.concatenate([x1, x2]).astype(np.float32))  # (2B, P', 3)
        with autocast(device):
            _, z = model(xs.to(device), torch.from_numpy(np.concatenate([m1, m2])).to(device))
        return nt_xent(z[: len(x1)].float(), z[len(x1):].float(), config.temperature)

    return model, loss_of


def _supervised(config: TrainConfig, device: torch.device, rank: int, world: int):
    """The classifier and the binary cross-entropy of this process's share of a batch of
    labelled jets."""
    model = JetClassifier(config.encoder).to(device)

    def loss_of(batch: _Batch) -> torch.Tensor:
        if batch.labels is None:
            raise ValueError("the supervised ceiling needs the jets' labels")
        x, m, y = (shard(a, rank, world) for a in (batch.particles, batch.mask, batch.labels))
        with autocast(device):
            logits = model(torch.from_numpy(x.astype(np.float32)).to(device),
                           torch.from_numpy(m).to(device))  # (B,)
        return torch.nn.functional.binary_cross_entropy_with_logits(
            logits.float(), torch.from_numpy(y.astype(np.float32)).to(device))

    return model, loss_of


def _resume(out: str | Path | None, model, config: TrainConfig, opt, sched,
            source: _MemoryBatches | _StreamBatches, rng: np.random.Generator
            ) -> tuple[list[float], float]:
    """Load ``out/last`` into the run (weights, optimizer, schedule, random streams, batch
    order); returns (the losses so far, the seconds trained so far)."""
    if out is None:
        raise JetvizInputError("resume needs the directory of the interrupted run (out)")
    payload = load_last(out, KIND, rng=rng)
    stored = TrainConfig.from_dict(payload["config"])
    if replace(stored, steps=config.steps) != config or config.steps < stored.steps:
        raise JetvizInputError(f"{out}/last was trained with other settings ({stored}); resume "
                               "with the same ones (more --steps may extend the run)")
    last = Path(out) / "last"
    load_weights(last, model)
    load_optimizer(last, opt)
    sched.load_state_dict(payload["record"]["scheduler"])
    source.restore(read_tensors(last, ORDER, numpy=True))
    record = payload["record"]
    return list(record["losses"]), float(record["seconds"])


def _save_last(out: Path, model, config: TrainConfig, opt, sched,
               source: _MemoryBatches | _StreamBatches, rng: np.random.Generator,
               losses: list[float], seconds: float) -> None:
    """The state after ``len(losses)`` steps into ``out/last`` (rank 0)."""
    if not is_writer():
        return
    streams, tensors = save_streams(rng)
    record = {"losses": losses, "seconds": seconds, "scheduler": sched.state_dict(),
              "streams": streams}
    save_last(out, KIND, config=config.to_dict(), record=record, model=model, optimizer=opt,
              parts={STREAMS: tensors, ORDER: source.state()})


def train(particles: np.ndarray, mask: np.ndarray, config: TrainConfig, *,
          jet_pt: np.ndarray | None = None, labels: np.ndarray | None = None,
          progress: Callable[[int, float], None] | None = None,
          device: torch.device | str | None = None, out: str | Path | None = None,
          resume: bool = False, save_every: int | None = None
          ) -> tuple[JetEncoder | JetClassifier, dict]:
    """Train a JetCLR encoder (NT-Xent on two augmented views of each jet, no labels) or, with
    ``config.augmentations == "supervised"``, the same architecture as a top-vs-QCD
    classifier: the ceiling a linear probe on a frozen representation is compared with.

    Args:
        particles: (N, P, 3) training jets.
        mask: (N, P) True for real particles.
        config: the run.
        jet_pt: (N,) jet pT [GeV]: the GeV scales of the soft augmentations (contrastive).
        labels: (N,) 1 for top, 0 for QCD (supervised).
        progress: called as progress(step, mean loss of the last 50 steps) every 50 steps
            (rank 0).
        device: ``cpu``, ``cuda`` or ``cuda:N`` (default: CUDA when present).
        out: a directory for ``out/last``, the state every ``save_every`` steps (default
            ``SAVE_EVERY``) and at the end, from which ``resume`` continues exactly (None: not
            resumable).
        resume: continue from ``out/last`` (its config must equal ``config``, except for
            more steps).

    Returns:
        The trained model (eval mode, on the CPU for the probe and saving) and its training
        record (losses, seconds, device, number of processes).
    """
    if config.augmentations == SUPERVISED and labels is None:
        raise ValueError("the supervised ceiling needs the jets' labels")
    if config.augmentations != SUPERVISED and jet_pt is None:
        raise ValueError("contrastive training needs the jets' pT (jet_pt)")
    rng = np.random.default_rng(config.seed)
    return _fit(_MemoryBatches(particles, mask, jet_pt, labels, config.batch_size, rng), rng,
                config, progress=progress, device=device, out=out, resume=resume,
                save_every=save_every)


def train_streamed(stream: JetStream, config: TrainConfig, *,
                   progress: Callable[[int, float], None] | None = None,
                   device: torch.device | str | None = None, out: str | Path | None = None,
                   resume: bool = False, save_every: int | None = None
                   ) -> tuple[JetEncoder | JetClassifier, dict]:
    """:func:`train` on the jets of a file read chunk by chunk: each step takes the next
    batch of ``stream`` (``config.batch_size`` jets, shuffled within its buffer by
    ``config.seed``, epoch after epoch), so at most the stream's buffer of the file is in
    memory. The supervised ceiling labels a jet of class ``t`` top, every other QCD (give
    the stream ``classes=("t", "g", "q")``). ``out/last`` stores the stream position, and a
    resumed run ends as an uninterrupted one."""
    stream = replace(stream, batch_size=config.batch_size, seed=config.seed)
    return _fit(_StreamBatches(stream), np.random.default_rng(config.seed), config,
                progress=progress, device=device, out=out, resume=resume,
                save_every=save_every)


def _fit(source: _MemoryBatches | _StreamBatches, rng: np.random.Generator,
         config: TrainConfig, *, progress, device, out, resume, save_every
         ) -> tuple[JetEncoder | JetClassifier, dict]:
    """The training loop of :func:`train` and :func:`train_streamed` over ``source``'s
    batches; ``rng`` draws the augmentations (and, in memory, the batch order)."""
    device = resolve_device(device)
    rank, world = setup_distributed(device)
    torch.manual_seed(config.seed)
    if config.augmentations == SUPERVISED:
        model, loss_of = _supervised(config, device, rank, world)
    else:
        model, loss_of = _contrastive(config, rng, device, rank, world)
    broadcast_parameters(model)
    opt, sched = _optimizer(model, config)
    losses, before = [], 0.0
    if resume:
        losses, before = _resume(out, model, config, opt, sched, source, rng)
    stepper = Stepper(opt, list(model.parameters()), grad_scaler(device), world=world)
    save_every, start = save_every or SAVE_EVERY, time.perf_counter()
    model.train()
    for step in range(len(losses), config.steps):
        loss = loss_of(source.next())
        stepper.step(loss)
        sched.step()
        losses.append(float(loss.detach()))
        if out is not None and ((step + 1) % save_every == 0 or step == config.steps - 1):
            _save_last(Path(out), model, config, opt, sched, source, rng, losses,
                       before + time.perf_counter() - start)
        if progress is not None and rank == 0 and (step % LOG_EVERY == 0
                                                   or step == config.steps - 1):
            progress(step, float(np.mean(losses[-LOG_EVERY:])))
    model.eval()
    return model.cpu(), {"seconds": round(before + time.perf_counter() - start, 1),
                         "n_train_jets": source.n_jets,
                         **_loss_record(mean_over_processes(losses, world)),
                         **device_record(device, world)}
