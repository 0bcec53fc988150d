"""Benchmark of jetviz's EMD solvers (run: ``python benchmarks/emd.py``).

Prints, in one run, on the same jets:

1. **Exact pairwise EMD**, problems per second, jetviz's ``pairwise_emds`` (transportation
   simplex on threads) beside EnergyFlow's solver, ``wasserstein.PairwiseEMD`` 1.1.0 (what
   ``energyflow.emd.emds`` calls), at 1 and 2 threads, on 30-particle jets (the embedded
   sample) and on 150-particle jets (seeded synthetic: the embedded sample has 30), with the
   ratio jetviz / wasserstein of the medians of interleaved repeats; the one-pair-at-a-time
   POT loop (``ot.emd2``) is the second reference. The largest difference from POT is printed.
2. **1,000 paired exact EMDs** (30 particles) on 2 threads: median ms (goal ≤ 40 ms).
3. **Differentiable EMDs against exact POT** on real pairs (two different jets) and on
   **perturbed pairs** (a jet and itself with pT reweighted by 1–5 %, one particle moved by
   0.001–0.05 in η/φ, or its hardest particle split in two): median and 95th-percentile
   relative error, the smallest value and the share below 0, and pairs/s forward + backward
   (B = 256), for Sinkhorn at the training setting (ε = 0.003, 32 iterations, float64),
   Sinkhorn at the old slider setting (ε = 0.01, 32 iterations, float32) and
   ``exact_emd_torch`` (what training and the slider use now).

The reference packages conflict with jetviz's numpy 2 pin (wasserstein 1.1.0 declares
numpy < 2), so they are not in requirements.txt; build them against the installed numpy
into a side directory and put it on the path::

    pip install --no-deps --no-build-isolation --no-binary wasserstein --target /tmp/wref \\
        wasserstein==1.1.0 energyflow==1.4.0 wurlitzer==3.1.1
    PYTHONPATH=$PWD:/tmp/wref python benchmarks/emd.py

(one numpy-2 fix is applied here at run time: wasserstein's event loader calls
``np.array(..., copy=False)``). Without them part 1 prints jetviz and POT only.
The machine may be shared: the load average is printed, figures are medians.
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable

import numpy as np
import torch

from jetviz.emd import (
    emd_pot,
    events_from_jets,
    exact_emd_torch,
    paired_emds,
    pairwise_emds,
    sinkhorn_emd,
)
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
    """(n, 30, 3) events (pT [GeV], etarel, phirel) drawn from the default sample if present."""
    if DEFAULT_JETS.exists():
        from jetviz.readers.store import read_jets

        jets = read_jets(DEFAULT_JETS)
        pick = np.random.default_rng(seed).choice(len(jets), size=n, replace=False)
        return events_from_jets(jets.subset(np.sort(pick))), f"{DEFAULT_JETS.name} (mixed classes)"
    return events_from_jets(synthetic_jets(n, 30, seed)), "synthetic 30-particle jets"


def perturbed(events: np.ndarray, seed: int) -> np.ndarray:
    """Each event changed a little, by turns: pT × (1 ± 1–5 %) per particle, one particle
    moved by 0.001–0.05 in (η, φ), or the hardest particle split into two halves 0.01 apart."""
    rng = np.random.default_rng(seed)
    out = events.copy()
    for k, ev in enumerate(out):
        real = np.flatnonzero(ev[:, 0] > 0)
        kind = k % 3
        if kind == 0:
            sign = rng.choice([-1.0, 1.0], len(real))
            ev[real, 0] *= 1 + sign * rng.uniform(0.01, 0.05, len(real))
        elif kind == 1:
            angle = rng.uniform(0, 2 * np.pi)
            ev[rng.choice(real), 1:] += rng.uniform(0.001, 0.05) * np.array(
                [np.cos(angle), np.sin(angle)])
        else:
            free = np.flatnonzero(ev[:, 0] <= 0)
            slot = free[0] if len(free) else real[-1]  # full jet: the softest one is replaced
            ev[slot] = ev[real[0]] * [0.5, 1, 1] + [0, 0.01, 0]
            ev[real[0], 0] *= 0.5
    return out


def wasserstein_reference() -> object | None:
    """``wasserstein`` 1.1.0 with its event loader fixed for numpy 2, or None."""
    try:
        import wasserstein
        import wasserstein.wasserstein as ww
    except ImportError:
        return None

    def store_events(pairwise, events, event_weights, gdim, mask, dtype) -> None:
        for event, event_weight in zip(events, event_weights, strict=False):
            event = np.asarray(event)
            weights = np.ascontiguousarray(event[:, 0], dtype=dtype)
            coords = np.ascontiguousarray(event[:, 1:], dtype=dtype)
            pairwise.event_arrs.append((weights, coords))
            pairwise._add_event(weights, coords, float(event_weight))

    ww._store_events = store_events
    return wasserstein


def interleaved(fns: dict[str, Callable[[], object]], repeats: int) -> dict[str, list[float]]:
    """Wall-clock seconds of each function over ``repeats`` rounds, timed in turn (a change of
    the shared machine's load hits every method alike)."""
    for fn in fns.values():  # warm-up (compilation, thread start)
        fn()
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            t0 = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t0)
    return times


