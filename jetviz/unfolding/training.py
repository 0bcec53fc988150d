"""Maximum-likelihood training of the conditional INN on paired events.

The training part of a file (all but its last ``n_test`` events) is split again: its last
10 % validate. Each epoch shuffles with a seeded ``torch.Generator``, minimises
−⟨log p(x | y)⟩ with AdamW (decoupled ``weight_decay``) and a cosine learning-rate schedule
over ``epochs``, and keeps the weights of the best validation epoch in ``out/``: with
``select = "w1"`` (default) the epoch whose unfolded marginals are closest to the validation
events' truth (:class:`jetviz.unfolding.selection.MarginalScore`, the worst W1 ratio over
observables and cuts relative to its goal), with ``select = "nll"`` the lowest validation
NLL. ``out/last/`` holds the latest state and the optimizer for ``--resume``. Training stops
after ``epochs`` or ``max_minutes``.

The events come whole in memory (:class:`InMemoryEvents`) or, with ``--stream``, read chunk by
chunk with the same split (:class:`jetviz.unfolding.stream.StreamedEvents`).

Training runs on :func:`jetviz.device.resolve_device`'s device in float32 (a flow's
log-determinants need the precision: no AMP). Under torchrun every process draws the same
seeded batch and trains on its share (:mod:`jetviz.device`); rank 0 alone writes, and the
processes agree on when ``max_minutes`` is reached (rank 0's clock).
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch

from jetviz import checkpoints
from jetviz.device import (
    Stepper,
    barrier,
    broadcast_parameters,
    device_record,
    is_writer,
    mean_over_processes,
    resolve_device,
    setup_distributed,
    shard,
)
from jetviz.errors import JetvizInputError
from jetviz.unfolding.checkpoint import load_cinn, save_cinn, save_last
from jetviz.unfolding.data import PairedEvents
from jetviz.unfolding.flow import CINNConfig, ConditionalINN
from jetviz.unfolding.representation import model_inputs
from jetviz.unfolding.selection import MarginalScore

if TYPE_CHECKING:
    from jetviz.unfolding.stream import StreamedEvents

SELECT = ("w1", "nll")


@dataclass(frozen=True)
class TrainConfig:
    """How the cINN is trained (saved in the checkpoint's record)."""

    n_test: int = 10_000  # last events of the file, never seen in training
    epochs: int = 200  # passes over the training events (the cosine schedule's length)
    batch_size: int = 512
    lr: float = 1e-3  # Adam's initial learning rate
    max_minutes: float = 20.0  # wall-clock limit of this run
    seed: int = 1  # fixes initialisation and shuffling
    val_fraction: float = 0.1  # of the training part, for choosing the best epoch
    weight_decay: float = 0.0  # AdamW's decoupled weight decay
    select: str = "w1"  # best epoch by "w1" (unfolded marginals, validation) or "nll"
    val_samples: int = 4  # posterior samples per validation event for select = "w1"

    def __post_init__(self) -> None:
        if self.select not in SELECT:
            raise JetvizInputError(f"select = {self.select!r}: choose one of {SELECT}")
        if self.weight_decay < 0 or self.val_samples < 1:
            raise JetvizInputError(
                f"need weight_decay ≥ 0 and val_samples ≥ 1, got {self.weight_decay}, "
                f"{self.val_samples}")


def _mean_nll(model: ConditionalINN, x: torch.Tensor, y: torch.Tensor, batch: int = 4096
              ) -> float:
    with torch.no_grad():
        total = sum(-model.log_prob(x[i:i + batch], y[i:i + batch]).sum().item()
                    for i in range(0, len(x), batch))
    return total / len(x)


class InMemoryEvents:
    """The training data of :func:`train_cinn` with the whole file in memory: the split, the
    validation tensors, the epoch choice's score and seeded shuffled batches (one
    ``torch.randperm`` per epoch). :class:`jetviz.unfolding.stream.StreamedEvents` is the
    same interface over a file read chunk by chunk."""

    def __init__(self, events: PairedEvents, config: TrainConfig):
        train, _ = events.split(config.n_test)
        x, y, phi_ref = model_inputs(train)
        n_val = max(1, round(config.val_fraction * len(x)))
        self.score = MarginalScore(train.subset(slice(len(x) - n_val, None)), y[-n_val:],
                                   phi_ref[-n_val:], train.subset(slice(0, len(x) - n_val)),
                                   samples=config.val_samples, seed=config.seed)
        self.x_val, self.y_val = x[-n_val:], y[-n_val:]
        self.xt, self.yt = torch.as_tensor(x[:-n_val]), torch.as_tensor(y[:-n_val])
        self.n_train, self.n_val = len(self.xt), n_val
        self.command, self.record = events.attrs.get("command", ""), None
        self.batch_size, self.seed = config.batch_size, config.seed
        self.gen = torch.Generator().manual_seed(config.seed)

    def standardise(self, model: ConditionalINN) -> None:
        model.set_standardisation(self.xt.numpy(), self.yt.numpy())

    def resume(self, n_history: int) -> None:
        """Reseed the shuffling for a run that continues after ``n_history`` entries."""
        self.gen.manual_seed(self.seed + n_history)

    def n_batches(self, epoch: int) -> int:
        return math.ceil(self.n_train / self.batch_size)

    def batches(self, epoch: int):
        order = torch.randperm(self.n_train, generator=self.gen)
        for k in range(self.n_batches(epoch)):
            idx = order[k * self.batch_size:(k + 1) * self.batch_size]
            yield self.xt[idx], self.yt[idx]


def train_cinn(events: PairedEvents | StreamedEvents, out: str | Path, config: TrainConfig,
               model_config: CINNConfig, command: str = "", resume: bool = False,
               progress: bool = True, device: torch.device | str | None = None,
               init: str | Path | None = None) -> dict:
    """Train (or continue training) a cINN on ``events``; returns the training record.

    ``events``: the paired events in memory, or a
    :class:`~jetviz.unfolding.stream.StreamedEvents` reading them chunk by chunk (the same
    split; its chunking is kept in the record as ``stream``). ``device``: ``cpu``, ``cuda``
    or ``cuda:N`` (default: CUDA when present). ``init``: a cINN checkpoint trained on the
    same training part to start from (its weights, standardisation and sizes;
    ``model_config`` is ignored); it is epoch 0 of the record, kept if no later epoch beats
    it.
    """
    from tqdm import tqdm

    device = resolve_device(device)
    out = Path(out)
    last = out / checkpoints.LAST
    if resume:
        checkpoints.recover_last(out)
        if not last.is_dir():
            raise JetvizInputError(f"--resume: {last} does not exist; train first")
    data = InMemoryEvents(events, config) if isinstance(events, PairedEvents) else events
    score, n_val = data.score, data.n_val
    rank, world = setup_distributed(device)
    xv, yv = torch.as_tensor(data.x_val).to(device), torch.as_tensor(data.y_val).to(device)
    torch.manual_seed(config.seed)
    if resume:
        model, record = load_cinn(last, device)
        model.train()
        if record.get("stream") != data.record:
            raise JetvizInputError(
                f"--resume: the run was trained with stream settings {record.get('stream')}, "
                f"here {data.record}; resume with the same --stream/--chunk-rows/"
                "--buffer-chunks")
    elif init is not None:
        model, record = _start_from(init, device, config, data)
        record["history"].append({**_evaluate(model, xv, yv, score, config.select, 0, 0.0),
                                  "seconds": 0.0})
        record.update(best_epoch=0, best_val_nll=record["history"][0]["val_nll"],
                      best_val_w1_score=record["history"][0].get("val_w1_score"))
        if is_writer():
            save_cinn(out, model, record)
    else:
        model_config = CINNConfig(**{**asdict(model_config), "condition": yv.shape[1],
                                     "features": xv.shape[1]})
        model = ConditionalINN(model_config)
        data.standardise(model)
        model.to(device)
        record = {"commands": [], "train": asdict(config), "history": [], "best_epoch": None,
                  "best_val_nll": None, "data": data.command, "n_train": data.n_train,
                  "n_val": n_val, "n_test": config.n_test}
    if data.record is not None:
        record["stream"] = data.record
    record["commands"] = [*record.get("commands", []), command]
    record.update(device_record(device, world))
    broadcast_parameters(model)
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr,
                                  weight_decay=config.weight_decay)
    stepper = Stepper(optimizer, list(model.parameters()), grad_clip=5.0, world=world)
    if resume:
        checkpoints.load_optimizer(last, optimizer)
        data.resume(len(record["history"]))
    start, epoch = time.perf_counter(), sum(h["epoch"] > 0 for h in record["history"])
    bar = tqdm(total=config.epochs, initial=epoch, desc="cINN", unit="epoch",
               disable=not progress or rank != 0, dynamic_ncols=True)
    while epoch < config.epochs and _in_time(start, config.max_minutes, world):
        model.train()
        losses, steps = [], data.n_batches(epoch)
        for k, (xb, yb) in enumerate(data.batches(epoch)):
            done = (epoch + k / steps) / config.epochs  # of the cosine schedule
            for group in optimizer.param_groups:
                group["lr"] = config.lr * 0.5 * (1 + math.cos(math.pi * done))
            xb, yb = shard(xb, rank, world), shard(yb, rank, world)
            loss = -model.log_prob(xb.to(device), yb.to(device)).mean()
            stepper.step(loss)
            losses.append(loss.item())
        epoch += 1
        train_nll = mean_over_processes(float(np.mean(losses)), world)
        entry = _evaluate(model, xv, yv, score, config.select, epoch, train_nll)
        entry["seconds"] = time.perf_counter() - start
        record["history"].append(entry)
        val = entry["val_nll"]
        if _better(entry, record, config.select):
            record.update(best_epoch=epoch, best_val_nll=val,
                          best_val_w1_score=entry.get("val_w1_score"))
            if is_writer():
                save_cinn(out, model, record)
        if is_writer():
            save_last(out, model, record, optimizer)
        bar.set_postfix(train=f"{train_nll:.3f}", val=f"{val:.3f}",
                        w1=f"{entry.get('val_w1_score', math.nan):.2f}")
        bar.update(1)
    bar.close()
    barrier()  # rank 0 has written the best epoch
    if is_writer():  # the best weights with the full record
        save_cinn(out, load_cinn(out, device)[0], record)
    barrier()
    return record


