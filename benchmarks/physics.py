"""Benchmark of jetviz's batched jet physics (run: ``python benchmarks/physics.py``).

Times, on N synthetic jets of P particles (seeded; all slots real, width 0.2 in η and φ) or,
with ``--real``, on the shipped Pythia jets (checkpoints/jets_default.h5, 50,000 × 30):
``observables`` (kinematics + exclusive-kT N-subjettiness), ``exclusive_kt_axes`` alone,
``average_jet_image`` at 33 and 100 pixels, ``jet_images`` at 33 pixels and ``preprocess``.
References measured in the same run on a subset: FastJet's exclusive kT
(``ClusterSequence.exclusive_jets(n)`` for n = 1, 2, 3, one jet at a time from Python) and a
per-jet ``np.histogram2d`` loop for the average image; the ratios are per-jet throughputs.
Figures are medians over repeats, wall-clock (the machine may be shared; CPU time is shown
beside it).
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable

import numpy as np

# one thread: numpy here is single-threaded anyway, and the machine is shared
os.environ.setdefault("OMP_NUM_THREADS", "1")

from jetviz.physics import exclusive_kt_axes, observables, p4s_from_particles
from jetviz.physics.frame import preprocess
from jetviz.physics.images import average_jet_image, jet_images, pixel_edges


def synthetic_jets(n: int, p: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(n, p, 3) float32 jets: falling ptrel summing to 1, Gaussian (η, φ) of width 0.2."""
    rng = np.random.default_rng(seed)
    raw = np.sort(rng.exponential(1.0, size=(n, p)), axis=1)[:, ::-1]
    ptrel = raw / raw.sum(1, keepdims=True)
    eta, phi = rng.normal(0, 0.2, (n, p)), rng.normal(0, 0.2, (n, p))
    return np.stack([ptrel, eta, phi], -1).astype(np.float32), np.ones((n, p), dtype=bool)


def timed(fn: Callable[[], object], repeats: int) -> tuple[float, float]:
    """Median wall-clock and CPU seconds of ``fn()`` over ``repeats`` runs."""
    wall, cpu = [], []
    for _ in range(repeats):
        w0, c0 = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - w0)
        cpu.append(time.process_time() - c0)
    return float(np.median(wall)), float(np.median(cpu))


def fastjet_loop(particles: np.ndarray, mask: np.ndarray) -> None:
    """Exclusive kT axes for n = 1, 2, 3 with FastJet, one jet at a time."""
    import fastjet

    jet_def = fastjet.JetDefinition(fastjet.kt_algorithm, 1000.0)
    for k in range(len(particles)):
        p4s = p4s_from_particles(particles[k][mask[k]].astype(np.float64), 1.0, 0.0, 0.0)
        pjs = [fastjet.PseudoJet(*(float(v) for v in (q[1], q[2], q[3], q[0]))) for q in p4s]
        seq = fastjet.ClusterSequence(pjs, jet_def)
        for n in (1, 2, 3):
            seq.exclusive_jets(n)


def histogram_loop(particles: np.ndarray, mask: np.ndarray, n_pixels: int) -> np.ndarray:
    edges = pixel_edges(n_pixels)
    total = np.zeros((n_pixels, n_pixels))
    for k in range(len(particles)):
        x = particles[k][mask[k]]
        total += np.histogram2d(x[:, 1], x[:, 2], bins=[edges, edges], weights=x[:, 0])[0]
    return total / len(particles)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jets", type=int, default=50_000)
    parser.add_argument("--particles", type=int, default=30)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--reference-jets", type=int, default=1_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--real", action="store_true",
                        help="use the shipped Pythia jets instead of synthetic ones")
    args = parser.parse_args()

    if args.real:
        from jetviz.paths import DEFAULT_JETS
        from jetviz.readers.store import read_jets

        jets = read_jets(DEFAULT_JETS).subset(slice(0, args.jets))
        particles, mask, jet_pt = jets.particles, jets.mask, jets.jets[:, 0]
        args.jets, args.particles = len(jets), jets.n_particles
        print(f"real Pythia jets from {DEFAULT_JETS}")
    else:
        particles, mask = synthetic_jets(args.jets, args.particles, args.seed)
        jet_pt = np.full(args.jets, 1000.0)
    ref_p, ref_m = particles[: args.reference_jets], mask[: args.reference_jets]
    print(f"{args.jets} jets x {args.particles} particles, median of {args.repeats}")

    rows = [
        ("observables (all, incl. tau1-3)", lambda: observables(particles, mask, jet_pt)),
        ("exclusive_kt_axes n=1,2,3", lambda: exclusive_kt_axes(particles, mask)),
        ("average_jet_image 33x33", lambda: average_jet_image(particles, mask, 33)),
        ("average_jet_image 100x100", lambda: average_jet_image(particles, mask, 100)),
        ("jet_images 33x33 (N,33,33)", lambda: jet_images(particles, mask, 33)),
        ("preprocess centre+rotate+flip", lambda: preprocess(particles, mask)),
    ]
    results = {}
    for name, fn in rows:
        wall, cpu = timed(fn, args.repeats)
        results[name] = wall
        print(f"  {name:34s} {wall:7.3f} s  (cpu {cpu:6.3f} s)  "
              f"{args.jets / wall:10.0f} jets/s")

    fj_wall, _ = timed(lambda: fastjet_loop(ref_p, ref_m), 1)
    fj_rate = len(ref_p) / fj_wall
    ours = args.jets / results["exclusive_kt_axes n=1,2,3"]
    print(f"  reference: FastJet exclusive kT loop  {fj_rate:10.0f} jets/s "
          f"({len(ref_p)} jets) -> batched numpy is {ours / fj_rate:.1f}x")
    h_wall, _ = timed(lambda: histogram_loop(ref_p, ref_m, 100), 1)
    h_rate = len(ref_p) / h_wall
    ours = args.jets / results["average_jet_image 100x100"]
    print(f"  reference: per-jet histogram2d loop   {h_rate:10.0f} jets/s "
          f"({len(ref_p)} jets, 100x100) -> bincount is {ours / h_rate:.0f}x")


if __name__ == "__main__":
    main()
