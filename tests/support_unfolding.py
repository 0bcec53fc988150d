"""A tiny, synthetic stand-in for the shipped unfolding files (no Pythia): parton events
drawn in the cINN's own coordinates, a crude Gaussian "detector", a cINN trained for one
epoch by the real training code, and its posterior summary written by the real code.

    directory = tiny_unfolding_dir(tmp_path)   # zw_events.h5, cinn/, posterior.h5
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from jetviz.unfolding.checkpoint import load_cinn
from jetviz.unfolding.data import PairedEvents, write_pairs
from jetviz.unfolding.flow import CINNConfig
from jetviz.unfolding.representation import model_inputs, partons_from_coords
from jetviz.unfolding.summary import summarise, write_summary
from jetviz.unfolding.training import TrainConfig, train_cinn


def synthetic_pairs(n: int, rng: np.random.Generator) -> PairedEvents:
    """n paired events: Z and W at their peaks, Gaussian-smeared leptons and 'jets'."""
    coords = np.stack([
        rng.standard_normal(n), rng.standard_normal(n), rng.normal(3.8, 0.6, n),
        rng.uniform(-np.pi, np.pi, n), rng.normal(0, 1.2, n), rng.normal(0, 1.5, n),
        rng.normal(0, 0.8, n), rng.uniform(-np.pi, np.pi, n), rng.normal(0, 0.8, n),
        rng.uniform(-np.pi, np.pi, n)], axis=-1)
    parton = partons_from_coords(coords, 0.0)
    leptons = parton[:, :2] * (1 + 0.02 * rng.standard_normal((n, 2, 1)))
    jets = np.zeros((n, 4, 4))
    jets[:, :2] = parton[:, 2:] * (1 + 0.1 * rng.standard_normal((n, 2, 1)))
    pt = np.hypot(jets[:, :2, 1], jets[:, :2, 2])
    order = np.argsort(-pt, axis=1)
    jets[:, :2] = np.take_along_axis(jets[:, :2], order[..., None], axis=1)
    ids = np.tile(np.array([13, -13, 2, -1], dtype=np.int8), (n, 1))
    return PairedEvents(parton.astype(np.float32), ids, leptons.astype(np.float32),
                        jets.astype(np.float32), np.full(n, 2, dtype=np.int16),
                        {"command": "synthetic (tests/support_unfolding.py)"})


def tiny_unfolding_dir(root: Path, n: int = 600, n_test: int = 100) -> Path:
    """Write zw_events.h5, cinn/ and posterior.h5 for ``n`` synthetic events under root."""
    root = Path(root)
    events = synthetic_pairs(n, np.random.default_rng(0))
    write_pairs(root / "zw_events.h5", events)
    train_cinn(events, root / "cinn", TrainConfig(n_test=n_test, epochs=1, batch_size=128),
               CINNConfig(transforms=2, hidden=16, context=8, summary_hidden=16),
               command="tiny test model", progress=False)
    model, _ = load_cinn(root / "cinn")
    _, test = events.split(n_test)
    _, y, phi_ref = model_inputs(test)
    pit, samples = summarise(model, y, phi_ref, test.parton, n_samples=50, keep=4, seed=0,
                             progress=False)
    write_summary(root / "posterior.h5", pit, samples, {"command": "tiny", "n_samples": 50})
    return root
