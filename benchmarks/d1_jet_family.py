"""D1 on 3-parameter jet families with scales ≥ 30× apart, trained by `jetviz train` defaults.

    python benchmarks/d1_jet_family.py [--out DIR] [--jets N] [--families A B] [--reuse]
                                       [--deep-sets]

For each family (jetviz.simulation.jet_families: prong separation, pT sharing, a split of the
soft prong, each uniform over a range whose exact-EMD spread is the scale):
  1. write N jets as a jet file;
  2. train `python -m jetviz train --data FILE --out DIR --threads 1 --no-progress`, every
     other setting its default (for jets of ≤ 4 particles: the whitened one-vector network,
     β from 3e-5 to 30 × the jets' largest EMD, balanced weighting, a log β embedding
     2.5× steeper at initialisation (jetviz.vae.flat.EMBED_SHARPNESS), the capped posterior
     (jetviz.vae.flat.CAPPED_POSTERIOR), a 12-minute budget, a scan of 20 β per decade);
  3. print the reference for the scan's β grid: D1 of an ideal β-VAE's switch-off (one
     uniform direction) on 10 and 20 β per decade, through the same derivative;
  4. print, from the scan stored in the model's config.json, the median D1 in each window of
     jetviz.vae.dimensionality.plateau_checks (the decade between neighbouring scales, the
     half-decade s_min/10–s_min/3, 3–30 × s_max) against the true count — the reference —
     with their ratio; the largest excess of D1 over the count for β ≥ s_min/3; the
     reconstruction floor δ (exact EMD) against the smallest scale; the active dimensions and
     distinct directions at the smallest β, and the D1 curve; D1 where the largest direction
     switches off (β = 0.06–1 × s_max) beside the shipped strip toy's at the same β / L (a
     uniform length under Euclidean distance, the reference for how fast it can switch off).
With ``--deep-sets`` the same family is also trained with ``--no-whiten`` (the deep-sets
network jets of more particles use) for the before/after comparison. ``--reuse`` prints
models already trained in DIR. Goals: |median − count| ≤ 0.3 per window, excess ≤ 0.5.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from jetviz.readers.store import write_jets  # noqa: E402
from jetviz.simulation.jet_families import family_jets  # noqa: E402
from jetviz.vae.dimensionality import plateau_checks  # noqa: E402

FAMILIES = {  # EMD spreads in GeV, ≥ 30× apart; B swaps which parameter is the middle scale
    "A": {"separation": 90.0, "sharing": 3.0, "split": 0.1},
    "B": {"separation": 150.0, "split": 3.0, "sharing": 0.1},
}
SEEDS = {"A": 0, "B": 5}


def _train(data: Path, out: Path, extra: list[str]) -> None:
    command = [sys.executable, "-m", "jetviz", "train", "--data", str(data), "--out", str(out),
               "--threads", "1", "--no-progress", *extra]
    print("  $", " ".join(command[1:]), flush=True)
    subprocess.run(command, check=True, cwd=ROOT, stdout=subprocess.DEVNULL)


def _report(name: str, model: Path, scales: dict[str, float]) -> None:
    payload = json.loads((model / "config.json").read_text())
    scan, config = payload["record"]["scan"], payload["config"]
    betas, d1 = np.asarray(scan["betas"]), np.asarray(scan["d1"])
    s_min = min(scales.values())
    print(f"\n{name} ({model}): scales {scales} GeV; latent {config['latent_dim']}, "
          f"β {config['beta_min']:.3g}–{config['beta_max']:.3g} GeV, "
          f"{len(payload['record']['history'])} epochs")
    print(f"  reconstruction floor δ = {scan['floor']:.4g} GeV = {scan['floor'] / s_min:.3g} × "
          f"the smallest scale ({s_min:g} GeV); at the smallest β "
          f"{int(scan['n_active'][0])} active dimensions, {int(scan['n_directions'][0])} "
          "distinct directions")
    print("  | β window (GeV) | true count | median D1 | D1 / count | goal | met |")
    print("  |---|---|---|---|---|---|")
    for row in plateau_checks(betas, d1, scales):
        lo, hi = row["window"]
        if "median_d1" in row:
            ratio = (f"{row['median_d1'] / row['expected']:.2f}" if row["expected"]
                     else "–")
            print(f"  | {lo:.3g}–{hi:.3g} | {row['expected']} | {row['median_d1']:.2f} | "
                  f"{ratio} | ±0.3 | {'yes' if row['ok'] else 'no'} |")
        else:
            print(f"  | {lo:.3g}–{hi:.3g} | count | max excess {row['max_excess']:.2f} | – | "
                  f"≤ 0.5 | {'yes' if row['ok'] else 'no'} |")
    print("  the largest (uniform) direction switching off, D1 at β / s_max:"
          + _switch_off(betas, d1, max(scales.values())))
    print("  D1 curve: " + ", ".join(
        f"{b:.3g}: {v:.2f} ({int(a)}/{int(k)})" for b, v, a, k in zip(
            betas[::4], d1[::4], scan["n_active"][::4], scan["n_directions"][::4],
            strict=True)) + "   [β GeV: D1 (active/distinct)]")


FRACTIONS = (0.06, 0.18, 0.33, 0.58, 1.0)  # β / the largest scale where the switch-off is read
STRIP = ROOT / "checkpoints" / "vae_strip"  # reference: a uniform length L, Euclidean distance


def _switch_off(betas: np.ndarray, d1: np.ndarray, size: float) -> str:
    """D1 interpolated (in log β) at β = FRACTIONS × size."""
    return "  " + ", ".join(f"{f:g}: {np.interp(np.log(f * size), np.log(betas), d1):.2f}"
                            for f in FRACTIONS)


def _strip_reference() -> None:
    payload = json.loads((STRIP / "config.json").read_text())
    scan, length = payload["record"]["scan"], payload["record"]["scales"]["length"]
    print("reference, the shipped strip toy (uniform length L, Euclidean), D1 at β / L:"
          + _switch_off(np.asarray(scan["betas"]), np.asarray(scan["d1"]), length))


def _grid_reference() -> None:
    """Median D1 in family A's 1-window for the ideal switch-off, on 10 and 20 β per decade."""
    from jetviz.vae.dimensionality import dimensionalities

    s_max, sigma = FAMILIES["A"]["separation"], FAMILIES["A"]["separation"] / np.sqrt(12)
    parts = []
    for per_decade in (10, 20):
        log_beta = np.linspace(np.log(2.71e-3), np.log(2.71e3), 6 * per_decade + 1)
        kl = np.clip(np.log(sigma / np.exp(log_beta)), 0, None)  # one uniform direction
        d1 = dimensionalities(log_beta, kl[:, None], np.ones_like(kl))[0]
        window = plateau_checks(np.exp(log_beta), d1, FAMILIES["A"])[2]
        parts.append(f"{per_decade} β per decade: {window['median_d1']:.2f}")
    print(f"reference, an ideal β-VAE on family A's largest direction alone (uniform, spread "
          f"s_max = {s_max:g} GeV: KL = log(σ/β) below σ = s_max/√12, 0 above), median D1 "
          f"over its 1-window (true 1): " + "; ".join(parts))


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default="/tmp/d1_jet_family")
    parser.add_argument("--jets", type=int, default=20_000)
    parser.add_argument("--families", nargs="+", default=list(FAMILIES), choices=list(FAMILIES))
    parser.add_argument("--reuse", action="store_true", help="print models already in --out")
    parser.add_argument("--deep-sets", action="store_true",
                        help="also train each family with --no-whiten (the deep-sets network)")
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    _strip_reference()
    _grid_reference()
    for name in args.families:
        scales = FAMILIES[name]
        runs = {"whitened (default)": (out / f"{name}_default", [])}
        if args.deep_sets:
            runs["deep sets (--no-whiten)"] = (out / f"{name}_deepsets", ["--no-whiten"])
        data = out / f"family_{name}.h5"
        if not (args.reuse and data.exists()):
            write_jets(data, family_jets(args.jets, scales, np.random.default_rng(SEEDS[name])))
        for label, (model, extra) in runs.items():
            if not (args.reuse and (model / "config.json").exists()):
                _train(data, model, extra)
            _report(f"family {name}, {label}", model, scales)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
