"""Streamlit side of the dimensionality playground: the data picker and a live training run."""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import streamlit as st

from jetviz.errors import JetvizInputError
from jetviz.figures.beta import dimensionality_figure
from jetviz.jets import JetSet
from jetviz.vae.explore import scan_diagnostics

FAMILIES = {
    "strip": "strip (2-D: a thickness and a length)",
    "ribbon": "ribbon (3-D: thickness, width, length)",
    "banana": "banana (2-D, the talk's toy)",
    "family": "k-parameter jet family (2–3-particle jets, scales in GeV)",
    "upload": "your own points (.npy or HDF5)",
}
UPLOAD_LIMIT_MB = 50  # a points file larger than this is refused before it is parsed
LIVE_SCAN_POINTS = 24  # β values in the live scan during training
LIVE_SCAN_EXAMPLES = 500  # points in the live scan
LIVE_EVERY_S = 2.0  # seconds between live scans
PLAYGROUND_SEED = 11


@dataclass(frozen=True)
class PlaygroundData:
    """The points (or jets) to train on and what is known about them.

    Attributes:
        points: (N, d) float32, or None for a jet family.
        scales: the known scales by name (empty for a user's points).
        beta_range: (β_min, β_max) the model will cover.
        provenance: what the model's record says about the data.
        jets: a jet family (jetviz.simulation.jet_families) when ``points`` is None.
    """

    points: np.ndarray | None
    scales: dict[str, float]
    beta_range: tuple[float, float]
    provenance: dict
    jets: JetSet | None = None

    @property
    def examples(self) -> np.ndarray | JetSet:
        """What the model trains on: the points or the jets."""
        return self.points if self.jets is None else self.jets

    @property
    def unit(self) -> str:
        """The unit of β and of the scales: GeV for jets, the data's own for points."""
        return "" if self.jets is None else "GeV"

    def model_fields(self, latent_dim: int) -> dict:
        """The VAEConfig fields the data fix. Points: a whitened Euclidean point VAE. Jets:
        the network ``jetviz train`` gives jets of ≤ 4 particles (jetviz.vae.flat: whitened,
        one vector per jet, exact EMD, latent size 3P − 4 in place of ``latent_dim``), with the
        plain β embedding and posterior."""
        if self.jets is None:
            return {"data": "points", "point_dim": self.points.shape[1], "loss": "euclidean",
                    "latent_dim": latent_dim, "whiten": True, "gate_skip": False}
        from jetviz.vae.flat import latent_dim_of_jets

        # The β embedding and the posterior stay the plain ones, with which the playground's
        # few-minute runs were tested; jetviz train's sharper embedding and capped posterior
        # (jetviz.vae.flat) were measured on 12-minute runs of 20,000 jets only
        p = self.jets.n_particles
        return {"data": "jets", "n_particles_in": p, "n_particles_out": p, "loss": "exact",
                "latent_dim": latent_dim_of_jets(p), "whiten": True, "gate_skip": True}


@st.cache_data(max_entries=8, show_spinner=False)
def _draw(family: str, n: int, scales: tuple[float, ...]) -> np.ndarray:
    from jetviz.simulation import toys as toy

    rng = np.random.default_rng(PLAYGROUND_SEED)
    if family == "strip":
        return toy.strip(n, rng, thickness=scales[0], length=scales[1])
    if family == "ribbon":
        return toy.ribbon(n, rng, scales=(scales[2], scales[1], scales[0]))
    return toy.banana(n, rng, thickness=scales[0], radius=scales[1] / toy.BANANA_ANGLE)


def _scale_inputs(family: str) -> tuple[float, ...]:
    """Number inputs for the family's scales, smallest first, defaults from simulation.toys."""
    from jetviz.simulation.toys import TOYS

    values = []
    for name, default in TOYS[family].scales.items():
        values.append(st.number_input(
            f"{name}", min_value=1e-4, max_value=100.0, value=float(default), format="%.4g",
            key=f"playground_{family}_{name}",
            help=f"The {family}'s {name} (data units). D1 should drop by one as β crosses it; "
                 "keep neighbouring scales ≥ 30× apart to see a plateau between them."))
    if any(b <= a for a, b in itertools.pairwise(values)):
        raise JetvizInputError("each scale must be larger than the one above it")
    return tuple(values)


def playground_data() -> PlaygroundData | None:
    """The data widgets; None (after a message) when nothing can be trained on."""
    family = st.radio("Data", list(FAMILIES), format_func=FAMILIES.get, key="playground_family",
                      help="A toy manifold whose scales you set (so you know the right answer), "
                           "or a file of your own points (Euclidean distance).")
    if family == "upload":
        return _uploaded()
    if family == "family":
        from ui.playground_family import family_data

        return family_data()
    try:
        scales = _scale_inputs(family)
    except JetvizInputError as err:
        st.error(str(err))
        return None
    n = st.number_input("Points", 1000, 50_000, 10_000, step=1000, key="playground_n",
                        help="Points drawn from the toy (seeded); 10 % are held out.")
    from jetviz.simulation.toys import TOYS

    named = dict(zip(TOYS[family].scales, scales, strict=True))
    return PlaygroundData(_draw(family, int(n), scales), named,
                          (scales[0] / 10, scales[-1] * 10),
                          {"data_source": f"toy {family}", "scales": named, "n_jets": int(n)})


