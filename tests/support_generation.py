"""A tiny real generator for the generation tests: a VAE trained for two epochs on synthetic
gluon-labelled jets and a flow prior fitted to its aggregate posterior by the engine.

    root = tiny_gen_root(tmp_path)   # root/jets.h5, root/gen_tiny/ (VAE + flow/)

Point the pages at it with ``$JETVIZ_GEN_ROOT = root`` and ``$JETVIZ_DEFAULT_JETS =
root/jets.h5``. Too short to be a good generator; real enough that every array is real.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

from jetviz.generation.prior_train import FitConfig, fit_generator_prior
from jetviz.readers.store import write_jets
from jetviz.vae.model import VAEConfig
from jetviz.vae.train import TrainConfig, train
from tests.conftest import make_jetset

N_JETS = 160
N_PARTICLES = 12
BETA = 10.0


def tiny_gluon_jets(seed: int = 5):
    """Synthetic jets, all labelled gluon, with provenance recorded."""
    jets = make_jetset(n=N_JETS, p=N_PARTICLES, seed=seed)
    return dataclasses.replace(jets, labels=np.zeros(N_JETS, dtype=np.int64),
                               attrs={"generator": "tests/conftest.py make_jetset", "seed": seed})


def tiny_gen_root(root: Path) -> Path:
    """Write root/jets.h5 and root/gen_tiny (a 2-epoch VAE + a 3-epoch flow prior)."""
    root = Path(root)
    jets = tiny_gluon_jets()
    write_jets(root / "jets.h5", jets)
    config = VAEConfig(n_particles_in=N_PARTICLES, n_particles_out=N_PARTICLES, latent_dim=3,
                       hidden=16, depth=2, cond_dim=4, beta_min=1.0, beta_max=300.0)
    fast = TrainConfig(epochs=2, batch_size=64, kl_warmup_epochs=1.0, scan_points=1, seed=3)
    train(config, jets, fast, out_dir=root / "gen_tiny", device="cpu",
          provenance={"classes": ["g"], "data_source": "tiny"})
    fit_generator_prior(root / "gen_tiny", BETA, root / "gen_tiny", jets=jets, classes=["g"],
                        flow_config={"transforms": 1, "hidden": 8},
                        fit=FitConfig(epochs=3, batch_size=64))
    return root
