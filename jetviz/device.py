"""Where and how a model trains: the device, mixed precision and data-parallel processes.

One path for every jetviz trainer (the β-VAE, the flow prior, the mass-MMD fine-tuning, the
theory-map encoders, JetCLR, the anomaly taggers and the unfolding cINN):

- **Device**: :func:`resolve_device` — CUDA when a GPU is visible, else the CPU; a name
  (``--device cpu``, ``cuda``, ``cuda:1``) overrides, and an unknown or absent device is a
  :class:`~jetviz.errors.JetvizInputError`. Under torchrun, ``cuda`` means each process's
  own GPU (``cuda:LOCAL_RANK``).
- **Processes**: :func:`setup_distributed` joins torchrun's process group (NCCL on CUDA, gloo
  on the CPU); a plain ``python`` run is one process (rank 0 of 1) and never touches
  ``torch.distributed``.
- **Sharding**: every process draws the *same* seeded batch (the same generator, the same
  seed) and keeps its share, :func:`shard` = rows ``rank, rank + world, …``: the shares of
  the processes are disjoint and cover the batch, so N processes see what one process with
  the same seed sees. With one process the share is the whole batch, so a one-process run
  draws exactly what it did before this module existed.
- **A step**: :class:`Stepper` — backward (loss-scaled under CUDA AMP), gradients averaged
  over the processes, clipping, the optimizer step. The one all-reduce of a step carries the
  gradients and whether each process's loss is finite, so a NaN anywhere stops every process
  without a synchronisation of its own (each is a wait for the slowest process). Identical
  gradients on every process keep the replicas identical (the initial weights are made
  identical by :func:`broadcast_parameters`).
- **Mixed precision**: :func:`autocast` is ``torch.autocast`` (float16) on CUDA and a no-op
  elsewhere; :func:`grad_scaler` is a GradScaler on CUDA and None elsewhere, so a CPU run's
  arithmetic is untouched.
- **Files**: only rank 0 writes (:func:`is_writer`); :func:`barrier` lets the others wait
  for a file before reading it.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import torch
import torch.distributed as dist

from jetviz.errors import JetvizInputError


def default_device() -> torch.device:
    """CUDA if a GPU is visible, else the CPU."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def resolve_device(name: str | torch.device | None = None) -> torch.device:
    """The device to train on: ``name`` (``cpu``, ``cuda``, ``cuda:N``) or, for None or
    ``auto``, CUDA when present, else the CPU.

    Under torchrun (``WORLD_SIZE`` > 1) a bare ``cuda`` becomes ``cuda:LOCAL_RANK``, one GPU
    per process, and that GPU is made the current one (NCCL needs it).

    Raises:
        JetvizInputError: an unknown device name, or a CUDA device this machine does not have.
    """
    if name is None or str(name) == "auto":
        device = default_device()
    else:
        try:
            device = torch.device(name)
        except (RuntimeError, TypeError) as err:
            raise JetvizInputError(f"unknown device {str(name)!r}: use cpu, cuda or cuda:N "
                                   "(or leave --device out: CUDA when present)") from err
    if device.type == "cpu":
        return torch.device("cpu")
    if device.type != "cuda":
        raise JetvizInputError(f"device {str(name)!r}: jetviz trains on cpu or cuda")
    count = torch.cuda.device_count() if torch.cuda.is_available() else 0
    if count == 0:
        raise JetvizInputError(f"device {str(name)!r}: no CUDA GPU is visible on this machine "
                               f"(torch {torch.__version__}, CUDA build "
                               f"{torch.version.cuda or 'none'}); use --device cpu")
    if device.index is None and int(os.environ.get("WORLD_SIZE", "1")) > 1:
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
    if device.index is not None and device.index >= count:
        raise JetvizInputError(f"device {device}: this machine has {count} CUDA GPU(s), "
                               f"cuda:0 to cuda:{count - 1}")
    if device.index is not None:
        torch.cuda.set_device(device)
    return device


