"""Posterior samples of the cINN as observables, and the precomputed test-sample summary.

``posterior_observables`` draws n parton events per detector event and returns the five
observables (``jetviz.unfolding.data.OBSERVABLES``) of each sample. Sampling 1,000 events
for every test event takes minutes on a CPU, so ``jetviz unfold posterior`` does it once and
stores, per test event (the first ``--events`` of the test sample) and observable, the PIT
value (for calibration) and ``keep`` samples (pooled over events they are the unfolded
distribution):

  summary file (HDF5, kind "jetviz-unfolding-posterior")
    pit       (N, 5)        float32  fraction of the event's samples below its true value
    samples   (keep, N, 5)  float16  the first ``keep`` posterior samples' observables
    attributes: command, model, data, n_samples, seed, seconds
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import torch

from jetviz.errors import JetvizInputError
from jetviz.readers.store import read_file, write_file
from jetviz.unfolding.checkpoint import load_cinn
from jetviz.unfolding.data import (
    OBSERVABLES,
    observables_from_objects,
    parton_observables,
    read_pair_rows,
)
from jetviz.unfolding.flow import ConditionalINN
from jetviz.unfolding.metrics import pit_values
from jetviz.unfolding.representation import model_inputs, partons_from_coords

KIND = "jetviz-unfolding-posterior"


def posterior_observables(model: ConditionalINN, y: np.ndarray, phi_ref: np.ndarray, n: int,
                          generator: torch.Generator | None = None) -> dict[str, np.ndarray]:
    """Observables of n posterior samples per detector event: {name: (n, B)}.

    Args:
        model: a trained cINN (eval mode).
        y: (B, F) detector features; phi_ref: (B,) their reference azimuths.
    """
    device = next(model.parameters()).device
    yt = torch.as_tensor(np.asarray(y, dtype=np.float32), device=device)
    coords = model.sample(yt, n, generator).cpu().numpy().astype(np.float64)  # (n, B, D)
    partons = partons_from_coords(coords, np.asarray(phi_ref)[None, :])  # (n, B, 4, 4)
    return observables_from_objects(partons[..., :2, :], partons[..., 2:, :])


def summarise(model: ConditionalINN, y: np.ndarray, phi_ref: np.ndarray, parton: np.ndarray,
              n_samples: int, keep: int, seed: int, batch_events: int = 50,
              progress: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """(PIT (N, 5), kept samples (keep, N, 5)) for events with true partons (N, 4, 4)."""
    from tqdm import tqdm

    if not 1 <= keep <= n_samples:
        raise JetvizInputError(f"--keep {keep}: need 1 ≤ keep ≤ --samples {n_samples}")
    truth = parton_observables(parton.astype(np.float64))
    gen = torch.Generator().manual_seed(seed)
    n = len(y)
    pit = np.zeros((n, len(OBSERVABLES)), dtype=np.float32)
    kept = np.zeros((keep, n, len(OBSERVABLES)), dtype=np.float16)
    for start in tqdm(range(0, n, batch_events), desc="posteriors", unit="batch",
                      disable=not progress, dynamic_ncols=True):
        sl = slice(start, min(start + batch_events, n))
        obs = posterior_observables(model, y[sl], phi_ref[sl], n_samples, gen)
        for k, name in enumerate(OBSERVABLES):
            pit[sl, k] = pit_values(obs[name], truth[name][sl])
            kept[:, sl, k] = obs[name][:keep]
    return pit, kept


def write_summary(path: str | Path, pit: np.ndarray, samples: np.ndarray, attrs: dict) -> None:
    write_file(path, KIND, {"pit": pit.astype(np.float32), "samples": samples.astype(np.float16)},
               {**attrs, "observables": list(OBSERVABLES)})


def read_summary(path: str | Path) -> tuple[np.ndarray, np.ndarray, dict]:
    """(PIT (N, 5), samples (keep, N, 5) as float32, attributes) of a summary file."""
    arrays, attrs = read_file(path, KIND, ("pit", "samples"))
    return arrays["pit"].astype(np.float32), arrays["samples"].astype(np.float32), attrs


def summarise_file(data: str | Path, model_dir: str | Path, out: str | Path, n_samples: int,
                   keep: int, seed: int, n_events: int | None = None, command: str = "",
                   progress: bool = True) -> tuple[int, float]:
    """Summarise the test sample of a paired file under a cINN and write the summary file.

    Args:
        data: a file of ``jetviz unfold generate``; model_dir: a cINN checkpoint (its record
            says how many events are the test sample); out: the summary file written.
        n_samples, keep, seed: as :func:`summarise`.
        n_events: summarise only the first this many test events (None: all).

    Returns:
        (events summarised, seconds spent sampling).
    """
    model, record = load_cinn(model_dir)
    n_test, (_, n_file) = int(record["n_test"]), read_pair_rows(data, 0, 0, 0)
    if not 0 < n_test < n_file:
        raise JetvizInputError(f"n_test = {n_test}: need 0 < n_test < {n_file} events")
    if n_events is not None and not 1 <= n_events <= n_test:
        raise JetvizInputError(f"--events {n_events}: the test sample has {n_test}")
    n = n_test if n_events is None else n_events  # only these rows are read
    test, _ = read_pair_rows(data, n_file - n_test, n_file - n_test + n, n)
    _, y, phi_ref = model_inputs(test)
    start = time.perf_counter()
    pit, samples = summarise(model, y, phi_ref, test.parton, n_samples, keep, seed,
                             progress=progress)
    seconds = time.perf_counter() - start
    write_summary(out, pit, samples, {
        "command": command, "model": str(model_dir), "data": str(data),
        "n_samples": n_samples, "seed": seed, "seconds": round(seconds, 1)})
    return len(pit), seconds
