"""Streamlit side of the train page: the data widgets, the session's owner token, the device.

Training into ``user/<name>`` and the atomic folder swap that saves a finished run are
``jetviz.vae.saving.train_user_model``; this module holds widgets only.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import streamlit as st

from jetviz.errors import JetvizInputError
from jetviz.vae.slider_emd import ALL_CLASSES, SAMPLE_SEED, slider_sample

MIN_TRAIN_JETS = 20  # fewer jets cannot make a training and a validation split
MIN_TRAIN_PARTICLES = 2  # particle slots a jet model needs
OWNER_KEY = "jetviz_owner"  # session state: this session's owner token for the models it trains


def session_owner() -> str:
    """This session's owner token (random, made once per session): its models carry it."""
    return st.session_state.setdefault(OWNER_KEY, uuid.uuid4().hex)


def training_device() -> str:
    """The device training will use, as text ("cuda:0 (name)" or "cpu")."""
    from jetviz.device import default_device

    device = default_device()
    if device.type == "cuda":
        import torch

        return f"cuda ({torch.cuda.get_device_name(0)})"
    return "cpu"


TOY = "2-D toy banana"
JETS = "jets in use"


@dataclass(frozen=True)
class TrainingData:
    """What the train page trains on, and how to turn the page's choices into configs.

    Attributes:
        data: a JetSet (truncated to P, one class or all, at most ``max_jets``) or toy points.
        provenance: what the record should say about the data (source, classes, jets).
        n_particles: P (0 for the toy).
    """

    data: object
    provenance: dict
    n_particles: int

    def build(self, *, loss: str, latent_dim: int, beta_min: float, beta_max: float,
              epochs: int, batch_size: int, lr: float, seed: int):
        """(VAEConfig, TrainConfig, data, provenance) for one run."""
        from jetviz.vae.model import JET_MODEL, VAEConfig
        from jetviz.vae.train import TrainConfig

        toy = self.n_particles == 0
        config = VAEConfig(
            data="banana" if toy else "jets", loss="euclidean" if toy else loss,
            n_particles_in=self.n_particles or 30, n_particles_out=self.n_particles or 30,
            latent_dim=latent_dim, beta_min=beta_min, beta_max=beta_max, gate_skip=not toy,
            **({} if toy else JET_MODEL))
        train_config = TrainConfig(epochs=epochs, batch_size=batch_size, lr=lr, seed=seed,
                                   scan_points=40, scan_examples=1000)
        return config, train_config, self.data, dict(self.provenance)


def training_inputs(where: str) -> TrainingData | None:
    """The data widgets of the train page; None (with a message) when nothing fits."""
    source = st.radio("Train on", [JETS, TOY], key=f"{where}_source", horizontal=True,
                      help="The jets chosen in the sidebar, or the 2-D banana of talk 000 "
                           "(β then has the data's own units, not GeV).")
    if source == TOY:
        n = st.number_input("Toy points", 500, 100_000, 10_000, step=500, key=f"{where}_toy_n",
                            help="Points drawn from the banana (seeded).")
        from jetviz.simulation import toys as toy

        points = toy.banana(int(n), np.random.default_rng(SAMPLE_SEED))
        return TrainingData(points, {"data_source": "toy banana", "n_jets": int(n),
                                     "banana_thickness": toy.BANANA_THICKNESS,
                                     "banana_length": toy.BANANA_LENGTH}, 0)
    from jetviz.figures.data import class_label
    from ui.data import current_choice, jets_in_use

    jets, _ = jets_in_use()
    present = [c for c, k in jets.counts().items() if k > 0]
    name = st.selectbox("Class", [ALL_CLASSES, *present], key=f"{where}_class",
                        format_func=lambda c: c if c == ALL_CLASSES else class_label(c),
                        help="Train on one class (as the talk's W and top models) or all.")
    if name != ALL_CLASSES:
        jets = jets.of_class(name)
    max_p = jets.n_particles
    if max_p < MIN_TRAIN_PARTICLES:
        st.error(f"This data set stores {max_p} particle slot per jet; a β-VAE on jets needs "
                 f"at least {MIN_TRAIN_PARTICLES}. Choose another data set in the sidebar, or "
                 "train on the 2-D toy banana.")
        return None
    if len(jets) < MIN_TRAIN_JETS:
        st.error(f"Only {len(jets)} jets{'' if name == ALL_CLASSES else ' of this class'}: "
                 f"too few to train (at least {MIN_TRAIN_JETS}, of which 10 % are held out); "
                 "choose another class or data set.")
        return None
    particles = st.number_input(
        "Particles per jet (P)", MIN_TRAIN_PARTICLES, max_p, min(30, max_p),
        key=f"{where}_particles",
        help=f"The model takes the P hardest particles (the data have {max_p}).")
    smallest = min(100, len(jets))
    limit = st.number_input(
        "Jets (at most)", smallest, len(jets), min(5000, len(jets)),
        step=max(1, min(100, len(jets) // 10)), key=f"{where}_max_jets",
        help=f"A seeded random subset of the {len(jets):,} jets (10 % are held out for "
             "validation and early stopping).")
    n = min(int(limit), len(jets))
    jets = slider_sample(jets, ALL_CLASSES, n).truncated(int(particles))  # seeded subset
    choice = current_choice()
    return TrainingData(jets, {
        "data_source": choice.label if choice else jets.source,
        "classes": present if name == ALL_CLASSES else [name], "n_jets": n,
    }, int(particles))


def store_slider_emds(path: Path) -> None:
    """After a jet model is saved: store its exact reconstruction EMDs of the β page's default
    sample of the data in use at every scanned β, so its slider moves are lookups (as for the
    shipped models). A failure only costs speed: the page then computes the EMDs itself."""
    from jetviz.vae.checkpoint import load_checkpoint
    from jetviz.vae.slider_emd import store_for_data
    from ui.data import current_choice, jets_in_use

    try:
        model, config, record = load_checkpoint(path)
        if config.data != "jets":
            return
        jets, _ = jets_in_use()
        choice = current_choice()
        with st.spinner("Storing exact reconstruction EMDs for the β slider …"):
            store_for_data(path, model, record, jets, choice.label if choice else "the jets",
                           "the train page, after training", n_jobs=1)
    except (JetvizInputError, OSError) as err:
        st.warning(f"The β slider will compute this model's EMDs on each move ({err}).")
