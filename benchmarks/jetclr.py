"""JetCLR benchmark: the stored ablation table, and the shipped encoder re-evaluated now.

    python benchmarks/jetclr.py [--jets checkpoints/jets_default.h5] [--dir checkpoints/jetclr]

Prints (1) the ablation from ablation.json (AUC and 1/ε_B at ε_S = 0.5 per augmentation
set, the supervised ceiling, the probe/ceiling ratio) beside the talk's numbers; (2) the
shipped all-augmentations encoder and its stored linear probe applied again, in this run, to
the held-out jets (same seeded split), with the ratio to the stored AUC; (3) the median time
to represent 1,000 jets, against the time to compute their N-subjettiness (τ1..τ3 with
exclusive-kT axes, jetviz.physics) in the same run.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from jetviz.jetclr.checkpoint import ABLATION, SHIPPED, load_encoder, load_results  # noqa: E402
from jetviz.jetclr.model import represent  # noqa: E402
from jetviz.jetclr.report import format_table  # noqa: E402
from jetviz.jetclr.roc import roc_summary  # noqa: E402
from jetviz.jetclr.split import top_qcd_split  # noqa: E402
from jetviz.physics import nsubjettiness  # noqa: E402
from jetviz.readers import load_jets  # noqa: E402


def _median_seconds(fn, repeats: int = 5) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jets", default=str(ROOT / "checkpoints" / "jets_default.h5"))
    parser.add_argument("--dir", default=str(ROOT / "checkpoints" / "jetclr"))
    args = parser.parse_args()
    torch.set_num_threads(1)

    table = load_results(Path(args.dir) / ABLATION)
    print("== JetCLR augmentation ablation (stored, ablation.json) ==")
    print(format_table(table))
    print(f"(made by: {table.get('command')}; wall time {table.get('wall_seconds')} s)\n")

    model, _, probe, info = load_encoder(Path(args.dir) / SHIPPED)
    jets = load_jets(args.jets)
    split = top_qcd_split(jets, info["split"]["seed"], info["split"]["test_fraction"],
                          info["split"]["max_per_class"])
    x, m = jets.particles[split.test], jets.mask[split.test]
    start = time.perf_counter()
    summary = roc_summary(probe.scores(represent(model, x, m)), split.y_test)
    seconds = time.perf_counter() - start
    stored = info["held_out"]["auc"]
    print("== shipped encoder + stored probe, re-evaluated now on held-out jets ==")
    print(f"held-out jets: {len(split.test):,} ({int(split.y_test.sum()):,} top, "
          f"{int((1 - split.y_test).sum()):,} QCD), {seconds:.1f} s")
    print(f"AUC now {summary.auc:.4f}, stored {stored:.4f}, ratio {summary.auc / stored:.4f}")
    print(f"1/eps_B at eps_S = 0.5 now {summary.inv_eb:.1f}, "
          f"stored {info['held_out']['inv_eb']:.1f}\n")

    sample = slice(0, 1000)
    xs, ms = x[sample], m[sample]
    t_rep = _median_seconds(lambda: represent(model, xs, ms))
    t_tau = _median_seconds(lambda: nsubjettiness(xs, ms, 3, jets.radius))
    print("== speed, 1,000 jets, one thread, median of 5 ==")
    print(f"JetCLR representation: {t_rep * 1e3:.0f} ms ({1000 / t_rep:,.0f} jets/s)")
    print(f"N-subjettiness tau1..3 (reference): {t_tau * 1e3:.0f} ms ({1000 / t_tau:,.0f} jets/s)")
    print(f"ratio representation / N-subjettiness time: {t_rep / t_tau:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
