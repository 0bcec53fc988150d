"""Benchmark of jetviz's EMD solvers (run: ``python benchmarks/emd.py``).

On the same jets, in one run, pairs per second for:

* **reference**: POT's exact ``ot.emd2`` called one pair at a time from Python (cost matrix
  from ``scipy.spatial.distance.cdist``, the energyflow dummy particle), one process;
* ``pairwise_emds`` (exact, all pairs of a set, upper triangle) with 1 and 2 worker processes;
* ``paired_emds`` (exact, N diagonal pairs) with 2 worker processes;
* ``sinkhorn_emd`` forward (no autograd) and forward + backward, batch B = 256, on the CPU;

with each ratio to the reference — in wall-clock time, and in CPU time of the busiest process
(the rate on idle cores, which shows the split over worker processes even when the shared
machine is loaded) — and the median / 95th percentile relative error of
Sinkhorn against the exact EMD on those jets and on random events. Jets are the embedded
default sample (``checkpoints/jets_default.h5``, weights ptrel × pT in GeV) when present,
else seeded synthetic 30-particle jets. Figures are medians over repeats of wall-clock time
(the machine may be shared: its load average is printed with them).
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

os.environ.setdefault("OMP_NUM_THREADS", "1")

import ot
import torch
from scipy.spatial.distance import cdist

import jetviz.emd as emd_module
from jetviz.emd import events_from_jets, paired_emds, pairwise_emds, sinkhorn_emd
from jetviz.jets import JetSet
from jetviz.paths import DEFAULT_JETS

R = 0.8


def synthetic_jets(n: int, p: int, seed: int) -> JetSet:
    """Seeded jets like tests/conftest.make_jetset: falling ptrel, (η, φ) width 0.2, pT ~ 1 TeV."""
    rng = np.random.default_rng(seed)
    counts = rng.integers(p // 2, p + 1, size=n)
    mask = np.arange(p)[None, :] < counts[:, None]
    raw = np.sort(rng.exponential(1.0, size=(n, p)), axis=1)[:, ::-1] * mask
    ptrel = raw / raw.sum(1, keepdims=True)
    eta, phi = rng.normal(0, 0.2, (n, p)) * mask, rng.normal(0, 0.2, (n, p)) * mask
    particles = np.stack([ptrel, eta, phi], -1).astype(np.float32)
    jets = np.stack([rng.uniform(900, 1100, n), np.zeros(n), np.zeros(n), np.full(n, 100.0),
                     counts], -1).astype(np.float32)
    return JetSet(particles, mask, jets, np.zeros(n, dtype=np.int64), source="synthetic")


def load_events(n: int, seed: int) -> tuple[np.ndarray, str]:
    """(n, P, 3) events (pT [GeV], etarel, phirel) drawn from the default sample if present."""
    if DEFAULT_JETS.exists():
        from jetviz.store import read_jets

        jets = read_jets(DEFAULT_JETS)
        pick = np.random.default_rng(seed).choice(len(jets), size=n, replace=False)
        return events_from_jets(jets.subset(np.sort(pick))), f"{DEFAULT_JETS.name} (mixed classes)"
    return events_from_jets(synthetic_jets(n, 30, seed)), "synthetic 30-particle jets"


def random_events(n: int, p: int, seed: int) -> np.ndarray:
    """Uniform weights (total ≈ 500 GeV) and positions in the cone: many near-ties."""
    rng = np.random.default_rng(seed)
    w = rng.uniform(0.0, 1.0, (n, p)) * 1000.0 / p
    return np.concatenate([w[..., None], rng.uniform(-R, R, (n, p, 2))], -1)


def reference_emds(ev_a: np.ndarray, ev_b: np.ndarray) -> np.ndarray:
    """The reference: exact EMD with ``ot.emd2``, one pair at a time."""
    out = np.empty(len(ev_a))
    for k, (a, b) in enumerate(zip(ev_a, ev_b, strict=True)):
        a, b = a[a[:, 0] > 0], b[b[:, 0] > 0]
        w_a, w_b = a[:, 0].copy(), b[:, 0].copy()
        cost = cdist(a[:, 1:], b[:, 1:]) / R
        e_a, e_b = w_a.sum(), w_b.sum()
        if e_a > e_b:
            w_b, cost = np.append(w_b, e_a - e_b), np.pad(cost, ((0, 0), (0, 1)))
        elif e_b > e_a:
            w_a, cost = np.append(w_a, e_b - e_a), np.pad(cost, ((0, 1), (0, 0)))
        out[k] = ot.emd2(w_a, w_b * (w_a.sum() / w_b.sum()), cost) + abs(e_a - e_b)
    return out


def _cpu_seconds() -> dict[int, float]:
    """CPU seconds so far of this process and of jetviz.emd's worker pool (Linux /proc)."""
    out = {os.getpid(): time.process_time()}  # fine-grained for this process
    pool = emd_module._POOL.get("pool")
    pids = [] if pool is None else [p.pid for p in pool._pool]  # the pool's workers
    tick = os.sysconf("SC_CLK_TCK")
    for pid in pids:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        out[pid] = (int(fields[11]) + int(fields[12])) / tick  # utime + stime
    return out


