"""Helpers for the device and DDP tests: a device this machine lacks, and a 2-process gloo run.

    ABSENT                          # "cuda" without a GPU, else one GPU past the last
    run_two_processes(fn, *args)    # fn(rank, *args) in 2 CPU processes of one gloo group
"""

from __future__ import annotations

import os
import socket
import sys

import torch
import torch.distributed as dist
import torch.multiprocessing as mp

ABSENT = (f"cuda:{torch.cuda.device_count()}" if torch.cuda.is_available() else "cuda")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _worker(rank: int, port: int, fn, args: tuple) -> None:
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank,
                            world_size=2)
    try:
        fn(rank, *args)
        dist.barrier()  # both ranks are done with every collective
    except BaseException:
        dist.destroy_process_group()
        raise
    # Leave without the interpreter's teardown: in a long test session it sometimes aborted
    # there ("terminate called without an active exception", SIGABRT) after fn had passed.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def run_two_processes(fn, *args) -> None:
    """Run ``fn(rank, *args)`` in 2 spawned CPU processes joined in one gloo group (what
    ``torchrun --nproc_per_node=2`` sets up); ``fn`` must be importable (module level)."""
    mp.spawn(_worker, args=(_free_port(), fn, args), nprocs=2, join=True)
