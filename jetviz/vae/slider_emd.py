"""Exact reconstruction EMDs of the β slider's sample, stored beside a model.

Vocabulary
----------
The **slider sample** is what the β page reconstructs: at most ``SAMPLE_SIZE`` jets of the
data set in use (one class, or all), drawn with ``SAMPLE_SEED`` exactly as
``ui.vae.sample_for`` draws them. Its **fingerprint** is a SHA-1 of the jets' particles,
mask and jet features, so a stored grid is used only for the very jets it was made from.
The **grid** is the exact EMD (GeV) of every sample jet to its reconstruction at z = μ, at
every β of the model's stored scan: an array (n_beta, N), written to
``<model>/slider_emd.safetensors`` (float64, the making command in its metadata) by::

    jetviz slider-emd --model checkpoints/vae_w

A slider move on a shipped model is then a lookup (:func:`lookup`); for any other model or
sample the page computes the exact EMD on demand (:func:`jetviz.vae.scan.reconstruct`).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shlex
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from jetviz.errors import JetvizInputError
from jetviz.jets import JetSet

FILE_NAME = "slider_emd.safetensors"
SAMPLE_SIZE = 1000  # = ui.vae.SAMPLE_SIZE
SAMPLE_SEED = 20251122  # = ui.vae.SAMPLE_SEED
MAX_JETS = 100_000  # = ui.data.MAX_JETS_DEFAULT (jets read from a file)
ALL_CLASSES = "all classes"


def fingerprint(jets: JetSet) -> str:
    """SHA-1 of the jets' particles, mask and jet features (hex)."""
    digest = hashlib.sha1()
    for array in (jets.particles, jets.mask, jets.jets):
        digest.update(np.ascontiguousarray(array).tobytes())
    return digest.hexdigest()


def slider_sample(jets: JetSet, class_name: str = ALL_CLASSES,
                  size: int = SAMPLE_SIZE) -> JetSet:
    """The β page's sample: ≤ ``size`` jets of one class (or all), seeded as the page does."""
    if class_name != ALL_CLASSES:
        jets = jets.of_class(class_name)
    n = min(size, len(jets))
    index = np.sort(np.random.default_rng(SAMPLE_SEED).permutation(len(jets))[:n])
    return jets.subset(index)


def compute_grid(model, jets: JetSet, betas: np.ndarray, n_jobs: int = 2) -> np.ndarray:
    """Exact EMD (n_beta, N) in GeV of each jet to its reconstruction (z = μ) at each β."""
    import torch

    from jetviz.vae.losses import emd_exact
    from jetviz.vae.scan import encode_decode, prepare

    inputs = prepare(model, jets)
    rows = []
    with torch.inference_mode():
        for beta in np.asarray(betas, dtype=np.float64):
            x_hat, _, _, _ = encode_decode(model, inputs, float(beta))
            rows.append(emd_exact(inputs.x.double(), inputs.mask, x_hat.double(),
                                  inputs.jet_pt.double(), model.config,
                                  n_jobs=n_jobs).cpu().numpy())
    return np.stack(rows)


@dataclass(frozen=True)
class Grid:
    """A stored grid: ``emd`` (n_beta, N) GeV at ``betas`` (n_beta,) for the sample of
    ``fingerprint`` (``description`` says which jets)."""

    betas: np.ndarray
    emd: np.ndarray
    fingerprint: str
    description: str

    def lookup(self, beta: float, sample_fingerprint: str) -> np.ndarray | None:
        """The stored EMDs at ``beta`` for this sample, or None (other jets, β off the grid)."""
        if sample_fingerprint != self.fingerprint:
            return None
        k = int(np.argmin(np.abs(np.log(self.betas) - np.log(beta))))
        if abs(self.betas[k] - beta) > 1e-6 * beta:
            return None
        return self.emd[k].astype(np.float64)


def save_grid(model_dir: str | Path, grid: Grid, command: str) -> Path:
    """Write ``<model_dir>/slider_emd.safetensors`` atomically (float64, metadata as text)."""
    from safetensors.numpy import save_file

    from jetviz.files import atomic_path

    path = Path(model_dir) / FILE_NAME
    meta = {"command": command, "fingerprint": grid.fingerprint,
            "description": grid.description, "units": "GeV",
            "what": "exact EMD of each slider-sample jet to its reconstruction at z = mu"}
    with atomic_path(path) as tmp:
        save_file({"betas": grid.betas.astype(np.float64),
                   "emd": grid.emd.astype(np.float64)}, str(tmp), metadata=meta)
    return path


def load_grid(model_dir: str | Path) -> Grid | None:
    """The stored grid of a model directory, or None when there is none."""
    from safetensors import safe_open

    path = Path(model_dir) / FILE_NAME
    if not path.is_file():
        return None
    with safe_open(str(path), framework="numpy") as f:
        meta = f.metadata() or {}
        return Grid(f.get_tensor("betas"), f.get_tensor("emd"), meta.get("fingerprint", ""),
                    meta.get("description", ""))


# ------------------------------------------------------------------------------------ CLI


def configure(parser: argparse.ArgumentParser) -> None:
    parser.description = ("Store the exact reconstruction EMD of the β page's jet sample at "
                          "every β of a model's scan, beside the model (slider_emd.safetensors).")
    parser.add_argument("--model", required=True, help="checkpoint directory (e.g. "
                        "checkpoints/vae_w)")
    parser.add_argument("--jets", default=None, help="jet file the page uses (default: the "
                        "embedded default sample)")
    parser.add_argument("--class", dest="class_name", default=None,
                        help="class of the sample (default: the model's class if it was "
                        "trained on one, else all classes — the page's default)")
    parser.add_argument("--threads", type=int, default=2, help="CPU threads for the EMDs")


def run(args: argparse.Namespace) -> int:
    import torch

    from jetviz.paths import DEFAULT_JETS
    from jetviz.readers import load_jets
    from jetviz.vae.checkpoint import load_checkpoint
    from jetviz.vae.scan import BetaScan

    torch.set_num_threads(1)
    model, config, record = load_checkpoint(args.model)
    if config.data != "jets":
        raise JetvizInputError(f"{args.model}: a toy model's distance is Euclidean, computed "
                               "exactly on every slider move; nothing to store")
    path = args.jets or str(DEFAULT_JETS)
    jets = load_jets(path, max_jets=MAX_JETS)
    classes = record.get("classes") or record.get("data", {}).get("classes") or []
    class_name = args.class_name or (classes[0] if len(classes) == 1 else ALL_CLASSES)
    sample = slider_sample(jets, class_name)
    betas = BetaScan.from_dict(record.get("scan") or {}).betas
    t0 = time.perf_counter()
    grid = Grid(betas, compute_grid(model, sample, betas, args.threads), fingerprint(sample),
                f"{len(sample)} jets ({class_name}) of {Path(path).name}, seed {SAMPLE_SEED}")
    command = " ".join(["jetviz slider-emd --model", shlex.quote(str(args.model))]
                       + (["--jets", shlex.quote(args.jets)] if args.jets else [])
                       + (["--class", args.class_name] if args.class_name else [])
                       + ["--threads", str(args.threads)])
    out = save_grid(args.model, grid, command)
    print(json.dumps({"file": str(out), "betas": len(betas), "jets": len(sample),
                      "seconds": round(time.perf_counter() - t0, 1),
                      "median_emd_gev": float(np.median(grid.emd))}))
    return 0
