"""Data-parallel training throughput: jets per second of the β-VAE and JetCLR trained by one
CPU process and by 2 gloo processes (what ``torchrun --nproc_per_node=2`` runs), one torch
thread each, on real jets of the embedded default file; prints the ratio (goal ≥ 1.6).

    python benchmarks/ddp_throughput.py [--jets 2048] [--steps 40]

Each run is a fresh spawned process group (one process, then two) training the same seeded
model on the same jets. The batch sizes are those of the commands: ``jetviz train``'s batch
(256, its default) is per process, so two processes see twice the jets per step; JetCLR's
batch (128) is the run's, shared by the processes. The VAE's rate is the median over its epochs (the
first one pays numba's compilation) of the jets all processes saw per second (its record's
``throughput``); JetCLR's is steps × batch / seconds. On a machine whose cores are busy with
other work the ratio is lower than the hardware's.
"""

from __future__ import annotations

import argparse
import json
import socket
import sys
import tempfile
from pathlib import Path

import torch
import torch.distributed as dist
import torch.multiprocessing as mp

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _vae(n_jets: int, steps: int) -> float:
    from jetviz.paths import DEFAULT_JETS
    from jetviz.readers import load_jets
    from jetviz.vae.model import VAEConfig
    from jetviz.vae.train import TrainConfig, train

    jets = load_jets(str(DEFAULT_JETS), n_particles=30)
    jets = jets.subset(slice(0, n_jets))
    batch = 256  # per process: `jetviz train`'s default --batch-size
    epochs = max(3, round(steps * batch / (0.9 * n_jets)))
    _, record = train(VAEConfig(loss="exact"), jets,
                      TrainConfig(epochs=epochs, batch_size=batch, scan_points=0,
                                  patience=10**6), device="cpu")
    return float(record["throughput"])


def _jetclr(n_jets: int, steps: int) -> float:
    from jetviz.jetclr.train import TrainConfig, train
    from jetviz.paths import DEFAULT_JETS
    from jetviz.readers import load_jets

    jets = load_jets(str(DEFAULT_JETS)).subset(slice(0, n_jets))
    config = TrainConfig(augmentations="all", steps=steps, batch_size=128)
    _, record = train(jets.particles, jets.mask, config, jet_pt=jets.jets[:, 0], device="cpu")
    return steps * config.batch_size / record["seconds"]


def _worker(rank: int, world: int, port: int, name: str, n_jets: int, steps: int,
            out: str) -> None:
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank,
                            world_size=world)
    try:
        rate = {"vae": _vae, "jetclr": _jetclr}[name](n_jets, steps)
        if rank == 0:
            Path(out).write_text(json.dumps(rate))
    finally:
        dist.destroy_process_group()


def measure(name: str, world: int, n_jets: int, steps: int) -> float:
    """Jets per second of ``name`` trained by ``world`` processes."""
    with tempfile.TemporaryDirectory() as tmp:
        out = str(Path(tmp) / "rate.json")
        mp.spawn(_worker, args=(world, _port(), name, n_jets, steps, out), nprocs=world)
        return float(json.loads(Path(out).read_text()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jets", type=int, default=2048, help="training jets")
    parser.add_argument("--steps", type=int, default=40, help="optimizer steps per run")
    args = parser.parse_args()
    import os

    load = os.getloadavg()[0]
    print(f"{os.cpu_count()} cores, load average {load:.1f} before the runs (other work "
          "on the cores lowers the ratio)")
    print(f"{'trainer':>8} {'1 process':>12} {'2 processes':>12} {'ratio':>7}  goal ≥ 1.6")
    for name in ("vae", "jetclr"):
        one = measure(name, 1, args.jets, args.steps)
        two = measure(name, 2, args.jets, args.steps)
        print(f"{name:>8} {one:10.0f}/s {two:10.0f}/s {two / one:7.2f}", flush=True)


if __name__ == "__main__":
    main()
