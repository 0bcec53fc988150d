"""Benchmark of the JetNet protocol (arXiv:2211.10295): FPD/KPD/W1s of every shipped generator,
the truth-vs-truth baseline, jetnet 0.2.5's own functions on the same inputs, and speed.

    python benchmarks/jetnet_metrics.py [--jets 10000] [--only gen_g] [--check 2] [--root DIR]
    python benchmarks/jetnet_metrics.py --page   # the page's first run and cached rerun

Real jets: checkpoints/jets_default.h5 (10,000 per class), prepared as the VAEs see them and
split like the generation page (a 5,000-jet reference half and a 5,000-jet baseline half,
``jetviz.generation.evaluation.truth_halves``); generated: ``--jets`` jets per generator, seed
0. Every metric with jetnet's defaults (``jetviz.generation.jetnet_metrics``), reported in the
protocol's units: FPD ×10³, KPD ×10⁶, W1M ×10³, W1P ×10³, W1EFP ×10⁵. Both samples are below
the recommended 50,000 jets, so FPD and KPD of truth vs truth do not vanish: they are the floor
at this size.

Cross-check against jetnet itself, a side install (not a dependency of jetviz):

    pip install --target /tmp/jetnetref --no-deps jetnet==0.2.5 energyflow==1.4.0 wasserstein==1.1.0

(energyflow imports ``wasserstein``, whose numpy < 2 pin --no-deps skips: its compiled EMD
part is loaded only on use, and nothing here uses it; jetnet.utils imports coffea's vector
behaviour only for ``jet_features``, which is stubbed here because nothing here calls it.) With
``--jetnet /tmp/jetnetref`` (the default when it exists) the benchmark prints

* (always) FPD with one BLAS thread vs OpenBLAS's default thread count;
* EFPs: ``energyflow.EFPSet(("d<=", 4), measure="hadr", beta=1, normed=None,
  coords="ptyphim").batch_compute`` (what ``jetnet.evaluation.get_fpd_kpd_jet_features``
  calls) vs ``jetviz.generation.efps`` on 1,000 real jets: the largest relative difference over
  the 36 EFPs (columns matched by graph) and the time per jet of each, one process each;
* for the truth baselines and the first ``--check`` generators: jetnet's ``fpd``, ``kpd`` and
  ``w1p``, and the loops of its ``w1m`` (on the mass of the summed massless particles, as its
  ``jet_features``) and ``w1efp`` (on the EFPs checked above), its module rng seeded like
  jetviz's, beside jetviz's, and their ratio.
"""

from __future__ import annotations

import argparse
import sys
import time
import types
from pathlib import Path

import numpy as np
import torch
from threadpoolctl import threadpool_limits

from jetviz.generation import jetnet_metrics as jm
from jetviz.generation.efps import canonical, efp_graphs, efps
from jetviz.generation.evaluation import jetnet_column, truth_halves
from jetviz.generation.generators import Generator, list_generators
from jetviz.generation.metrics import feature_set
from jetviz.paths import CHECKPOINTS, DEFAULT_JETS
from jetviz.readers import load_jets

METRICS = ("fpd", "kpd", "w1m", "w1p", "w1efp")


def import_jetnet(path: str):
    """jetnet.evaluation from a side install, with coffea's vector behaviour stubbed."""
    sys.path.insert(0, path)
    for name in ("coffea", "coffea.nanoevents", "coffea.nanoevents.methods"):
        sys.modules.setdefault(name, types.ModuleType(name))
    vector = types.ModuleType("coffea.nanoevents.methods.vector")
    vector.behavior = {}
    sys.modules["coffea.nanoevents.methods.vector"] = vector
    sys.modules["coffea.nanoevents.methods"].vector = vector
    import energyflow
    import jetnet.evaluation.gen_metrics as gm

    return gm, energyflow


def jetnet_format(fs) -> np.ndarray:
    """(N, P, 3) [eta, phi, pt] with padded particles zeroed, jetnet's layout."""
    out = fs.particles[..., [1, 2, 0]].astype(np.float64)
    out[~fs.mask] = 0.0
    return out


def efp_check(energyflow, fs, n: int) -> None:
    """energyflow's EFPs vs jetviz's on n jets: largest relative difference and speed."""
    efpset = energyflow.EFPSet(("d<=", 4), measure="hadr", beta=1, normed=None,
                               coords="ptyphim")
    jets = jetnet_format(fs.subset(slice(0, n)))[..., [2, 0, 1]]
    start = time.perf_counter()
    ref = efpset.batch_compute(jets, 1)
    t_ref = time.perf_counter() - start
    graphs = efp_graphs(4)
    start = time.perf_counter()
    ours = efps(fs.particles[:n], fs.mask[:n], graphs)
    t_ours = time.perf_counter() - start
    key = {tuple(sorted(f)): i for i, f in enumerate(graphs)}
    worst = 0.0
    for col, edges in enumerate(efpset.graphs()):
        factors = tuple(sorted(canonical(c) for c in components(list(edges))))
        mine = ours[:, key[factors]]
        worst = max(worst, float(np.max(np.abs(mine - ref[:, col])
                                        / np.maximum(np.abs(ref[:, col]), 1e-300))))
    print(f"EFPs, {n} real jets, 36 EFPs (d ≤ 4): max relative difference jetviz vs energyflow "
          f"{worst:.1e}; energyflow {t_ref / n * 1e3:.2f} ms/jet, jetviz {t_ours / n * 1e3:.3f} "
          f"ms/jet, {t_ref / t_ours:.0f}× faster")


