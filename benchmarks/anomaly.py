"""Anomaly taggers: the AUC table in both directions (AE and NAE; QCD-trained → top, W, Z;
top-trained → QCD, W, Z) beside the paper's values, for the models on sharp images and on
blurred ones, the NAE diagnostics, and the scoring speed for 10,000 jets.

    python benchmarks/anomaly.py [--models checkpoints/anomaly]
        [--blurred checkpoints/anomaly_blur] [--repeats 5]

Scores the test jets of the embedded default file again (the same split as training: the
first n_train jets of each class may be trained on, the next n_select choose the NAE's
step, the rest are the test jets), so the table is measured in this run.
Diagnostics of each NAE: ⟨E⟩ of training jets and of negative samples and the selection AUC
along its training (from its record), and how the loss's two terms pull on the weights at
the AE it started from and at the NAE kept: cos(∇θ⟨E⟩_data, ∇θ⟨E⟩_neg) on 512 training
jets and 256 negatives drawn here with the run's sampler (near 1: the terms cancel).
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


def auc_table(models: Path, jets, title: str) -> dict:
    results = {}
    print(f"\n== {title} ({models}) ==")
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
    for method, background in sorted(results):
        print(f"budget {method.upper()} {background}: {_budget(models, method, background)}")
    top_ae = results.get(("ae", "top"))
    if top_ae:
        auc = top_ae["signals"]["QCD"]["auc"]
        print(f"complexity bias (top-trained AE tags QCD with AUC < 0.5): AUC {auc:.3f} → "
              f"{'visible' if auc < 0.5 else 'not visible'}")
    return results


def _budget(models: Path, method: str, background: str) -> str:
    record = checkpoints.read_config(models / f"{method}_{background}", ckpt.KIND)["record"]
    data = record.get("data", {})
    if method == "ae":
        return (f"{record.get('epoch')} epochs (best {record.get('best_epoch')}) on "
                f"{data.get('n_fit', '?'):,} jets, {record.get('minutes', 0):.1f} min")
    return (f"its AE + {record.get('step')} NAE steps (kept {record.get('selected_step')}) on "
            f"the same {data.get('n_fit', '?'):,} jets, {record.get('minutes', 0):.1f} min")


def nae_history(models: Path) -> None:
    """⟨E⟩ data vs negatives and the selection AUC along each NAE's training (its record)."""
    for background in ("qcd", "top"):
        path = models / f"nae_{background}"
        if not path.is_dir():
            continue
        record = checkpoints.read_config(path, ckpt.KIND)["record"]
        print(f"{path.name}: step  E data   E neg    E neg/E data  selection AUC "
              f"(kept step {record.get('selected_step')})")
        for h in record.get("nae_history", []):
            if "auc" in h and h["step"] % 20 == 0:
                auc = ", ".join(f"{g} {a:.3f}" for g, a in h["auc"].items())
                print(f"  {h['step']:4d}  {h['pos_energy']:.2e} {h['neg_energy']:.2e} "
                      f"{h['neg_energy'] / h['pos_energy']:8.2f}      {auc}")


def alignment(models: Path, jets) -> None:
    """cos(∇θ⟨E⟩_data, ∇θ⟨E⟩_neg) at the AE and at the NAE of each background."""
    from jetviz.anomaly.data import split_jets
    from jetviz.anomaly.nae import (
        ReplayBuffer,
        SamplerConfig,
        gradient_alignment,
        sample_negatives,
    )

    for background in ("qcd", "top"):
        if not (models / f"nae_{background}").is_dir():
            continue
        _, nae_config, _ = ckpt.load(models / f"nae_{background}")
        sampler = SamplerConfig(**nae_config["train"]["sampler"])
        for method in ("ae", "nae"):
            model, config, _ = ckpt.load(models / f"{method}_{background}")
            split = split_jets(jets, background, int(config["train"]["n_train"]))
            pick = np.random.default_rng(0).choice(len(split.train), 512, replace=False)
            idx = split.train[np.sort(pick)]
            x = torch.from_numpy(model_images(jets.particles[idx], jets.mask[idx], model.config,
                                              jets.radius))
            gen = torch.Generator().manual_seed(0)
            buffer = ReplayBuffer(10_000, model.config.latent_dim)
            for _ in range(3):  # let the replay buffer fill a little, as in training
                neg = sample_negatives(model, 256, sampler, buffer, gen)["x"]
            d = gradient_alignment(model.train(), x, neg)
            n_data = float((x > 1e-3).flatten(1).sum(1).float().mean())
            n_neg = float((neg > 1e-3).flatten(1).sum(1).float().mean())
            print(f"{method.upper():3} {background}: E data {d['e_data']:.2e}, E neg "
                  f"{d['e_neg']:.2e}; |∇E data| {d['g_data']:.2e}, |∇E neg| {d['g_neg']:.2e}, "
                  f"cos {d['cos']:+.2f}; pixels > 10⁻³: data {n_data:.0f}, negatives "
                  f"{n_neg:.0f}")


def _plain_scores(model, images: np.ndarray) -> None:
    with torch.inference_mode():
        x = torch.from_numpy(images)
        for i in range(0, len(x), 2500):
            model.energy(x[i:i + 2500])


def speed(models: Path, jets, repeats: int) -> None:
    import os

    model, _, _ = ckpt.load(models / "ae_qcd")
    print(f"\n{models / 'ae_qcd'} (images blurred by σ = {model.config.smooth} pixel): machine "
          f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} (shared: the timings "
          "scale with it)")
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
    parser.add_argument("--blurred", default=str(CHECKPOINTS / "anomaly_blur"),
                        help="the models on blurred images (σ = 1 pixel)")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--page", action="store_true", help="also time the page in Chromium")
    args = parser.parse_args()
    torch.set_num_threads(1)
    jets = load_jets(str(DEFAULT_JETS))
    sets = {"sharp images": Path(args.models), "blurred images (σ = 1 pixel)":
            Path(args.blurred)}
    tables = {title: auc_table(models, jets, title) for title, models in sets.items()
              if models.is_dir()}
    print("\n== the talk's directions: sharp vs blurred images ==")
    for background, group in (("qcd", "top"), ("top", "QCD")):
        cells = [f"{title.split()[0]} AE {t[('ae', background)]['signals'][group]['auc']:.3f} "
                 f"→ NAE {t[('nae', background)]['signals'][group]['auc']:.3f}"
                 for title, t in tables.items() if ("ae", background) in t
                 and ("nae", background) in t]
        print(f"trained on {background}, {group} as signal: " + "; ".join(cells))
    for title, models in sets.items():
        if models.is_dir():
            print(f"\n== NAE diagnostics, {title} ==")
            nae_history(models)
            alignment(models, jets)
    for models in sets.values():
        if models.is_dir():
            speed(models, jets, args.repeats)
    if args.page:
        page_timing(args.repeats)
    return 0


if __name__ == "__main__":
    sys.exit(main())
