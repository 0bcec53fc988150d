"""Tiny real β-VAE checkpoints for the page tests, trained in about a second by the engine.

    root = tiny_vae_root(tmp_path)      # root/vae_tiny (jets), root/vae_banana (toy),
                                        # root/jets.h5 (the jets they were trained on)

Point the pages at it with ``$JETVIZ_VAE_ROOT = root`` and ``$JETVIZ_DEFAULT_JETS =
root/jets.h5``. The models are trained for real (a few epochs, few jets, a coarse β-scan):
too short to be good, long enough that every page has real arrays to show.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

from jetviz.readers.store import write_jets
from jetviz.simulation.toys import banana
from jetviz.vae.model import VAEConfig
from jetviz.vae.train import TrainConfig, train
from tests.conftest import make_jetset

N_JETS = 240
N_PARTICLES = 12
FAST = TrainConfig(epochs=2, batch_size=64, kl_warmup_epochs=1.0, scan_points=9,
                   scan_examples=64, seed=3)


def tiny_jets(seed: int = 5):
    """Synthetic jets with their provenance recorded (as a jet file would have)."""
    jets = make_jetset(n=N_JETS, p=N_PARTICLES, seed=seed)
    return dataclasses.replace(jets, attrs={"generator": "tests/conftest.py make_jetset",
                                            "seed": seed})


def tiny_vae_root(root: Path) -> Path:
    """Write jets.h5, and train vae_tiny (jets) and vae_banana (toy) checkpoints, under root."""
    root = Path(root)
    jets = tiny_jets()
    write_jets(root / "jets.h5", jets)
    config = VAEConfig(n_particles_in=N_PARTICLES, n_particles_out=N_PARTICLES, latent_dim=4,
                       hidden=32, depth=2, cond_dim=8, beta_min=1.0, beta_max=300.0,
                       )
    train(config, jets, FAST, out_dir=root / "vae_tiny", device="cpu",
          provenance={"classes": list(jets.class_names), "data_source": "tiny"})
    toy = VAEConfig(data="banana", loss="euclidean", latent_dim=3, hidden=32, depth=2,
                    cond_dim=8, beta_min=1e-3, beta_max=10.0)
    points = banana(400, np.random.default_rng(0))
    train(toy, points, FAST, out_dir=root / "vae_banana", device="cpu",
          provenance={"data_source": "toy banana"})
    return root