def dist_info() -> tuple[int, int]:
    """(rank, world size): from an initialised process group, else torchrun's environment."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return int(os.environ.get("RANK", "0")), int(os.environ.get("WORLD_SIZE", "1"))


def setup_distributed(device: torch.device) -> tuple[int, int]:
    """Join torchrun's process group if there is one (gloo on CPU, NCCL on CUDA).

    Returns:
        (rank, world size); (0, 1) for a plain one-process run.
    """
    rank, world = dist_info()
    if world > 1 and not dist.is_initialized():
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
        rank, world = dist.get_rank(), dist.get_world_size()
    return rank, world


def shutdown_distributed() -> None:
    """Leave the process group, if this process joined one (at the end of a command)."""
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def is_writer() -> bool:
    """Whether this process writes files: rank 0 (the only process of a plain run)."""
    return dist_info()[0] == 0


def barrier() -> None:
    """Wait for every process (nothing to wait for in a one-process run)."""
    if dist.is_available() and dist.is_initialized():
        dist.barrier()


def shard(batch: np.ndarray | torch.Tensor, rank: int, world: int) -> np.ndarray | torch.Tensor:
    """This process's share of a batch every process drew alike: rows rank, rank + world, …

    The shares of ranks 0 … world − 1 are disjoint and cover the batch; world = 1 gives the
    batch itself. A batch with fewer rows than processes (a ragged last batch) is given
    whole to every process: averaging their identical gradients gives its gradient.
    """
    if not 0 <= rank < world:
        raise JetvizInputError(f"rank {rank} outside a world of {world} processes")
    return batch if world == 1 or len(batch) < world else batch[rank::world]


def mean_over_processes(values: float | list[float], world: int) -> float | list[float]:
    """The mean over the processes of a per-process number or list (what the record keeps
    of losses each process measured on its share); ``values`` itself for one process."""
    if world <= 1:
        return values
    total = torch.as_tensor(values, dtype=torch.float64).clone()
    dist.all_reduce(total)
    total /= world
    return total.item() if total.ndim == 0 else total.tolist()


def broadcast_parameters(module: torch.nn.Module) -> None:
    """Copy rank 0's parameters and buffers to every process (no-op for one process)."""
    if dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1:
        for tensor in module.state_dict().values():
            dist.broadcast(tensor, 0)


def grad_scaler(device: torch.device, enabled: bool = True) -> torch.amp.GradScaler | None:
    """A GradScaler for float16 autocast on CUDA; None on the CPU (or when not ``enabled``)."""
    return torch.amp.GradScaler("cuda") if enabled and device.type == "cuda" else None


def autocast(device: torch.device, enabled: bool = True) -> contextlib.AbstractContextManager:
    """Float16 autocast on CUDA; on the CPU (or when not ``enabled``) a context that does
    nothing, so CPU results are bit-identical to code without it."""
    if enabled and device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.float16)
    return contextlib.nullcontext()


def average_gradients(params: Iterable[torch.nn.Parameter], world: int,
                      flags: torch.Tensor | None = None) -> torch.Tensor | None:
    """Average the gradients of ``params`` over the processes (one all-reduce).

    ``flags`` (a 1-d float tensor) ride along in the same all-reduce: returned summed over
    the processes (None stays None; one process gets them back as they are).
    """
    grads = [p.grad for p in params if p.grad is not None]
    if world <= 1 or (not grads and flags is None):
        return flags
    parts = [g.reshape(-1) for g in grads]
    if flags is not None:
        parts.append(flags.to(parts[0].device, parts[0].dtype) if parts else flags)
    flat = torch.cat(parts)
    dist.all_reduce(flat)
    size = flat.numel() - (0 if flags is None else flags.numel())
    flat[:size] /= world
    offset = 0
    for g in grads:
        g.copy_(flat[offset:offset + g.numel()].view_as(g))
        offset += g.numel()
    return None if flags is None else flat[size:].to(flags.dtype)


@dataclass
class Stepper:
    """One optimizer step of any trainer: backward, average over processes, clip, step.

    Attributes:
        optimizer: the optimizer.
        params: the parameters it updates (averaged and clipped).
        scaler: from :func:`grad_scaler` (None: no loss scaling, e.g. on the CPU).
        grad_clip: gradient-norm cap after averaging (0: none).
        world: the number of processes.
    """

    optimizer: torch.optim.Optimizer
    params: list[torch.nn.Parameter]
    scaler: torch.amp.GradScaler | None = None
    grad_clip: float = 0.0
    world: int = 1

    def step(self, loss: torch.Tensor) -> bool:
        """Backpropagate ``loss`` and take one (averaged, clipped, AMP-scaled) step.

        Returns:
            True; False when the loss is NaN/inf on any process: then no process steps (its
            weights stay as they were) and every caller can stop together. The processes
            learn it from the all-reduce that averages the gradients, not a separate one.
        """
        self.optimizer.zero_grad(set_to_none=True)
        if self.scaler is not None:
            self.scaler.scale(loss).backward()
        else:
            loss.backward()
        bad = (~torch.isfinite(loss.detach().float().reshape(1))).float()
        if self.world > 1:
            bad = average_gradients(self.params, self.world, flags=bad)
        if bool(bad.item()):
            self.optimizer.zero_grad(set_to_none=True)
            return False
        if self.scaler is not None:
            self.scaler.unscale_(self.optimizer)
        if self.grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(self.params, self.grad_clip)
        if self.scaler is not None:
            self.scaler.step(self.optimizer)
            self.scaler.update()
        else:
            self.optimizer.step()
        return True


def device_record(device: torch.device, world: int) -> dict:
    """What a checkpoint's record keeps about where it trained."""
    return {"device": str(device), "world_size": world, "torch": torch.__version__}