def _evaluate(model: ConditionalINN, xv: torch.Tensor, yv: torch.Tensor,
              score: MarginalScore, select: str, epoch: int, train_nll: float) -> dict:
    """The history entry of an epoch: NLLs and, for select = "w1", the marginals' score."""
    model.eval()
    val = _mean_nll(model, xv, yv)
    if not math.isfinite(val):
        raise JetvizInputError(f"epoch {epoch}: validation NLL is {val}; lower --lr")
    entry = {"epoch": epoch, "train_nll": train_nll, "val_nll": val}
    if select == "w1":
        w1, ratios = score(model)
        entry.update(val_w1_score=w1 if math.isfinite(w1) else math.inf, val_w1_ratios=ratios)
    return entry


def _start_from(init: str | Path, device: torch.device, config: TrainConfig,
                data: InMemoryEvents | StreamedEvents) -> tuple[ConditionalINN, dict]:
    """(model, record) to continue from checkpoint ``init``, refusing another split."""
    model, earlier = load_cinn(init, device)
    n_train, n_val = data.n_train, data.n_val
    if (earlier.get("n_test"), earlier.get("n_train"), earlier.get("n_val")) != (
            config.n_test, n_train, n_val):
        raise JetvizInputError(
            f"--init {init}: trained with n_test/n_train/n_val = {earlier.get('n_test')}/"
            f"{earlier.get('n_train')}/{earlier.get('n_val')}, here {config.n_test}/{n_train}/"
            f"{n_val}: its training events would be validation or test events here")
    record = {"commands": list(earlier.get("commands", [])), "train": asdict(config),
              "history": [], "best_epoch": None, "best_val_nll": None,
              "data": data.command, "n_train": n_train, "n_val": n_val,
              "n_test": config.n_test, "init": str(init), "init_train": earlier.get("train"),
              "init_history": earlier.get("history", [])}
    return model, record


def _better(entry: dict, record: dict, select: str) -> bool:
    """Whether this epoch beats the best so far (the first epoch always does)."""
    if record["best_epoch"] is None:
        return True
    if select == "w1":
        best = record.get("best_val_w1_score")
        return best is None or entry["val_w1_score"] < best
    return entry["val_nll"] < record["best_val_nll"]


def _in_time(start: float, max_minutes: float, world: int) -> bool:
    """Whether the time budget leaves room for another epoch (rank 0's clock, shared)."""
    flag = torch.tensor([float(time.perf_counter() - start < 60 * max_minutes)])
    if world > 1:
        torch.distributed.broadcast(flag, 0)
    return bool(flag.item())
