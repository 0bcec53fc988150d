"""Shared fixtures: tiny seeded synthetic jets."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from jetviz.jets import JetSet

torch.set_num_threads(1)


def make_jetset(n: int = 40, p: int = 12, seed: int = 0) -> JetSet:
    """Random but physical-looking jets: ptrel falling, sums to 1, within R = 0.8."""
    rng = np.random.default_rng(seed)
    counts = rng.integers(3, p + 1, size=n)
    mask = np.arange(p)[None, :] < counts[:, None]
    raw = np.sort(rng.exponential(1.0, size=(n, p)), axis=1)[:, ::-1] * mask
    ptrel = raw / raw.sum(1, keepdims=True)
    eta = rng.normal(0, 0.2, size=(n, p)) * mask
    phi = rng.normal(0, 0.2, size=(n, p)) * mask
    particles = np.stack([ptrel, eta, phi], -1).astype(np.float32)
    jets = np.stack([rng.uniform(900, 1100, n), rng.uniform(-2, 2, n), rng.uniform(-3, 3, n),
                     rng.uniform(10, 200, n), counts], -1).astype(np.float32)
    labels = rng.integers(0, 5, size=n)
    return JetSet(particles, mask, jets, labels, source="synthetic")


@pytest.fixture
def jetset() -> JetSet:
    return make_jetset()
