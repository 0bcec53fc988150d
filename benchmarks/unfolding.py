"""Unfolding benchmark: calibration, unfolded-marginal W1, IBU beside it, sampling speed.

    python benchmarks/unfolding.py [--dir checkpoints/unfolding] [--draws 10] [--resample K]

Prints, for the shipped cINN (issue 14's goals in brackets):
  1. calibration: max over q = 0.1 … 0.9 of |coverage(q) − q| per observable, from the
     precomputed PITs of all test events [≤ 0.05];
  2. W1 of the unfolded marginals to parton truth per observable and detector-level cut,
     for the cINN (pooled posterior samples) and IBU with the inclusive response, beside the
     truth-vs-truth W1 at the same sample size (mean of --draws draws) and the ratios
     [cINN ≤ 2× inclusive, ≤ 3× with cuts], and the mean shift of the unfolded pT,j1 by
     detector jet count, and on training events (a shift there too is no overfitting),
     with only the W decay angles or only log pT sampled, and the forward quark's φ* error;
     with --resample K, the W1 ratios' range over K fresh draws of 8 samples per test event;
  3. the median time for 1,000 posterior samples of one event on one CPU thread [≤ 0.3 s],
     and the page's warm rerun time under AppTest [≤ 3 s].
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from jetviz.unfolding.analysis import unfold_all, w1_goal, w1_table  # noqa: E402
from jetviz.unfolding.bundle import DATA, MODEL, read_bundle  # noqa: E402
from jetviz.unfolding.checkpoint import load_cinn  # noqa: E402
from jetviz.unfolding.data import CUTS, OBSERVABLES, parton_observables, read_pairs  # noqa: E402
from jetviz.unfolding.metrics import QUANTILES, coverage  # noqa: E402
from jetviz.unfolding.representation import model_inputs  # noqa: E402
from jetviz.unfolding.summary import posterior_observables  # noqa: E402


def _page_warm_seconds(directory: Path) -> float:
    """Second (warm) run of the Unfolding page under AppTest, in seconds."""
    import os

    from streamlit.testing.v1 import AppTest

    os.environ["JETVIZ_UNFOLD_DIR"] = str(directory)
    at = AppTest.from_file(str(ROOT / "views" / "unfolding.py"), default_timeout=300)
    at.run()
    if at.exception:
        raise RuntimeError(at.exception)
    start = time.perf_counter()
    at.run()
    return time.perf_counter() - start


def _shift_sources(model, test) -> None:
    """pT,j1's mean shift with only some parton coordinates sampled (8 per event), the rest
    true, and the forward quark's φ* posterior error: which coordinates carry the shift."""
    from jetviz.physics import wrap_phi
    from jetviz.unfolding.representation import PARTON_COORDS, partons_from_coords

    x, y, phi_ref = model_inputs(test)
    sampled = model.sample(torch.as_tensor(y), 8, torch.Generator().manual_seed(2)).numpy()
    truth = parton_observables(test.parton)["pt_j1"].mean()
    for label, names in (("the W decay angles", ("t_q", "phi_q")), ("log pT", ("log_pt",))):
        coords = np.broadcast_to(x, sampled.shape).astype(np.float64).copy()
        cols = [PARTON_COORDS.index(n) for n in names]
        coords[..., cols] = sampled[..., cols]
        shift = parton_observables(partons_from_coords(coords, phi_ref))["pt_j1"].mean() - truth
        print(f"   pT,j1 shift with only {label} sampled (rest true): {shift:+.2f} GeV")
    k = PARTON_COORDS.index("phi_q")
    error = np.median(np.abs(wrap_phi(sampled[..., k] - x[:, k])))
    print(f"   forward quark's φ*: median |sample − truth| {error:.2f} rad "
          f"(uniform: {np.pi / 2:.2f})")


