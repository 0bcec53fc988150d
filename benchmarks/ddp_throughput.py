"""Data-parallel training throughput: jets per second of the β-VAE and JetCLR trained by one
CPU process and by 2 gloo processes (what ``torchrun --nproc_per_node=2`` runs), one torch
thread each, on real jets of the embedded default file; prints the ratio (goal ≥ 1.6).

    python benchmarks/ddp_throughput.py [--jets 2048] [--steps 40] [--pin]

Each run is a fresh spawned process group (one process, then two) training the same seeded
model on the same jets. The batch sizes are those of the commands: ``jetviz train``'s batch
(256, its default) is per process, so two processes see twice the jets per step; JetCLR's
batch (128) is the run's, shared by the processes. The VAE's rate is the median over its
epochs (the first one pays numba's compilation) of the jets all processes saw per second (its
record's ``throughput``); JetCLR's is the jets of its steps after the first per second.

The machine is shared, so each figure comes with the 1-minute load average at the end of its
run: with other work on the 2 cores the wall-clock ratio says more about that work than about
the code. Figures per process (rank 0's; for the unrelated pair, their mean):

- **CPU ms/jet**: its CPU time (all its threads, gloo's included) per jet it trained (per
  epoch after the first, with the validation pass; JetCLR: per step after the first). "2 free
  cores" = 2 × CPU per jet of one process / CPU per jet of each of two: the ratio two idle
  cores would give if the processes never waited. Other work barely changes it.
- **busy**: its CPU time over its wall time in the same stretch; 1 − busy is the time it
  waited, for the other process at a synchronisation or for a core other work held (so
  only a quiet machine's figure says how long the synchronisations wait).
- **2 unrelated**: the same run as the one process, twice at once in two processes that share
  nothing (no process group): their CPU per jet is what two busy cores cost per jet without
  any data-parallel work, so "2 processes" above it is the cost of DDP itself, and "2
  unrelated" above "1 process" is the cost of the cores' shared hardware.
- ``--pin`` adds a run of the 2 processes each bound to its own core (``sched_setaffinity``):
  a higher rate or busy fraction than the unpinned run means the scheduler's placement of
  the processes (and of gloo's threads) costs wall time.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import sys
import tempfile
import time
from pathlib import Path
from typing import NamedTuple

import numpy as np

# As `jetviz train` does (jetviz/cli/train.py): idle OpenMP threads sleep instead of spinning.
# Read when torch loads, so set before the import.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import torch
import torch.distributed as dist
import torch.multiprocessing as mp

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _vae(n_jets: int, steps: int) -> tuple[float, float, float]:
    from jetviz.paths import DEFAULT_JETS
    from jetviz.readers import load_jets
    from jetviz.vae.model import VAEConfig
    from jetviz.vae.train import TrainConfig, train

    jets = load_jets(str(DEFAULT_JETS), n_particles=30)
    jets = jets.subset(slice(0, n_jets))
    batch = 256  # per process: `jetviz train`'s default --batch-size
    epochs = max(3, round(steps * batch / (0.9 * n_jets)))
    clock = [(time.perf_counter(), time.process_time())]

    def tick(epoch: int, record: dict) -> None:  # rank 0, after each epoch
        clock.append((time.perf_counter(), time.process_time()))

    _, record = train(VAEConfig(loss="exact"), jets,
                      TrainConfig(epochs=epochs, batch_size=batch, scan_points=0,
                                  patience=10**6), device="cpu", callback=tick)
    if len(clock) < 3:  # not rank 0: no ticks
        return 0.0, 0.0, 0.0
    wall, cpu = np.diff(np.array(clock[1:]), axis=0).T  # per epoch after the first (numba)
    world = record["world_size"]
    jets = [h["jets_per_s"] * h["seconds"] / world for h in record["history"][1:]]  # its own
    return (float(record["throughput"]), float(np.median(cpu / jets)),
            float(cpu.sum() / wall.sum()))


def _jetclr(n_jets: int, steps: int) -> tuple[float, float, float]:
    from jetviz.jetclr.train import TrainConfig, train
    from jetviz.paths import DEFAULT_JETS
    from jetviz.readers import load_jets

    jets = load_jets(str(DEFAULT_JETS)).subset(slice(0, n_jets))
    config = TrainConfig(augmentations="all", steps=steps, batch_size=128)
    marks: list[tuple[float, float]] = []

    def tick(step: int, loss: float) -> None:  # rank 0, at step 0 and the last step
        marks.append((time.perf_counter(), time.process_time()))

    train(jets.particles, jets.mask, config, jet_pt=jets.jets[:, 0], device="cpu",
          progress=tick)
    if len(marks) < 2:  # not rank 0: no marks
        return 0.0, 0.0, 0.0
    n = (steps - 1) * config.batch_size  # the jets between the first and the last mark
    wall, cpu = marks[-1][0] - marks[0][0], marks[-1][1] - marks[0][1]
    world = dist.get_world_size() if dist.is_initialized() else 1
    return n / wall, cpu / (n / world), cpu / wall  # the run's batch is shared by the world


def _worker(rank: int, world: int, port: int, name: str, n_jets: int, steps: int,
            out: str, together: bool, pin: bool) -> None:
    torch.set_num_threads(1)
    if pin:  # this process (and the gloo threads it starts) on core rank only
        os.sched_setaffinity(0, {rank % (os.cpu_count() or 1)})
    if not together:  # an unrelated one-process run (the "2 unrelated" control)
        figures = {"vae": _vae, "jetclr": _jetclr}[name](n_jets, steps)
        Path(f"{out}.{rank}").write_text(json.dumps(figures))
        return
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank,
                            world_size=world)
    try:
        figures = {"vae": _vae, "jetclr": _jetclr}[name](n_jets, steps)
        if rank == 0:
            Path(f"{out}.0").write_text(json.dumps(figures))
        dist.barrier()  # both ranks are done with every collective
    except BaseException:
        dist.destroy_process_group()
        raise
    # Leave without the interpreter's teardown, where a gloo thread aborted the process
    # ("terminate called without an active exception", SIGABRT) after the run had finished;
    # tests/support_device.py does the same.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


class Run(NamedTuple):
    """One measured run (rank 0's figures; for unrelated processes, their mean)."""

    rate: float  # jets per second of all processes together
    cpu_ms: float  # CPU milliseconds per jet of one process (its own jets)
    busy: float  # CPU time / wall time of one process
    load: float  # the 1-minute load average at the end of the run


def measure(name: str, world: int, n_jets: int, steps: int, together: bool = True,
            pin: bool = False) -> Run:
    """``name`` trained by ``world`` processes of one gloo group, or (``together`` False) by
    ``world`` unrelated one-process runs at the same time; ``pin``: process r on core r."""
    with tempfile.TemporaryDirectory() as tmp:
        out = str(Path(tmp) / "rate.json")
        mp.spawn(_worker, args=(world, _port(), name, n_jets, steps, out, together, pin),
                 nprocs=world)
        runs = [json.loads(Path(f"{out}.{r}").read_text())
                for r in range(world if not together else 1)]
        rate, cpu, busy = np.mean(runs, axis=0)
        return Run(float(rate) * (1 if together else world), 1e3 * float(cpu), float(busy),
                   os.getloadavg()[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jets", type=int, default=2048, help="training jets")
    parser.add_argument("--steps", type=int, default=40, help="optimizer steps per run")
    parser.add_argument("--pin", action="store_true",
                        help="also run the 2 processes each pinned to its own core (whether "
                             "where the scheduler puts them costs wall time)")
    args = parser.parse_args()

    print(f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} before the runs "
          "(other work on the cores lowers the wall-clock ratio)")
    print(f"{'trainer':>8} {'1 process':>20} {'2 processes':>20} {'ratio':>6} "
          f"{'CPU ms/jet/process 1 / 2 / 2 unrelated':>39} {'busy 1 / 2 / 2 unrel.':>22} "
          f"{'2 free cores':>12}")
    for name in ("vae", "jetclr"):
        one = measure(name, 1, args.jets, args.steps)
        two = measure(name, 2, args.jets, args.steps)
        apart = measure(name, 2, args.jets, args.steps, together=False)
        print(f"{name:>8} {one.rate:7.0f}/s (load {one.load:3.1f}) {two.rate:7.0f}/s (load "
              f"{two.load:3.1f}) {two.rate / one.rate:6.2f} {one.cpu_ms:13.3f} / "
              f"{two.cpu_ms:5.3f} / {apart.cpu_ms:5.3f} (load {apart.load:3.1f}) "
              f"{one.busy:5.2f} / {two.busy:4.2f} / {apart.busy:4.2f} "
              f"{2 * one.cpu_ms / two.cpu_ms:12.2f}", flush=True)
        if args.pin:
            pinned = measure(name, 2, args.jets, args.steps, pin=True)
            print(f"{'pinned':>8} {'':>20} {pinned.rate:7.0f}/s (load {pinned.load:3.1f}) "
                  f"{pinned.rate / one.rate:6.2f} {'':>13}   {pinned.cpu_ms:5.3f} {'':>19} "
                  f"{pinned.busy:4.2f}", flush=True)
    print("goal: ratio ≥ 1.6. 'CPU ms/jet/process': CPU time of one process per jet it "
          "trained; '2 unrelated': two one-process runs at once, no process group (the cores' "
          "shared hardware, no DDP); 'busy': CPU time / wall time of one process; "
          "'2 free cores' = 2 × CPU 1 / CPU 2, the ratio two idle cores would give")


if __name__ == "__main__":
    main()