def _uploaded() -> PlaygroundData | None:
    from jetviz.readers.points import read_points

    file = st.file_uploader("Points file", type=["npy", "h5", "hdf5"], key="playground_upload",
                            help="A .npy array (N, d) or an HDF5 file with a dataset 'points' "
                                 f"(N, d); 1 ≤ d ≤ 64, at most {UPLOAD_LIMIT_MB} MB. Read in "
                                 "memory, never unpickled, not kept on the server.")
    if file is None:
        st.info("Upload a points file to train on it, or pick a toy above.")
        return None
    if file.size > UPLOAD_LIMIT_MB * 2**20:
        st.error(f"{file.name}: {file.size / 2**20:.0f} MB is over the {UPLOAD_LIMIT_MB} MB "
                 "limit of the playground; keep a sample of the points.")
        return None
    try:
        points, total = read_points(file.getvalue(), name=file.name)
    except (JetvizInputError, OSError) as err:
        st.error(f"{err}")
        return None
    from jetviz.readers.points import extent

    size = extent(points)
    st.caption(f"{len(points):,} points in {points.shape[1]} dimensions"
               + (f" (the first {len(points):,} of {total:,})" if total > len(points) else "")
               + f"; extent {size:.3g}.")
    return PlaygroundData(points, {}, (size * 1e-4, size * 10),
                          {"data_source": f"uploaded {file.name}", "n_jets": len(points)})


def train_live(data: PlaygroundData, latent_dim: int, minutes: float, seed: int,
               progress, chart) -> tuple[object, dict]:
    """Train a point β-VAE for ``minutes``, redrawing D1 from a quick scan every few seconds.

    Returns:
        (the trained model, its record with the final scan).
    """
    from jetviz.serving import max_training_runs, training_slots
    from jetviz.vae.inputs import as_inputs
    from jetviz.vae.model import VAEConfig
    from jetviz.vae.scan import beta_scan, log_beta_grid
    from jetviz.vae.train import TrainConfig, train
    from ui.train import session_owner

    config = VAEConfig(beta_min=data.beta_range[0], beta_max=data.beta_range[1],
                       weighting="balanced", **data.model_fields(latent_dim))
    tc = TrainConfig(epochs=100_000, patience=100_000, seed=seed, max_minutes=minutes,
                     schedule_by_time=True, scan_points=40, scan_examples=1000)
    examples = data.examples
    first = (examples.subset(np.arange(min(LIVE_SCAN_EXAMPLES, len(examples))))
             if isinstance(examples, JetSet) else examples[:LIVE_SCAN_EXAMPLES])
    live = as_inputs(first, config)
    grid = log_beta_grid(config, LIVE_SCAN_POINTS)
    start = last = time.perf_counter()

    def on_epoch(epoch: int, record: dict, model) -> bool:
        nonlocal last
        now = time.perf_counter()
        h = record["history"][-1]
        progress.progress(min((now - start) / (60 * minutes), 1.0), text=(
            f"epoch {h['epoch']}: validation loss {h['val_loss']:.4g} nats, "
            f"{now - start:.0f} of {60 * minutes:.0f} s"))
        if now - last >= LIVE_EVERY_S:
            last = now
            scan = beta_scan(model, live, grid, seed=seed)
            chart.plotly_chart(
                dimensionality_figure(scan.betas, scan.d1, scan.d2, float(scan.betas[0]),
                                      data.unit, data.scales, config.latent_dim,
                                      scan_diagnostics(scan)),
                theme=None, key=f"playground_live_{epoch}")
        return True

    def on_wait(position: int) -> None:
        progress.progress(0.0, text=(
            f"Waiting for a free training slot: you are number {position} in the queue "
            f"({max_training_runs()} run(s) at a time on this server) …"))

    with training_slots().hold(session_owner(), on_wait):
        model, record = train(config, examples, tc, callback=on_epoch, with_model=True,
                              provenance={**data.provenance, "owner": session_owner()})
    return model, record


def result_figure(model, record: dict, data: PlaygroundData):
    """D1 and D2 of the finished run's stored scan, with bands, floor and the known scales."""
    from jetviz.vae.scan import BetaScan

    scan = BetaScan.from_dict(record["scan"])
    return dimensionality_figure(scan.betas, scan.d1, scan.d2, float(scan.betas[0]),
                                 data.unit, data.scales, model.config.latent_dim,
                                 scan_diagnostics(scan))


def save_playground_model(name: str, model, record: dict, points: np.ndarray) -> str:
    """Save a playground model as this session's model ``name`` and select it on the β-VAE
    pages (never over a model that exists, whoever made it)."""
    from jetviz.readers.points import save_points
    from jetviz.vae.checkpoint import save_checkpoint
    from jetviz.vae.saving import save_new_model
    from ui.vae import MODEL_KEY

    def write(directory: Path) -> None:
        save_checkpoint(directory, model, model.config, record)
        save_points(directory, points)

    target = save_new_model(name, write)
    st.session_state[MODEL_KEY] = str(target)
    return str(target)