def blas_check(real_efps: np.ndarray, other_efps: np.ndarray) -> None:
    """FPD (2 batches per size) with one BLAS thread, as jetviz runs it, vs OpenBLAS's own
    thread count."""
    times = {}
    for threads in (1, None):
        jm.BLAS_THREADS = threads
        start = time.perf_counter()
        jm.fpd(real_efps, other_efps, num_batches=2)
        times[threads] = time.perf_counter() - start
    jm.BLAS_THREADS = 1
    print(f"FPD with 2 batches per size: one BLAS thread {times[1]:.2f} s, OpenBLAS default "
          f"{times[None]:.2f} s, {times[None] / times[1]:.1f}× slower")


def components(edges: list[tuple[int, int]]) -> list[list[tuple[int, int]]]:
    """Connected components of an edge list, each relabelled 0..n−1 (the empty graph is the
    one-vertex graph)."""
    if not edges:
        return [[]]
    groups: list[set[int]] = []
    for a, b in edges:
        hit = [g for g in groups if a in g or b in g]
        merged = {a, b}.union(*hit)
        groups = [g for g in groups if g not in hit] + [merged]
    out = []
    for g in groups:
        label = {v: i for i, v in enumerate(sorted(g))}
        out.append([(label[a], label[b]) for a, b in edges if a in g])
    return out


def jetnet_scores(gm, real, real_efps, other, other_efps) -> dict[str, float]:
    """jetnet's own fpd, kpd, w1p, w1efp on the same inputs (one BLAS thread, as jetviz)."""
    with threadpool_limits(1, user_api="blas"):
        fpd = gm.fpd(real_efps, other_efps)[0]
        kpd = gm.kpd(real_efps, other_efps)[0]
    gm.rng = np.random.default_rng(jm.SEED)
    m1, m2 = jetnet_mass(jetnet_format(real)), jetnet_mass(jetnet_format(other))
    w1m = float(np.mean([gm.wasserstein_distance(m1[gm.rng.choice(len(m1), size=50_000)],
                                                 m2[gm.rng.choice(len(m2), size=50_000)])
                         for _ in range(5)]))
    gm.rng = np.random.default_rng(jm.SEED)
    w1p = float(np.mean(gm.w1p(jetnet_format(real), jetnet_format(other),
                               real.mask, other.mask)[0]))
    gm.rng = np.random.default_rng(jm.SEED)
    w1efp = float(np.mean(_w1efp_loop(gm, jm.w1efp_features(real_efps),
                                      jm.w1efp_features(other_efps))))
    return {"fpd": fpd, "kpd": kpd, "w1m": w1m, "w1p": w1p, "w1efp": w1efp}


def jetnet_mass(jets: np.ndarray) -> np.ndarray:
    """The mass of the summed massless particles of jetnet-format jets ([eta, phi, pt], pt
    relative), as ``jetnet.utils.jet_features`` sums them (its coffea vectors are stubbed)."""
    eta, phi, pt = jets[..., 0], jets[..., 1], jets[..., 2]
    e = (pt * np.cosh(eta)).sum(-1)
    p2 = ((pt * np.cos(phi)).sum(-1) ** 2 + (pt * np.sin(phi)).sum(-1) ** 2
          + (pt * np.sinh(eta)).sum(-1) ** 2)
    return np.sqrt(np.clip(e**2 - p2, 0.0, None))


