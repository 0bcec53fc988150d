"""Training of the theory-map encoders, and the run that trains, evaluates and stores them all.

``train_encoder`` trains one encoder (``jetviz.theorymap.model``) on random sets of the
training events (``jetviz.theorymap.sets``), mirrored at random in η and φ
(``jetviz.theorymap.features.mirror_events``); ``run_training`` does so for every method and
set size, measures each encoder's KDE accuracy (``jetviz.theorymap.kde``), builds its map
(``jetviz.theorymap.maps``) and stores both (``jetviz.theorymap.checkpoint``) with a
``summary.json`` of the whole directory.

Training runs on :func:`jetviz.device.resolve_device`'s device (float16 autocast on CUDA) and,
under torchrun, every process draws the same seeded sets and trains on its share of them
(:mod:`jetviz.device`); rank 0 alone evaluates, maps and writes. With a
:class:`~jetviz.theorymap.stream.StreamedTheories` the sets come from one chunked stream per
theory of the event file instead (``--stream``).
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from jetviz import checkpoints
from jetviz.checkpoints import LAST, load_optimizer, load_weights, save_last
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
from jetviz.events import EventSet
from jetviz.resume import STREAMS, load_last, save_streams
from jetviz.theorymap.checkpoint import (
    KIND,
    SUMMARY,
    collect_table,
    encoder_dir,
    previous_commands,
    save_encoder,
    write_summary,
)
from jetviz.theorymap.features import mirror_events
from jetviz.theorymap.kde import evaluate
from jetviz.theorymap.maps import build_map
from jetviz.theorymap.model import (
    METHOD_LABELS,
    METHODS,
    EncoderConfig,
    SetEncoder,
    contrastive_loss,
    neural_embedding_loss,
    reconstruction_loss,
)
from jetviz.theorymap.sets import (
    TheoryData,
    label_distances,
    prepare_data,
    random_sets,
    theory_to_dict,
)
from jetviz.theorymap.stream import StreamedTheories

SAVE_EVERY = 100  # steps between resumable states (<encoder dir>/last)


@dataclass(frozen=True)
class TrainConfig:
    """How one theory-map encoder is trained; saved with its checkpoint."""

    method: str = "contrastive"  # one of METHODS
    steps: int = 1500  # optimiser steps (fresh random sets every step)
    sets_per_theory: int | None = None  # sets of each theory per batch; None: clip(256/N, 4, 32)
    lr: float = 2e-3  # AdamW learning rate, cosine-decayed to 0
    margin: float = 1.0  # contrastive margin m (latent units)
    recon_weight: float = 0.0  # MSE term added to the NE / contrastive loss (talk: optional)
    mirror: bool = True  # reflect events in η and φ at random (see mirror_events)
    weight_decay: float = 0.0  # AdamW weight decay
    seed: int = 0  # torch and numpy seed of this training


def _resume(out: str | Path | None, model: SetEncoder, encoder: EncoderConfig,
            config: TrainConfig, opt, sched, rng: np.random.Generator,
            gen: torch.Generator, stream: dict | None = None) -> dict:
    """Load ``out/last`` into the run (weights, optimizer, schedule, random streams); returns
    its record (history, running loss, seconds, steps done)."""
    if out is None:
        raise JetvizInputError("resume needs the directory of the interrupted run (out)")
    payload = load_last(out, KIND, rng=rng, generator=gen)
    stored = payload["config"]
    if (stored["encoder"] != dataclasses.asdict(encoder)
            or {**stored["train"], "steps": config.steps} != dataclasses.asdict(config)
            or config.steps < stored["train"]["steps"]
            or stored.get("stream") != stream):
        raise JetvizInputError(f"{out}/last was trained with other settings ({stored}); "
                               "resume with the same ones (more --steps may extend the run)")
    load_weights(Path(out) / LAST, model)
    load_optimizer(Path(out) / LAST, opt)
    sched.load_state_dict(payload["record"]["scheduler"])
    return payload["record"]


def train_encoder(data: TheoryData, encoder: EncoderConfig, config: TrainConfig,
                  progress: bool = False, device: torch.device | str | None = None,
                  out: str | Path | None = None, resume: bool = False,
                  save_every: int | None = None, stream: StreamedTheories | None = None
                  ) -> tuple[SetEncoder, dict]:
    """Train one encoder on the training split of ``data``.

    Args:
        data: the prepared theories.
        encoder: the architecture.
        config: the run.
        progress: print the loss every ``loss_every_steps`` steps (rank 0).
        device: ``cpu``, ``cuda`` or ``cuda:N`` (default: CUDA when present).
        out: where ``out/last`` keeps the state every ``save_every`` steps (default
            ``SAVE_EVERY``) and at the end (rank 0), from which ``resume`` continues exactly
            (None: not resumable).
        resume: continue from ``out/last`` (same settings; more steps may extend the run).
        stream: train on the sets of this chunked reader of the event file (``data`` is then
            its ``data``) instead of random sets of the in-memory training events.

    Returns:
        The trained model (eval mode, on the CPU for evaluation and saving) and a record: the
        mean loss every ``loss_every_steps`` steps, the seconds taken, the device and the
        number of processes.
    """
    if config.method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {config.method!r}")
    device = resolve_device(device)
    rank, world = setup_distributed(device)
    torch.manual_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    train = None if stream else [torch.from_numpy(x) for x in data.standardised("train")]
    n_theories, n = len(data.theories), encoder.set_size
    label_d = torch.as_tensor(label_distances(data.theories), dtype=torch.float32).to(device)
    per_theory = config.sets_per_theory or int(np.clip(256 // n, 4, 32))
    labels = shard(torch.arange(n_theories).repeat_interleave(per_theory), rank,
                   world).to(device)
    model = SetEncoder(encoder).to(device)
    broadcast_parameters(model)
    gen = torch.Generator().manual_seed(config.seed)
    opt = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    stepper = Stepper(opt, list(model.parameters()), grad_scaler(device), world=world)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=config.steps)
    every = max(1, min(100, config.steps // 10))  # log the mean loss every `every` steps
    history, running, before, done = [], 0.0, 0.0, 0
    run_config = {"encoder": dataclasses.asdict(encoder), "train": dataclasses.asdict(config),
                  **({"stream": stream.record} if stream else {})}
    if resume:
        state = _resume(out, model, encoder, config, opt, sched, rng, gen,
                        run_config.get("stream"))
        history, running, before, done = (state["history"], state["running"],
                                          state["seconds"], state["steps_done"])
    save_every, start = save_every or SAVE_EVERY, time.perf_counter()
    sets = stream.batches(per_theory, n, done) if stream else None
    for step in range(done + 1, config.steps + 1):
        x = (torch.from_numpy(next(sets)) if stream else
             torch.cat([t[torch.from_numpy(random_sets(len(t), per_theory, n, rng))]
                        for t in train]))  # (B, N, F), B = per_theory × T
        if config.mirror:
            x = mirror_events(x, data.scaler, gen)
        x = shard(x, rank, world).to(device)  # this process's sets (labels sharded alike)
        with autocast(device):
            z = model(x)  # (B, D)
            if config.method == "autoencoder":
                loss = reconstruction_loss(model, x, z)
            else:
                pair = (contrastive_loss(z, labels, config.margin)
                        if config.method == "contrastive"
                        else neural_embedding_loss(z, labels, label_d))
                loss = pair + (config.recon_weight * reconstruction_loss(model, x, z)
                               if config.recon_weight > 0 else 0.0)
        stepper.step(loss)
        sched.step()
        running += float(loss.detach())
        if step % every == 0:
            history.append(round(mean_over_processes(running / every, world), 6))
            running = 0.0
            if progress and rank == 0:
                print(f"  {config.method} N={n} step {step}/{config.steps} loss {history[-1]:.4f}",
                      flush=True)
        if out is not None and is_writer() and (step % save_every == 0 or step == config.steps):
            streams, tensors = save_streams(rng, gen)
            save_last(out, KIND, model=model, optimizer=opt, parts={STREAMS: tensors},
                      config=run_config,
                      record={"history": history, "running": running, "steps_done": step,
                              "seconds": before + time.perf_counter() - start,
                              "scheduler": sched.state_dict(), "streams": streams})
    model.eval()
    return model.cpu(), {"loss_history": history, "loss_every_steps": every,
                         "seconds": round(before + time.perf_counter() - start, 1),
                         **device_record(device, world)}


def run_training(events: EventSet | StreamedTheories, out: str | Path,
                 set_sizes: Sequence[int] = (1, 16, 64),
                 methods: Sequence[str] = METHODS, encoder: EncoderConfig | None = None,
                 train: TrainConfig | None = None, command: str = "",
                 progress: bool = True,
                 reduce: Callable[[np.ndarray], np.ndarray] | None = None,
                 device: torch.device | str | None = None, resume: bool = False) -> dict:
    """Train every (method, set size), evaluate its KDE accuracy, store model and map.

    ``reduce`` replaces UMAP for the stored 2-D coordinates (see ``build_map``). Training
    runs on ``device`` (default: CUDA when present); under torchrun every process trains,
    rank 0 alone evaluates and writes, and the others return the summary it wrote (as JSON).
    Each encoder's training state is kept in its directory's ``last/``; with ``resume`` an
    encoder interrupted mid-training continues from it (the others train from the start).
    ``events`` read chunk by chunk (:class:`~jetviz.theorymap.stream.StreamedTheories`) train
    on its streamed sets and evaluate and map its bounded in-memory samples.

    Returns:
        The summary written to ``out/summary.json``.
    """
    encoder, train = encoder or EncoderConfig(), train or TrainConfig()
    stream = events if isinstance(events, StreamedTheories) else None
    data = stream.data if stream else prepare_data(events, seed=train.seed)
    if stream and stream.seed != train.seed:
        raise JetvizInputError(f"the stream was split with seed {stream.seed}, the training "
                               f"has seed {train.seed}: give both the same")
    start = time.perf_counter()
    for n in set_sizes:
        for method in methods:
            enc = dataclasses.replace(encoder, set_size=n)
            cfg = dataclasses.replace(train, method=method)
            state = encoder_dir(out, method, n)
            checkpoints.recover_last(state)
            again = resume and (state / checkpoints.LAST).is_dir()
            model, record = train_encoder(data, enc, cfg, progress=progress, device=device,
                                          out=state, resume=again, stream=stream)
            if not is_writer():
                continue
            t0 = time.perf_counter()
            record.update(evaluate(model, data, n, seed=train.seed))
            record["evaluate_seconds"] = round(time.perf_counter() - t0, 1)
            t0 = time.perf_counter()
            tmap = build_map(model, method, data, seed=train.seed, reduce=reduce)
            record["map_seconds"] = round(time.perf_counter() - t0, 1)
            save_encoder(out, model, dataclasses.asdict(cfg), data.scaler, data.theories, record,
                         tmap)
            if progress:
                print(f"{method:>16} N={n:<3} accuracy {record['accuracy']:.3f}  unphysical→self "
                      f"{record['unphysical_self']:.3f}  mass-plane ρ "
                      f"{record['mass_plane_spearman']:.2f}  ({record['seconds']} s)", flush=True)
    if not is_writer():
        barrier()  # rank 0 writes the summary, then joins this barrier
        return json.loads((Path(out) / SUMMARY).read_text())
    # the table covers every model in ``out`` trained on the same theories with the same seed,
    # so set sizes can be trained in separate runs (each run's command is kept)
    table, sizes = collect_table(out, [t.name for t in data.theories], train.seed)
    commands = previous_commands(out)
    summary = {
        "command": command,
        "commands": [*commands, command],
        "events": events.source,
        "events_command": events.attrs.get("command", ""),
        "seed": train.seed,
        "test_fraction": data.test_fraction,
        "theories": [theory_to_dict(t) for t in data.theories],
        "train_events": stream.train_rows if stream else [len(a) for a in data.train_raw],
        "test_events": [len(a) for a in data.test_raw],
        "methods": [m for m in METHODS if m in table],
        "set_sizes": sizes,
        "encoder": dataclasses.asdict(encoder),
        "train": dataclasses.asdict(train),
        **({"stream": stream.record} if stream else {}),
        "table": table,
        "total_seconds": round(time.perf_counter() - start, 1),
    }
    write_summary(out, summary)
    barrier()
    return summary


def format_table(table: dict[str, dict[str, dict]], set_sizes: Sequence[int]) -> str:
    """The accuracy table as text: method × set size, then the unphysical self-assignment."""
    sizes = [str(n) for n in set_sizes]
    lines = ["KDE accuracy (held-out sets)",
             f"{'method':>18} " + " ".join(f"{'N=' + n:>8}" for n in sizes)]
    for key, title in (("accuracy", "all theories"), ("unphysical_self", "unphysical → self")):
        lines.append(f"  {title}")
        for method, row in table.items():
            lines.append(f"{method:>18} " + " ".join(
                f"{row[n][key]:8.3f}" if n in row else f"{'—':>8}" for n in sizes))
    return "\n".join(lines)




def accuracy_rows(summary: dict, set_size: int) -> list[dict[str, str]]:
    """Each method's KDE accuracy at one set size as text rows (method, accuracy,
    unphysical → itself, mass-plane ρ), for a table on the page."""
    rows = []
    for method, by_size in summary["table"].items():
        rec = by_size.get(str(set_size))
        if rec is None:
            continue
        rows.append({
            "method": METHOD_LABELS.get(method, method),
            "accuracy": f"{100 * rec['accuracy']:.1f} %",
            "unphysical → itself": f"{100 * rec['unphysical_self']:.1f} %",
            "mass-plane ρ": f"{rec['mass_plane_spearman']:.2f}",
        })
    return rows