def pot_loop(ev_a: np.ndarray, ev_b: np.ndarray) -> np.ndarray:
    return np.array([emd_pot(a, b, R) for a, b in zip(ev_a, ev_b, strict=True)])


def exact_pairwise(events: np.ndarray, label: str, wasserstein, repeats: int) -> None:
    """Part 1 on one set of events: pairwise problems/s, jetviz vs wasserstein vs POT."""
    n = len(events)
    n_pairs = n * (n - 1) // 2
    compact = [ev[ev[:, 0] > 0] for ev in events]
    fns: dict[str, Callable[[], object]] = {}
    for threads in (1, 2):
        fns[f"jetviz pairwise_emds, {threads} thread(s)"] = (
            lambda t=threads: pairwise_emds(events, n_jobs=t))
        if wasserstein is not None:
            def ref(t: int = threads) -> np.ndarray:
                # torch.set_num_threads(1) (set in main) also caps the OpenMP pool that
                # wasserstein shares with torch: lift it while wasserstein runs, or its
                # "2 threads" would run on one.
                torch.set_num_threads(t)
                try:
                    pw = wasserstein.PairwiseEMD(R=R, beta=1.0, norm=False, num_threads=t,
                                                 print_every=0, verbose=0)
                    pw(compact)
                    return pw.emds()
                finally:
                    torch.set_num_threads(1)
            fns[f"wasserstein.PairwiseEMD, {threads} thread(s)"] = ref
    n_loop = min(200, n_pairs)
    rows, cols = np.triu_indices(n, 1)
    fns["POT ot.emd2 one pair at a time (1 thread)"] = (
        lambda: pot_loop(events[rows[:n_loop]], events[cols[:n_loop]]))
    times = interleaved(fns, repeats)
    rate = {name: (n_loop if name.startswith("POT") else n_pairs) / np.median(t)
            for name, t in times.items()}
    print(f"\n{label}: {n} jets, {n_pairs} pairs (POT loop: first {n_loop})")
    print(f"{'solver':<48} {'problems/s':>11} {'jetviz ÷ this':>14}")
    for name in fns:
        if name.startswith("POT"):
            ratio = f"{rate['jetviz pairwise_emds, 1 thread(s)'] / rate[name]:.2f} (1 thread)"
        elif name.startswith("jetviz"):
            ratio = ""
        else:
            ratio = f"{rate['jetviz pairwise_emds, ' + name.split(', ')[-1]] / rate[name]:.2f}"
        print(f"{name:<48} {rate[name]:>11.0f} {ratio:>14}")
    ours = pairwise_emds(events, n_jobs=2)
    check = pot_loop(events[rows[:n_loop]], events[cols[:n_loop]])
    diff_pot = np.abs(ours[rows[:n_loop], cols[:n_loop]] - check).max()
    line = f"largest |jetviz − POT| over {n_loop} pairs: {diff_pot:.1e} GeV"
    if wasserstein is not None:
        diff_ref = np.abs(ours - fns["wasserstein.PairwiseEMD, 1 thread(s)"]()).max()
        line += f"; |jetviz − wasserstein| over all pairs: {diff_ref:.1e} GeV"
    print(line)