def _w1efp_loop(gm, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """jetnet.w1efp's loop (its module rng, 5 batches of 50,000, one draw per batch for all
    EFPs) on given EFP columns: its own EFPs are energyflow's, checked above, and take 40 s."""
    w1s = []
    for _ in range(5):
        ra, rb = a[gm.rng.choice(len(a), size=50_000)], b[gm.rng.choice(len(b), size=50_000)]
        w1s.append([gm.wasserstein_distance(ra[:, k], rb[:, k]) for k in range(a.shape[1])])
    return np.mean(w1s, axis=0)


def page_times() -> None:
    """The Generated jets page in AppTest on the shipped generators (default view): the first
    run computes everything, JetNet table included; a rerun reads the caches."""
    import pytest

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from tests.support_apptest import app_test

    with pytest.MonkeyPatch.context() as mp:
        at = app_test(mp, timeout=900)
        times = []
        for _ in range(2):
            start = time.perf_counter()
            at.switch_page("views/generation.py").run()
            times.append(time.perf_counter() - start)
            if at.exception:
                raise SystemExit(f"the page failed: {at.exception}")
    frames = [d.value for d in at.dataframe if jetnet_column("fpd") in d.value.columns]
    print(f"Generated jets page, default view: first run {times[0]:.1f} s (all computed, "
          f"JetNet table {'shown' if frames else 'MISSING'}), rerun {times[1]:.2f} s "
          f"(cached), {times[0] / times[1]:.0f}× faster")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jets", type=int, default=10_000, help="generated jets per generator")
    parser.add_argument("--root", default=str(CHECKPOINTS),
                        help="where the generators are (e.g. a copy of older ones)")
    parser.add_argument("--only", nargs="*", default=None,
                        help="only generators whose key contains one of these strings")
    parser.add_argument("--jetnet", default="/tmp/jetnetref",
                        help="side install of jetnet 0.2.5 to cross-check (skipped if absent)")
    parser.add_argument("--check", type=int, default=2,
                        help="generators (besides the baselines) to cross-check with jetnet")
    parser.add_argument("--page", action="store_true",
                        help="only time the Generated jets page in AppTest, first run and rerun")
    args = parser.parse_args()
    if args.page:
        page_times()
        return
    torch.set_num_threads(1)
    gm = energyflow = None
    if Path(args.jetnet).is_dir():
        gm, energyflow = import_jetnet(args.jetnet)
    specs = [s for s in list_generators(args.root)
             if not args.only or any(o in s.key for o in args.only)]
    jets = load_jets(DEFAULT_JETS, n_particles=30)
    truths: dict = {}
    rows = []
    for spec in specs:
        gen = Generator(spec)
        if spec.classes not in truths:
            t = truth_halves(jets, spec.classes, gen.config.n_particles_in, gen.radius)
            start = time.perf_counter()
            ref_e, base_e = jm.jet_efps(t.reference), jm.jet_efps(t.baseline)
            t_efp = time.perf_counter() - start
            start = time.perf_counter()
            base = jm.jetnet_scores(t.reference, ref_e, t.baseline, base_e)
            t_scores = time.perf_counter() - start
            truths[spec.classes] = (t, ref_e, base_e)
            rows.append((f"truth vs truth ({spec.classes[0]})", base, t_efp, t_scores,
                         (t.reference, ref_e, t.baseline, base_e)))
            if len(truths) == 1:
                blas_check(ref_e, base_e)
                if energyflow is not None:
                    efp_check(energyflow, t.reference, 1_000)
        t, ref_e, _ = truths[spec.classes]
        sample = gen.sample(args.jets, seed=0)
        fake = feature_set(sample.particles, sample.mask, sample.jet_pt, gen.radius)
        start = time.perf_counter()
        fake_e = jm.jet_efps(fake)
        t_efp = time.perf_counter() - start
        start = time.perf_counter()
        scores = jm.jetnet_scores(t.reference, ref_e, fake, fake_e)
        rows.append((spec.label, scores, t_efp, time.perf_counter() - start,
                     (t.reference, ref_e, fake, fake_e)))
    print(f"\nJetNet protocol, jetnet 0.2.5 defaults; real = 5,000-jet reference half, "
          f"generated = {args.jets:,} jets (seed 0); value ± error in the reported units; "
          "time = EFPs of the non-reference sample + all five metrics")
    head = (f"{'sample':<58}" + "".join(f"{jetnet_column(k):>18}" for k in METRICS)
            + f"{'EFPs s':>8}{'metrics s':>10}")
    print(head)
    print("-" * len(head))
    for label, s, t_efp, t_scores, _ in rows:
        cells = "".join(f"{getattr(s, k).scaled(jm.SCALES[k]):>18}" for k in METRICS)
        print(f"{label:<58}{cells}{t_efp:8.2f}{t_scores:10.2f}")
    if gm is None:
        print(f"\n(jetnet cross-check skipped: no side install at {args.jetnet}; see the "
              "docstring)")
        return
    print("\njetnet 0.2.5's own functions on the same inputs (ratio = jetviz / jetnet):")
    checked = [r for r in rows if r[0].startswith("truth")]
    checked += [r for r in rows if not r[0].startswith("truth")][: args.check]
    for label, s, _, _, inputs in checked:
        ref = jetnet_scores(gm, *inputs)
        cells = "  ".join(f"{jm.NAMES[k]} {ref[k] * jm.SCALES[k]:.4g} (ratio "
                          f"{getattr(s, k).value / ref[k]:.6f})" for k in ref)
        print(f"  {label:<56} {cells}")


if __name__ == "__main__":
    main()