def _resampled(model, train, test, draws: int, times: int) -> None:
    """The W1 table again from ``times`` fresh draws of 8 posterior samples per test event
    (noise seeds 1, 2, …): how much the verdicts depend on the stored samples."""
    from jetviz.unfolding.selection import MarginalScore

    _, y, phi_ref = model_inputs(test)
    tables = [MarginalScore(test, y, phi_ref, train, samples=8, seed=seed,
                            baseline_draws=draws).rows(model) for seed in range(1, times + 1)]
    print(f"   {times} fresh draws of 8 samples per test event: cINN / truth-vs-truth, min–max")
    for k, row in enumerate(tables[0]):
        ratios = [table[k]["cINN / baseline"] for table in tables]
        goal = w1_goal(row["cut"])
        print(f"   {row['cut']:34s} {row['observable']:8s} {min(ratios):5.2f}–{max(ratios):5.2f}"
              f"  ≤{goal:g} {'met' if max(ratios) <= goal else 'NOT met'} in all")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", default=str(ROOT / "checkpoints" / "unfolding"))
    parser.add_argument("--draws", type=int, default=10,
                        help="truth-vs-truth draws averaged for the baseline W1")
    parser.add_argument("--no-page", action="store_true", help="skip the page timing")
    parser.add_argument("--resample", type=int, default=0,
                        help="also redo the W1 table from this many fresh posterior draws")
    args = parser.parse_args()
    directory = Path(args.dir)
    torch.set_num_threads(1)

    model, record = load_cinn(directory / MODEL)
    bundle = read_bundle(directory, int(record["n_test"]))
    pit, samples, attrs = bundle.pit, bundle.samples, bundle.summary_attrs
    print(f"data: {bundle.data_attrs.get('command')}")
    print(f"model: {record['commands'][-1]}  (best epoch {record['best_epoch']}, "
          f"validation NLL {record['best_val_nll']:.3f})")
    print(f"posteriors: {attrs.get('command')}")
    print(f"test events {len(pit):,}, training events {len(bundle.train.truth['m_jj']):,}")
    pairs = read_pairs(directory / DATA)
    n_fit, n_val = record.get("n_train", 0), record.get("n_val", 0)
    verdict = "disjoint" if n_fit + n_val + int(record["n_test"]) == len(pairs) else "OVERLAP"
    print(f"epoch kept by {record.get('train', {}).get('select', 'nll')} on {n_val:,} validation"
          f" events, weights fitted on {n_fit:,}: the file's first {n_fit + n_val:,} events, the "
          f"test events its last {int(record['n_test']):,} ({verdict})\n")

    print(f"1. Calibration: max_q |c(q) − q| over q = {QUANTILES[0]:g} … {QUANTILES[-1]:g} "
          "(goal ≤ 0.05)")
    worst = 0.0
    for k, name in enumerate(OBSERVABLES):
        c = coverage(pit[:, k])
        err = float(np.max(np.abs(c - QUANTILES)))
        worst = max(worst, err)
        print(f"   {name:8s} {err:.3f}  {'met' if err <= 0.05 else 'NOT met'}   "
              f"c(q) = {' '.join(f'{v:.2f}' for v in c)}")
    print(f"   worst {worst:.3f}: {'met' if worst <= 0.05 else 'NOT met'}\n")

    print("2. W1 to parton truth (binned on jetviz.unfolding.metrics.EDGES); baseline = "
          f"truth vs truth, mean of {args.draws} draws")
    results = {cut: unfold_all(bundle.test, samples, bundle.train, cut, np.random.default_rng(5),
                               baseline_draws=args.draws) for cut in CUTS}
    header = (f"   {'cut':34s} {'observable':8s} {'events':>6s} {'truth-truth':>11s} "
              f"{'cINN':>8s} {'IBU':>8s} {'detector':>8s} {'cINN/base':>9s} {'IBU/base':>8s}"
              "  goal")
    print(header)
    verdicts = []
    for row in w1_table(results):
        goal = w1_goal(row["cut"])
        ok = row["cINN / baseline"] <= goal
        verdicts.append(ok)
        print(f"   {row['cut']:34s} {row['observable']:8s} {row['events']:6d} "
              f"{row['W1 truth-vs-truth']:11.4f} {row['W1 cINN']:8.4f} {row['W1 IBU']:8.4f} "
              f"{row['W1 detector']:8.4f} {row['cINN / baseline']:9.2f} "
              f"{row['IBU / baseline']:8.2f}  ≤{goal:g} {'met' if ok else 'NOT met'}")
    print(f"   cINN W1 goals met in {sum(verdicts)} of {len(verdicts)} rows")
    k = OBSERVABLES.index("pt_j1")  # pt_l1 is k + 1
    train, test = pairs.split(int(record["n_test"]))
    n_jets = test.n_jets[:len(pit)]
    for label, keep in (("all events", n_jets >= 0), ("2 jets", n_jets == 2),
                        ("3 jets", n_jets == 3), ("≥ 4 jets", n_jets >= 4)):
        shift = samples[:, keep, k].mean() - bundle.test.truth["pt_j1"][keep].mean()
        lepton = samples[:, keep, k + 1].mean() - bundle.test.truth["pt_l1"][keep].mean()
        print(f"   pT,j1 mean of the pooled cINN samples − truth, {label:10s} "
              f"({keep.mean():5.1%} of events): {shift:+.2f} GeV (pT,ℓ1: {lepton:+.2f} GeV)")
    first = train.subset(slice(0, 10_000))
    _, y_train, phi_train = model_inputs(first)
    seen = posterior_observables(model, y_train, phi_train, 8, torch.Generator().manual_seed(1))
    shift = seen["pt_j1"].mean() - parton_observables(first.parton)["pt_j1"].mean()
    print(f"   the same on 10,000 training events (8 samples each): {shift:+.2f} GeV")
    _shift_sources(model, test.subset(slice(0, len(pit))))
    if args.resample:
        _resampled(model, train, test.subset(slice(0, len(pit))), args.draws, args.resample)
    print()

    y, phi_ref = bundle.y[:20], bundle.phi_ref[:20]
    gen = torch.Generator().manual_seed(0)
    posterior_observables(model, y[:1], phi_ref[:1], 1000, gen)  # warm-up
    times = []
    for i in range(20):
        start = time.perf_counter()
        posterior_observables(model, y[i:i + 1], phi_ref[i:i + 1], 1000, gen)
        times.append(time.perf_counter() - start)
    t = statistics.median(times)
    print(f"3. 1,000 posterior samples of one event, 1 CPU thread: median {t:.3f} s over 20 "
          f"events = {t / 0.3:.2f} × the 0.3 s goal ({'met' if t <= 0.3 else 'NOT met'})")
    if not args.no_page:
        warm = _page_warm_seconds(directory)
        print(f"   page warm rerun (AppTest): {warm:.2f} s = {warm / 3:.2f} × the 3 s goal "
              f"({'met' if warm <= 3 else 'NOT met'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
