"""Does D1 count dimensions? The stored β-scans of the shipped models against what must hold.

    python benchmarks/dimensionality.py [MODEL_DIR ...]   (default: checkpoints/vae_*)

For toy models of known scales (banana, strip, ribbon, or any model whose record names
``scales``): the median D1 in each window between the scales against the true count, and the
largest excess of D1 over the count at β ≥ smallest scale / 3 (jetviz.vae.dimensionality.
plateau_checks; goals ±0.3 and ≤ 0.5). For every model: the invariants of an optimal β-VAE —
total KL non-increasing in β, 0 ≤ D1 ≤ latent size, D2 ≥ 0 — each judged against the
scan's 16–84 % bootstrap band where the scan stores one, over the whole grid and over β ≥ δ
(the reconstruction floor, exact EMD: below it D1 does not count data dimensions), and the
number of distinct directions among the active dimensions at the smallest β.
Reads the scans stored in each model's config.json; computes nothing new.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from jetviz.readers.points import scales_of_model  # noqa: E402
from jetviz.vae.dimensionality import plateau_checks  # noqa: E402

KL_NOISE = 0.02  # nats: a rise of total KL with β smaller than this counts as noise
D_NOISE = 0.1  # dimensions: D1 or D2 this far below 0 (band included) counts as noise


def _models(args: list[str]) -> list[Path]:
    if args:
        return [Path(a) for a in args]
    return sorted(p.parent for p in (ROOT / "checkpoints").glob("vae_*/config.json")
                  if "scan" in json.loads(p.read_text()).get("record", {}))


def _invariants(scan: dict, latent_dim: int, beta_min: float = 0.0) -> str:
    keep = np.asarray(scan["betas"]) >= beta_min
    if keep.sum() < 2:
        return "fewer than 2 grid points"
    d1, d2 = np.asarray(scan["d1"])[keep], np.asarray(scan["d2"])[keep]
    lo1 = np.asarray(scan.get("d1_lo", scan["d1"]))[keep]
    hi1 = np.asarray(scan.get("d1_hi", scan["d1"]))[keep]
    hi2 = np.asarray(scan.get("d2_hi", scan["d2"]))[keep]
    kl = np.asarray(scan["kl_per_dim"]).sum(1)[keep]
    rise = float(np.max(np.diff(kl)))
    parts = [
        f"KL rise {rise:+.3f} nats ({'ok' if rise <= KL_NOISE else 'FAILS'})",
        f"D1 in [{d1.min():.2f}, {d1.max():.2f}] "
        f"({'ok' if hi1.min() >= -D_NOISE and lo1.max() <= latent_dim else 'FAILS'} "
        f"0 ≤ D1 ≤ {latent_dim} within band)",
        f"D2 min {d2.min():.2f} ({'ok' if hi2.min() >= -D_NOISE else 'FAILS'} ≥ 0 within band)",
    ]
    return "; ".join(parts)


def main(args: list[str]) -> int:
    for model in _models(args):
        payload = json.loads((model / "config.json").read_text())
        record, config = payload["record"], payload["config"]
        scan = record["scan"]
        unit = "GeV" if config["data"] == "jets" else "data units"
        floor = scan.get("floor")
        floor_text = "not stored (rescan)" if floor is None else f"{floor:.4g} {unit}"
        directions = ("" if "n_directions" not in scan else
                      f"; at the smallest β {int(scan['n_active'][0])} active dimensions, "
                      f"{int(scan['n_directions'][0])} distinct directions")
        print(f"\n{model.name}: latent {config['latent_dim']}, floor δ = {floor_text}{directions}")
        print(f"  invariants, whole grid: {_invariants(scan, config['latent_dim'])}")
        if floor is not None:
            print(f"  invariants, β ≥ δ:      {_invariants(scan, config['latent_dim'], floor)}")
        scales = scales_of_model(record)
        if not scales:
            continue
        print("  | β window | true count | D1 | goal | met |")
        print("  |---|---|---|---|---|")
        for row in plateau_checks(np.asarray(scan["betas"]), np.asarray(scan["d1"]), scales):
            lo, hi = row["window"]
            if "median_d1" in row:
                print(f"  | {lo:.3g}–{hi:.3g} | {row['expected']} | median "
                      f"{row['median_d1']:.2f} | ±0.3 | {'yes' if row['ok'] else 'no'} |")
            else:
                print(f"  | {lo:.3g}–{hi:.3g} | count | max excess {row['max_excess']:.2f} | "
                      f"≤ 0.5 | {'yes' if row['ok'] else 'no'} |")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
