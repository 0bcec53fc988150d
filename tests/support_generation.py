"""A tiny real generator for the generation tests: a VAE trained for two epochs on synthetic
gluon-labelled jets and a flow prior fitted to its aggregate posterior by the engine.

    root = tiny_gen_root(tmp_path)   # root/jets.h5, root/gen_tiny/ (VAE + flow/)

Point the pages at it with ``$JETVIZ_GEN_ROOT = root`` and ``$JETVIZ_DEFAULT_JETS =
root/jets.h5``. Too short to be a good generator; real enough that every array is real.

    gen_dir, jets = tiny_resonance_generator(tmp_path)   # a joint (z, log pT) prior, W-like jets
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

from jetviz.generation.prior import FlowPriorConfig
from jetviz.generation.prior_train import FitConfig, fit_generator_prior
from jetviz.jets import JetSet
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


RESONANCE_MASS = 80.0  # GeV, the mass of the tiny resonance jets
RESONANCE_BETA = 1.0  # GeV, the β the tiny resonance generator is fitted at


def tiny_resonance_jets(n: int = 400, seed: int = 0) -> JetSet:
    """Two-prong jets of one mass (a W-like resonance), pT log-uniform in [500, 1500] GeV.

    Each jet has four particles, two per prong (momentum fractions z ∈ [0.6, 0.7] and 1 − z),
    the prongs ΔR = m/(pT √(z(1−z))) apart, so m ≈ 80 GeV for every pT and m/pT falls as 1/pT.
    """
    rng = np.random.default_rng(seed)
    pt = np.exp(rng.uniform(np.log(500.0), np.log(1500.0), n))
    z = rng.uniform(0.6, 0.7, n)
    mass = RESONANCE_MASS + rng.normal(0.0, 2.0, n)
    dr = mass / (pt * np.sqrt(z * (1 - z)))
    share = np.array([0.6, 0.4])  # of a prong's momentum, per particle
    ptrel = np.concatenate([z[:, None] * share, (1 - z)[:, None] * share], 1)
    eta = np.concatenate([np.repeat(((1 - z) * dr)[:, None], 2, 1),
                          np.repeat((-z * dr)[:, None], 2, 1)], 1)
    eta += rng.normal(0.0, 0.005, eta.shape)
    phi = rng.normal(0.0, 0.005, eta.shape)
    particles = np.stack([ptrel, eta, phi], -1).astype(np.float32)
    jets = np.stack([pt, np.zeros(n), np.zeros(n), mass, np.full(n, 4.0)], -1).astype(np.float32)
    return JetSet(particles, np.ones((n, 4), bool), jets, np.full(n, 3, np.int64),
                  source="tiny resonance jets", attrs={"seed": seed})


def tiny_resonance_generator(root: Path) -> tuple[Path, JetSet]:
    """root/gen_res: a VAE trained 20 epochs on :func:`tiny_resonance_jets` (exact EMD) with a
    joint (z, log pT) flow prior at β = 1 GeV; returns (its directory, the jets)."""
    jets = tiny_resonance_jets()
    config = VAEConfig(n_particles_in=4, n_particles_out=4, latent_dim=2, hidden=16, depth=2,
                       cond_dim=4, beta_min=1.0, beta_max=10.0)
    run = TrainConfig(epochs=20, batch_size=64, lr=1e-2, kl_warmup_epochs=1.0, scan_points=1,
                      scan_examples=16, seed=3)
    out = Path(root) / "gen_res"
    train(config, jets, run, out_dir=out, device="cpu",
          provenance={"classes": ["w"], "data_source": "tiny"})
    fit_generator_prior(out, RESONANCE_BETA, out, jets=jets, classes=["w"],
                        flow_config={"transforms": 2, "hidden": 16, "joint_pt": True},
                        fit=FitConfig(epochs=30, batch_size=64))
    return out, jets


TINY_FLOW = FlowPriorConfig(features=3, transforms=1, hidden=8)  # for toy_posteriors


def toy_posteriors(n: int = 300) -> tuple[np.ndarray, np.ndarray]:
    """(μ, log σ²) of n seeded 3-d Gaussian posteriors (σ = e^-1.5), for flow-prior fits."""
    rng = np.random.default_rng(0)
    return (rng.normal(size=(n, 3)).astype(np.float32),
            np.full((n, 3), -3.0, dtype=np.float32))
