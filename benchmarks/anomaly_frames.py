"""Does the jet frame decide whether the complexity bias shows? Train the top-background AE
four times, differing only in the frame of its images, and print its QCD AUC for each.

    python benchmarks/anomaly_frames.py [--epochs 15]

Frames: the flip rule ("half-plane": harder half positive, the jet-image convention the
shipped anomaly models use; "moment": third moment positive, the rule of every other model)
× the principal axis along η (jetviz's frame) or along φ (η and φ exchanged after the frame,
as the jet-image papers draw it). Each run is `jetviz anomaly train --background top --method
ae --ae-epochs E --threads 1` on the embedded default jets (≈ 15–30 s each on one thread);
AUC < 0.5 means the top-trained AE finds QCD jets *more* normal than tops: the complexity bias.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import jetviz.anomaly.data as data
from jetviz import checkpoints
from jetviz.cli import main
from jetviz.physics.frame import preprocess


def _axis_along_phi(particles, mask, flip):
    moved, params = preprocess(particles, mask, flip=flip)
    return moved[..., [0, 2, 1]], params


def run(flip: str, axis: str, epochs: int, out: Path) -> float:
    data.preprocess = _axis_along_phi if axis == "φ" else preprocess
    try:
        code = main(["anomaly", "train", "--background", "top", "--method", "ae", "--flip", flip,
                     "--out", str(out), "--ae-epochs", str(epochs), "--max-minutes", "10",
                     "--threads", "1", "--no-progress"])
    finally:
        data.preprocess = preprocess
    if code:
        raise SystemExit(code)
    return float(checkpoints.read_config(out)["record"]["evaluation"]["signals"]["QCD"]["auc"])


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=15)
    args = parser.parse_args()
    print(f"top-trained AE, {args.epochs} epochs, QCD AUC on the held-out jets:")
    print(f"{'flip rule':<12}{'axis':<6}{'QCD AUC':>8}")
    with tempfile.TemporaryDirectory() as tmp:
        for flip in ("half-plane", "moment"):
            for axis in ("η", "φ"):
                auc = run(flip, axis, args.epochs, Path(tmp) / f"{flip}_{axis}")
                bias = "visible" if auc < 0.5 else "not visible"
                print(f"{flip:<12}{axis:<6}{auc:>8.3f}  bias {bias}", flush=True)


if __name__ == "__main__":
    cli()
