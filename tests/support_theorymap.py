"""Synthetic events and a tiny trained theory-map directory for the theory-map tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from jetviz.events import EventSet, Theory
from jetviz.theorymap.model import EncoderConfig
from jetviz.theorymap.train import TrainConfig, run_training

THEORIES = (
    Theory("gluino1000_neutralino100", "susy", 1000.0, 100.0),
    Theory("gluino1000_neutralino500", "susy", 1000.0, 500.0),
    Theory("gluino1800_neutralino100", "susy", 1800.0, 100.0),
    Theory("qcd", "background"),
)


def make_events(n_per_theory: int = 120, seed: int = 0) -> EventSet:
    """Synthetic events: jet pT scale grows with m_g̃ − m_χ̃, MET with m_χ̃; pT-ordered jets."""
    rng = np.random.default_rng(seed)
    feats, labels = [], []
    for t, th in enumerate(THEORIES):
        gap = 300.0 if th.kind != "susy" else (th.m_gluino - th.m_neutralino) / 2
        met_scale = 20.0 if th.kind != "susy" else th.m_neutralino
        pt = -np.sort(-rng.exponential(gap, size=(n_per_theory, 4)), axis=1) + 30.0
        eta = rng.normal(0, 1.2, size=(n_per_theory, 4))
        phi = rng.uniform(-np.pi, np.pi, size=(n_per_theory, 4))
        m = pt * rng.uniform(0.02, 0.2, size=(n_per_theory, 4))
        jets = np.stack([pt, eta, phi, m], axis=-1).reshape(n_per_theory, 16)
        met = rng.exponential(met_scale, size=n_per_theory)
        met_phi = rng.uniform(-np.pi, np.pi, size=n_per_theory)
        feats.append(np.column_stack([jets, met, met_phi]))
        labels.append(np.full(n_per_theory, t))
    return EventSet(np.concatenate(feats).astype(np.float32), np.concatenate(labels),
                    THEORIES, source="synthetic")


def cheap_reduce(z: np.ndarray) -> np.ndarray:
    """A fast non-linear stand-in for UMAP (tests check what is stored, not UMAP itself)."""
    return np.tanh(z[:, :2]) + 0.1 * z[:, 2:4] ** 2


def tiny_theorymap(out: Path, set_sizes: tuple[int, ...] = (1, 4)) -> dict:
    """Train all three methods for a few steps on synthetic events; store models and maps."""
    return run_training(make_events(60), out, set_sizes,
                        encoder=EncoderConfig(hidden=16),
                        train=TrainConfig(steps=20, sets_per_theory=4),
                        progress=False, reduce=cheap_reduce)