def interleaved_medians(
    fns: dict[str, Callable[[], object]], repeats: int
) -> tuple[dict[str, float], dict[str, float]]:
    """Median wall-clock and busiest-process CPU seconds of each function, timed in turn.

    Interleaving means a change in the shared machine's load hits every method alike, so
    the ratios stay meaningful even when the absolute figures drift. The CPU seconds of the
    busiest process (this one, or a worker of the pool) is what the wall time would be on
    idle cores: on a loaded machine it shows whether work is split across processes.
    """
    for fn in fns.values():  # warm-up (imports, the worker pool's start-up)
        fn()
    wall: dict[str, list[float]] = {name: [] for name in fns}
    cpu: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            c0 = _cpu_seconds()
            t0 = time.perf_counter()
            fn()
            wall[name].append(time.perf_counter() - t0)
            c1 = _cpu_seconds()
            cpu[name].append(max(c1[p] - c0.get(p, c1[p]) for p in c1))
    med = {name: float(np.median(t)) for name, t in wall.items()}
    return med, {name: float(np.median(t)) for name, t in cpu.items()}


def sinkhorn_inputs(ev_a: np.ndarray, ev_b: np.ndarray) -> list[torch.Tensor]:
    t_a = torch.tensor(ev_a, dtype=torch.float32)
    t_b = torch.tensor(ev_b, dtype=torch.float32)
    return [t_a[..., 0], t_a[..., 1:], t_b[..., 0], t_b[..., 1:]]


def relative_errors(approx: np.ndarray, exact: np.ndarray) -> str:
    rel = np.abs(approx - exact) / exact
    median, p95 = 100 * np.median(rel), 100 * np.percentile(rel, 95)
    return f"median {median:.2f} %, 95th percentile {p95:.2f} %"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=256, help="Sinkhorn batch size B")
    parser.add_argument("--n-pairwise", type=int, default=160, help="jets in the pairwise set")
    parser.add_argument("--repeats", type=int, default=5, help="timed repeats (median)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(1)
    b = args.batch

    events, source = load_events(2 * b, args.seed)
    ev_a, ev_b = events[:b], events[b:]
    print(f"jets: {source}; {events.shape[1]} particle slots, "
          f"{(events[..., 0] > 0).sum(1).mean():.1f} real on average; R = {R}")
    print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")

    exact = reference_emds(ev_a, ev_b)
    sub = events[: args.n_pairwise]
    n_pairs = len(sub) * (len(sub) - 1) // 2
    inputs = sinkhorn_inputs(ev_a, ev_b)

    def forward() -> None:
        with torch.no_grad():
            sinkhorn_emd(*inputs, R=R)

    def forward_backward() -> None:
        leaves = [v.clone().requires_grad_(True) for v in inputs]
        sinkhorn_emd(*leaves, R=R).sum().backward()

    methods = {  # name: (function, pairs per call)
        "POT ot.emd2, one pair at a time (reference)": (
            lambda: reference_emds(ev_a, ev_b), b),
        f"pairwise_emds, {len(sub)} jets ({n_pairs} pairs), 1 process": (
            lambda: pairwise_emds(sub, n_jobs=1), n_pairs),
        f"pairwise_emds, {len(sub)} jets ({n_pairs} pairs), 2 processes": (
            lambda: pairwise_emds(sub, n_jobs=2), n_pairs),
        f"paired_emds, {b} pairs, 2 processes": (lambda: paired_emds(ev_a, ev_b, n_jobs=2), b),
        f"sinkhorn_emd forward, B = {b}": (forward, b),
        f"sinkhorn_emd forward + backward, B = {b}": (forward_backward, b),
    }
    wall, cpu = interleaved_medians({k: fn for k, (fn, _) in methods.items()}, args.repeats)
    ref = next(iter(methods))
    ref_rate, ref_cpu_rate = b / wall[ref], b / max(cpu[ref], 1e-9)

    print(f"\n{'method':<62} {'pairs/s':>9} {'× ref':>7}   {'idle-core pairs/s':>17} {'× ref':>7}")
    for name, (_, n) in methods.items():
        rate, cpu_rate = n / wall[name], n / max(cpu[name], 1e-9)
        print(f"{name:<62} {rate:>9.0f} {rate / ref_rate:>7.2f}   "
              f"{cpu_rate:>17.0f} {cpu_rate / ref_cpu_rate:>7.2f}")
    print("(idle-core pairs/s: pairs per CPU second of the busiest process, i.e. the rate on "
          "free cores; workers' CPU time is read from /proc in 10 ms ticks)")
    print(f"load average after: {os.getloadavg()[0]:.1f}")

    check = pairwise_emds(sub[:40], n_jobs=1)
    same = np.allclose(check[0, 1:], reference_emds(np.repeat(sub[:1], 39, 0), sub[1:40]))
    print(f"\npairwise_emds agrees with the reference loop: {same}")
    with torch.no_grad():
        approx = sinkhorn_emd(*inputs, R=R).double().numpy()
    print(f"Sinkhorn vs exact on these jets ({b} pairs): {relative_errors(approx, exact)}")
    rand_a, rand_b = random_events(b, 30, args.seed + 1), random_events(b, 30, args.seed + 2)
    with torch.no_grad():
        approx = sinkhorn_emd(*sinkhorn_inputs(rand_a, rand_b), R=R).double().numpy()
    print(f"Sinkhorn vs exact on random events ({b} pairs, 30 particles): "
          f"{relative_errors(approx, reference_emds(rand_a, rand_b))}")


if __name__ == "__main__":
    main()
