"""Anomaly taggers: the AUC table in both directions (AE and NAE; QCD-trained → top, W, Z;
top-trained → QCD, W, Z) beside the paper's values, and the scoring speed for 10,000 jets.

    python benchmarks/anomaly.py [--models checkpoints/anomaly] [--repeats 5]

Scores the test jets of the embedded default file again (the same split as training: the
first n_train jets of each class may be trained on, the next n_select choose the NAE's
step, the rest are the test jets), so the table is measured in this run.
Speed: jets → preprocessed 40 × 40 images → energies, on the CPU with one and two torch
threads, median of ``--repeats``; the goal is ≤ 1 s for 10,000 jets (ratio printed).
Page: with ``--page``, the Anomalies page in Chromium — first visit (cold: scoring), then
reloads (warm: cached), seconds until its charts are drawn, against the Home page reloaded
the same way in the same run; the goal is ≤ 3 s warm.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from jetviz import checkpoints
from jetviz.anomaly import checkpoint as ckpt
from jetviz.anomaly.data import model_images, test_start
from jetviz.anomaly.evaluate import (
    PAPER_AUC,
    PAPER_NOTE,
    evaluate_checkpoint,
    score_images,
)
from jetviz.paths import CHECKPOINTS, DEFAULT_JETS
from jetviz.readers import load_jets

GOAL_S = 1.0  # seconds for 10,000 jets
PAGE_GOAL_S = 3.0  # seconds for the page's first view, warm


def auc_table(models: Path, jets) -> dict:
    results = {}
    print(f"{'method':6} {'trained on':10} {'signal':6} {'AUC':>6} {'1/eB(0.2)':>9} "
          f"{'1/eB(0.5)':>9} {'AUC paper':>9}")
    for entry in checkpoints.find(ckpt.KIND, [models]):  # ae_qcd, ae_top, nae_qcd, nae_top
        try:
            model, config, _ = ckpt.load(entry.path)
        except ValueError as err:
            print(f"{entry.name}: unusable: {err}")
            continue
        method, background = config["train"]["method"], config["train"]["background"]
        table = evaluate_checkpoint(model, jets, background, test_start(config["train"]))
        results[(method, background)] = table
        for group, s in table["signals"].items():
            paper = PAPER_AUC.get((method, background, group))
            print(f"{method.upper():6} {background:10} {group:6} {s['auc']:6.3f} "
                  f"{s['inv_eb_02']:9.1f} {s['inv_eb_05']:9.1f} "
                  f"{'n/a' if paper is None else f'{paper:.3f}':>9}")
    print(f"paper: {PAPER_NOTE}")
    for background, group in (("qcd", "top"), ("top", "QCD")):
        ae, nae = results.get(("ae", background)), results.get(("nae", background))
        if ae and nae:
            a, n = ae["signals"][group]["auc"], nae["signals"][group]["auc"]
            verdict = ("equal at 3 decimals" if abs(n - a) < 5e-4 else
                       "NAE better" if n > a else "AE better")
            print(f"trained on {background}, {group} as signal: NAE − AE = {n - a:+.4f} AUC "
                  f"({verdict})")
    top_ae = results.get(("ae", "top"))
    if top_ae:
        auc = top_ae["signals"]["QCD"]["auc"]
        print(f"complexity bias (top-trained AE tags QCD with AUC < 0.5): AUC {auc:.3f} → "
              f"{'visible' if auc < 0.5 else 'not visible'}")
    return results


def _plain_scores(model, images: np.ndarray) -> None:
    with torch.inference_mode():
        x = torch.from_numpy(images)
        for i in range(0, len(x), 2500):
            model.energy(x[i:i + 2500])


def speed(models: Path, jets, repeats: int) -> None:
    import os

    model, _, _ = ckpt.load(models / "ae_qcd")
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} "
          "(shared: the timings scale with it)")
    n = 10_000
    particles, mask = jets.particles[:n], jets.mask[:n]
    for threads in (1, 2):
        torch.set_num_threads(threads)
        t_img, t_all, t_ref = [], [], []
        for _ in range(repeats):
            t0 = time.perf_counter()
            images = model_images(particles, mask, model.config, jets.radius)
            t1 = time.perf_counter()
            score_images(model, images)
            t2 = time.perf_counter()
            _plain_scores(model, images)  # reference: the network as trained, same run
            t3 = time.perf_counter()
            t_img.append(t1 - t0)
            t_all.append(t2 - t0)
            t_ref.append(t3 - t2)
        total, img = float(np.median(t_all)), float(np.median(t_img))
        ref = float(np.median(t_ref))
        print(f"scoring {n:,} jets on {threads} thread(s): {total:.2f} s (images {img:.2f} s + "
              f"network {total - img:.2f} s; the network as trained takes {ref:.2f} s, "
              f"{ref / (total - img):.1f}× longer); goal {GOAL_S:.1f} s → ratio "
              f"{total / GOAL_S:.2f} ({'met' if total <= GOAL_S else 'not met'})")


def _timed_reload(page, n_charts: int) -> float:
    from tests.support_browser import wait_for_app

    t0 = time.perf_counter()
    page.reload()
    wait_for_app(page, 120_000)
    page.wait_for_function(f"document.querySelectorAll('.js-plotly-plot').length >= {n_charts}",
                           timeout=120_000)
    return time.perf_counter() - t0


def page_timing(repeats: int) -> None:
    from tests.support_browser import browser_page, open_page, running_app

    with running_app() as url, browser_page() as page:
        t0 = time.perf_counter()
        open_page(page, url, "Anomalies", 300_000)
        page.wait_for_function("document.querySelectorAll('.js-plotly-plot').length >= 5",
                               timeout=300_000)
        cold = time.perf_counter() - t0
        warm = statistics.median(_timed_reload(page, 5) for _ in range(repeats))
        open_page(page, url, "Home", 120_000)
        home = statistics.median(_timed_reload(page, 0) for _ in range(repeats))
    print(f"Anomalies page: first visit (cold, scores computed) {cold:.1f} s; first view warm "
          f"{warm:.2f} s (median of {repeats} reloads) vs Home page {home:.2f} s "
          f"(ratio {warm / home:.2f}); goal {PAGE_GOAL_S:.0f} s → "
          f"{'met' if warm <= PAGE_GOAL_S else 'not met'}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default=str(CHECKPOINTS / "anomaly"))
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--page", action="store_true", help="also time the page in Chromium")
    args = parser.parse_args()
    torch.set_num_threads(1)
    jets = load_jets(str(DEFAULT_JETS))
    auc_table(Path(args.models), jets)
    speed(Path(args.models), jets, args.repeats)
    if args.page:
        page_timing(args.repeats)
    return 0


if __name__ == "__main__":
    sys.exit(main())