def differentiable_errors(real_a: np.ndarray, real_b: np.ndarray, near: np.ndarray,
                          batch: int) -> None:
    """Part 3: relative error vs exact POT and speed of the differentiable EMDs."""
    def tensors(a: np.ndarray, b: np.ndarray) -> list[torch.Tensor]:
        ta, tb = torch.tensor(a, dtype=torch.float32), torch.tensor(b, dtype=torch.float32)
        return [ta[..., 0], ta[..., 1:], tb[..., 0], tb[..., 1:]]

    methods = {
        "Sinkhorn, training setting (ε 0.003, 32 it., float64)":
            lambda *t: sinkhorn_emd(*t, R=R, eps=0.003, n_iter=32),
        "Sinkhorn, old slider setting (ε 0.01, 32 it., float32)":
            lambda *t: sinkhorn_emd(*t, R=R, eps=0.01, n_iter=32, solver_dtype=torch.float32),
        "exact_emd_torch (training and slider now), 1 thread":
            lambda *t: exact_emd_torch(*t, R=R, n_jobs=1),
    }
    cases = {"real pairs": (real_a, real_b), "perturbed pairs": (real_a, near)}
    exact = {name: pot_loop(a, b) for name, (a, b) in cases.items()}
    print(f"\n3. differentiable EMDs vs exact POT ({len(real_a)} pairs each; perturbed: exact "
          f"EMD median {np.median(exact['perturbed pairs']):.2f} GeV, real: "
          f"{np.median(exact['real pairs']):.1f} GeV)")
    print(f"{'method':<56} {'pairs':<16} {'median':>8} {'p95':>8} {'min GeV':>9} "
          f"{'< 0':>6} {'fwd+bwd pairs/s':>16}")
    for name, fn in methods.items():
        leaves = [v[:batch].clone().requires_grad_(True) for v in tensors(real_a, near)]
        fwd_bwd = interleaved({"x": lambda f=fn, lv=leaves: f(*lv).sum().backward()}, 5)["x"]
        speed = batch / np.median(fwd_bwd)
        for case, (a, b) in cases.items():
            with torch.no_grad():
                value = fn(*tensors(a, b)).double().numpy()
            rel = np.abs(value - exact[case]) / np.maximum(exact[case], 1e-12)
            print(f"{name:<56} {case:<16} {100 * np.median(rel):>7.2f}% "
                  f"{100 * np.percentile(rel, 95):>7.2f}% {value.min():>9.3f} "
                  f"{100 * np.mean(value < 0):>5.1f}% {speed:>16.0f}")
            if case == "perturbed pairs":  # by kind of perturbation (perturbed() takes turns)
                kinds = ("pT reweighted", "a particle moved", "a particle split")
                parts = [f"{kind}: {100 * np.median(rel[k::3]):.2f} % / "
                         f"{100 * np.percentile(rel[k::3], 95):.2f} %"
                         for k, kind in enumerate(kinds)]
                print(" " * 58 + "   ".join(parts) + " (median / p95)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-pairwise", type=int, default=160, help="jets in the pairwise sets")
    parser.add_argument("--n-pairwise-150", type=int, default=60,
                        help="150-particle jets in the pairwise set")
    parser.add_argument("--pairs", type=int, default=768, help="pairs in part 3")
    parser.add_argument("--batch", type=int, default=256, help="batch B timed in part 3")
    parser.add_argument("--repeats", type=int, default=5, help="timed repeats (median)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(1)

    wasserstein = wasserstein_reference()
    events, source = load_events(args.n_pairwise + 2 * args.pairs, args.seed)
    print(f"jets: {source}; R = {R}; load average before: {os.getloadavg()[0]:.1f} "
          f"on {os.cpu_count()} cores")
    if wasserstein is None:
        print("(wasserstein not importable: see this file's docstring for the reference install)")
    print("\n1. exact pairwise EMD, medians of interleaved repeats")
    exact_pairwise(events[: args.n_pairwise], "30-particle jets (embedded sample)", wasserstein,
                   args.repeats)
    big = events_from_jets(synthetic_jets(args.n_pairwise_150, 150, args.seed + 7))
    exact_pairwise(big, "150-particle jets (seeded synthetic)", wasserstein, args.repeats)

    a, b = events[args.n_pairwise:][:1000], events[args.n_pairwise:][-1000:]
    t = interleaved({"paired": lambda: paired_emds(a, b, n_jobs=2)}, 2 * args.repeats)["paired"]
    print(f"\n2. 1,000 paired exact EMDs (30 particles), 2 threads: median "
          f"{1000 * np.median(t) * 1000 / len(a):.1f} ms — goal 40 ms, ratio "
          f"{1000 * np.median(t) * 1000 / len(a) / 40:.2f}")

    rest = events[args.n_pairwise:]
    real_a, real_b = rest[: args.pairs], rest[args.pairs: 2 * args.pairs]
    differentiable_errors(real_a, real_b, perturbed(real_a, args.seed + 3), args.batch)
    print(f"\nload average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
