"""Exact reconstruction EMDs of the β slider's sample, stored beside a model.

Vocabulary
----------
The **slider sample** is what the β page reconstructs: at most ``SAMPLE_SIZE`` jets of the
data set in use (one class, or all), drawn with ``SAMPLE_SEED`` exactly as
``ui.vae.sample_for`` draws them. Its **fingerprint** is a SHA-1 of the jets' particles,
mask and jet features, so a stored grid is used only for the very jets it was made from.
The **grid** is the exact EMD (GeV) of every sample jet to its reconstruction at z = μ, at
every β of the model's stored scan: an array (n_beta, N), written to
``<model>/slider_emd.safetensors`` (float64, a tensor part of the checkpoint,
:mod:`jetviz.checkpoints`; the making command and the fingerprint go into the checkpoint's
``record["slider_emd"]``) by::

    jetviz slider-emd --model checkpoints/vae_w

A slider move on a shipped model is then a lookup (:func:`lookup`); for any other model or
sample the page computes the exact EMD on demand (:func:`jetviz.vae.scan.reconstruct`).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from safetensors import safe_open

from jetviz.checkpoints import (
    CONFIG,
    has_part,
    read_config,
    read_tensors,
    write_json,
    write_tensors,
)
from jetviz.jets import JetSet
from jetviz.vae.losses import emd_exact
from jetviz.vae.model import nearest_beta_index
from jetviz.vae.scan import encode_decode, prepare

FILE_NAME = "slider_emd.safetensors"
SAMPLE_SIZE = 1000  # jets the β page reconstructs (ui.vae imports it)
SAMPLE_SEED = 20251122
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
        k = nearest_beta_index(self.betas, beta)
        if abs(self.betas[k] - beta) > 1e-6 * beta:
            return None
        return self.emd[k].astype(np.float64)


def default_class(record: dict) -> str:
    """The class the β page shows a model first: its one trained class, else all classes."""
    classes = record.get("classes") or record.get("data", {}).get("classes") or []
    return classes[0] if len(classes) == 1 else ALL_CLASSES


def store_for_data(model_dir: str | Path, model, record: dict, jets: JetSet, source: str,
                   command: str, n_jobs: int = 2, class_name: str | None = None) -> Grid:
    """Compute and store the exact-EMD grid of the β page's default sample of ``jets`` (the
    model's class, or all classes) at every β of the model's scan; returns the grid."""
    from jetviz.vae.scan import BetaScan

    class_name = class_name or default_class(record)
    sample = slider_sample(jets, class_name)
    betas = BetaScan.from_dict(record.get("scan") or {}).betas
    grid = Grid(betas, compute_grid(model, sample, betas, n_jobs), fingerprint(sample),
                f"{len(sample)} jets ({class_name}) of {source}, seed {SAMPLE_SEED}")
    save_grid(model_dir, grid, command)
    return grid


GRID = FILE_NAME.removesuffix(".safetensors")  # the tensor part's name in the checkpoint
RECORD_KEY = "slider_emd"  # record entry describing the stored grid (command, fingerprint, ...)


def grid_description(grid: Grid, command: str) -> dict:
    """What the record says about a stored grid (text; the arrays are in the tensor file)."""
    return {"command": command, "fingerprint": grid.fingerprint,
            "description": grid.description, "units": "GeV",
            "what": "exact EMD of each slider-sample jet to its reconstruction at z = mu"}


def save_grid(model_dir: str | Path, grid: Grid, command: str) -> Path:
    """Write ``<model_dir>/slider_emd.safetensors`` (float64) and describe it in the
    checkpoint's record (config.json, rewritten last: a kill in between leaves a grid whose
    fingerprint the record does not hold, which is never used)."""
    payload = read_config(model_dir)
    write_tensors(model_dir, GRID, {"betas": np.asarray(grid.betas, dtype=np.float64),
                                    "emd": np.asarray(grid.emd, dtype=np.float64)})
    payload.setdefault("record", {})[RECORD_KEY] = grid_description(grid, command)
    write_json(Path(model_dir) / CONFIG, payload)
    return Path(model_dir) / FILE_NAME


def load_grid(model_dir: str | Path) -> Grid | None:
    """The stored grid of a model directory, or None when there is none."""
    if not has_part(model_dir, GRID):
        return None
    meta = (read_config(model_dir).get("record") or {}).get(RECORD_KEY)
    if not meta:
        return None
    arrays = read_tensors(model_dir, GRID, numpy=True)
    return Grid(arrays["betas"], arrays["emd"], meta.get("fingerprint", ""),
                meta.get("description", ""))


def convert_legacy_grid(model_dir: str | Path, record: dict) -> None:
    """Move the text metadata of an old ``slider_emd.safetensors`` (before the one
    checkpoint format) into ``record`` and rewrite the file without it; the caller writes
    the record. Nothing happens without the file or when the record already describes it."""
    path = Path(model_dir) / FILE_NAME
    if not path.is_file() or RECORD_KEY in record:
        return
    with safe_open(str(path), framework="numpy") as f:
        meta = dict(f.metadata() or {})
    arrays = read_tensors(model_dir, GRID, numpy=True)
    grid = Grid(arrays["betas"], arrays["emd"], meta.get("fingerprint", ""),
                meta.get("description", ""))
    write_tensors(model_dir, GRID, {"betas": grid.betas, "emd": grid.emd})
    record[RECORD_KEY] = grid_description(grid, meta.get("command", ""))


