"""Streamlit side of the generation and jet-image pages: pickers and cached arrays.

Everything heavy is cached on what it depends on, so a rerun that changes only a display
choice (an observable, a resolution, a colour panel) recomputes nothing:

* models: ``st.cache_resource`` on (generator key, file modification time);
* generated jets and their observables: ``st.cache_data`` per chunk of ``CHUNK`` jets on
  (generator key, seed, chunk index) — asking for more jets only samples the new chunks,
  and a request above ``PROGRESS_ABOVE`` jets shows a progress bar;
* the truth-vs-truth baseline: ``st.cache_data`` on (data-set key, classes, batch size) —
  it does not depend on the generator, so switching generators never recomputes it;
* true jets (prepared like the VAE's inputs, split into a reference and a baseline half) and
  their observables: ``st.cache_data`` on (data-set key, classes, P);
* W1/MMD tables and average images: ``st.cache_data`` on all of the above plus their own
  settings.
* the JetNet-protocol table (FPD, KPD, W1s): :mod:`ui.generation_jetnet`.

What is computed (truth halves, chunks, scores, the verdict rule) is
:mod:`jetviz.generation.evaluation`; this module only caches it.
"""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import streamlit as st

from jetviz.errors import JetvizInputError
from jetviz.generation.evaluation import (
    CHUNK,
    PAGE_OBSERVABLES,
    GeneratedChunk,
    Truth,
    baseline_scores,
    batch_size_for,
    beta_grid,
    chunk_sizes,
    generated_chunk,
    generated_scores,
    histogram_values,
    joined,
    score_rows,
    truth_halves,
)
from jetviz.generation.generators import PRIOR_LABELS, Generator, GeneratorSpec, list_generators
from jetviz.generation.metrics import LABELS, UNITS, FeatureSet, fixed_by_frame
from jetviz.jets import CLASS_LABELS
from jetviz.physics.images import average_jet_image
from ui.data import jets_in_use

ROOT_ENV = "JETVIZ_GEN_ROOT"  # overrides checkpoints/ (tests)
WARM_ENV = "JETVIZ_WARM_GENERATORS"  # "1": compute every generator's default view at start
PAGE_DEFAULTS = {"n": 10_000, "seed": 0, "batch_size": 2_000, "n_batches": 5}
PROGRESS_ABOVE = CHUNK  # requests of more than one chunk show a progress bar (> 1 s)
MIXED = "mixed"


def generator_root() -> Path:
    """Where generators live: $JETVIZ_GEN_ROOT, else the shipped checkpoints/."""
    override = os.environ.get(ROOT_ENV)
    if override:
        return Path(override)
    from jetviz.paths import CHECKPOINTS

    return CHECKPOINTS


def available_generators() -> list[GeneratorSpec]:
    """The generators on disk (listing them is a few file reads; not cached).

    With ``$JETVIZ_WARM_GENERATORS=1`` the first call also starts, once per server, a
    background thread that fills the shared caches with every generator's default view
    (see :func:`warm_up`), so a later switch to any generator only reads caches.
    """
    specs = list_generators(generator_root())
    if os.environ.get(WARM_ENV) == "1" and specs:
        _warm_up_state(str(generator_root()))
    return specs


@dataclass
class WarmUpState:
    """How far the background warm-up is: ``done`` of ``total`` generators (mutable: the
    warm-up thread counts, pages read)."""

    total: int
    done: int = 0


@st.cache_resource(max_entries=1, show_spinner=False)
def _warm_up_state(root: str) -> WarmUpState:
    """Start :func:`warm_up` once per server process; its progress is the resource."""
    state = WarmUpState(total=len(list_generators(Path(root))))
    thread = threading.Thread(target=warm_up, args=(state,), name="jetviz-warm-generators",
                              daemon=True)
    thread.start()
    return state


def warm_up_note() -> str | None:
    """A sentence on the background warm-up while it runs (None when off or finished)."""
    if os.environ.get(WARM_ENV) != "1":
        return None
    state = _warm_up_state(str(generator_root()))
    if state.done >= state.total:
        return None
    return (f"Precomputing every generator's default view in the background: {state.done} of "
            f"{state.total} done. A generator not done yet is computed when you pick it.")


def warm_up(state: WarmUpState | None = None) -> None:
    """Compute every generator's default page view into the shared caches: the generated
    jets, the true jets, the W1/MMD table and its baseline, the JetNet-protocol scores (the
    page's default settings, the embedded default data set). Runs in a background thread; a
    generator that fails is skipped (the page shows its error when it is chosen)."""
    from ui.data import _choice, default_jets_path, load_choice
    from ui.generation_jetnet import jetnet_scores_of

    log = logging.getLogger("jetviz.warm")
    # cached functions called outside a script run warn once per call; not from this thread
    logging.getLogger("streamlit.runtime.scriptrunner_utils.script_run_context").addFilter(
        lambda record: threading.current_thread().name != "jetviz-warm-generators")
    choice = _choice("default", default_jets_path(), "embedded default")
    jets, data_key = load_choice(choice), choice.key
    d = PAGE_DEFAULTS
    for spec in list_generators(generator_root()):
        try:
            gen = _load(spec.key, spec.stamp, spec)
            truth = _truth(data_key, spec.classes, gen.config.n_particles_in, gen.radius, jets)
            n = d["n"]
            # the same arguments, passed the same way, as generated(): the cache key is made
            # of the arguments as given (a default left out is a different key)
            fake, _ = joined([_chunk(spec.key, spec.stamp, d["seed"], i, size, gen, None)
                              for i, size in enumerate(chunk_sizes(n))])
            size = batch_size_for(d["batch_size"], truth, n)
            _scores(spec.key, spec.stamp, d["seed"], n, data_key, size, d["n_batches"],
                    truth.reference, fake)
            _baseline(data_key, spec.classes, truth.reference.particles.shape[1], size,
                      d["n_batches"], truth.reference, truth.baseline)
            jetnet_scores_of(spec, d["seed"], n, data_key, truth, fake)
            _histogram_figure(spec.key, spec.stamp, d["seed"], n, data_key,
                              f"True vs generated {class_label(spec.classes)} jets — "
                              f"{spec.label}", f"generated ({spec.prior} prior)",
                              truth.reference, fake)
        except (JetvizInputError, OSError, ValueError) as err:
            log.warning("warm-up skipped %s: %s", spec.label, err)
        if state is not None:
            state.done += 1
    log.warning("warm-up done: %d generators", len(list_generators(generator_root())))


def class_label(classes: tuple[str, ...] | str) -> str:
    """"g — gluon", or "mixed — all classes"."""
    if isinstance(classes, str):
        classes = (classes,)
    if len(classes) > 1:
        return f"{MIXED} — {', '.join(classes)}"
    return f"{classes[0]} — {CLASS_LABELS.get(classes[0], classes[0])}"


def generator_picker(specs: list[GeneratorSpec], key: str, help_text: str) -> GeneratorSpec:
    """A selectbox over the generators, defaulting to a gluon flow-prior generator."""
    labels = [s.label for s in specs]
    default = next((i for i, s in enumerate(specs)
                    if s.classes == ("g",) and s.prior == "flow"
                    and s.loss in ("sinkhorn", "exact")), 0)
    label = st.selectbox("Generator", labels, index=default, key=key, help=help_text)
    return specs[labels.index(label)]


@st.cache_resource(max_entries=32, show_spinner="Loading the generator …")  # ≈ 1.4 MB each
def _load(key: str, stamp: int, _spec: GeneratorSpec) -> Generator:
    return Generator(_spec)


def load_generator(spec: GeneratorSpec) -> Generator | None:
    """The loaded generator, or None after showing why it could not be loaded."""
    try:
        return _load(spec.key, spec.stamp, spec)
    except JetvizInputError as err:
        st.error(str(err))
        return None


@st.cache_data(max_entries=256, show_spinner="Generating jets …")  # shown only when computed
def _chunk(key: str, stamp: int, seed: int, index: int, size: int, _gen: Generator,
           beta: float | None = None) -> GeneratedChunk:
    return generated_chunk(_gen, seed, index, size, beta)


def generated(spec: GeneratorSpec, gen: Generator, n: int, seed: int,
              beta: float | None = None) -> tuple[FeatureSet, np.ndarray]:
    """n generated jets as a FeatureSet and their jet pT, from cached chunks."""
    sizes = chunk_sizes(n)
    bar = st.progress(0.0, text=f"Generating {n:,} jets …") if n > PROGRESS_ABOVE else None
    parts = []
    for i, size in enumerate(sizes):
        parts.append(_chunk(spec.key, spec.stamp, seed, i, size, gen, beta))
        if bar is not None:
            bar.progress((i + 1) / len(sizes), text=f"Generated {min(n, (i + 1) * CHUNK):,} jets")
    if bar is not None:
        bar.empty()
    return joined(parts)


@st.cache_data(max_entries=16, show_spinner="Computing observables of the true jets …")
def _truth(data_key: str, classes: tuple[str, ...], n_particles: int, radius: float,
           _jets) -> Truth:
    return truth_halves(_jets, classes, n_particles, radius)


def truth_key() -> str:
    """The cache key of the data set the true jets come from."""
    return jets_in_use()[1]


def truth_for(gen: Generator) -> Truth | None:
    """True jets of the generator's classes from the data set in use (None: shown why)."""
    jets, data_key = jets_in_use()
    try:
        return _truth(data_key, gen.spec.classes, gen.config.n_particles_in, gen.radius, jets)
    except JetvizInputError as err:
        st.error(f"The data set in use cannot be compared with this generator: {err}")
        return None


def generator_and_truth(spec: GeneratorSpec) -> tuple[Generator, Truth]:
    """The loaded generator and its true jets; stops the page after showing why not."""
    gen = load_generator(spec)
    truth = truth_for(gen) if gen is not None else None
    if gen is None or truth is None:
        st.stop()
    return gen, truth


@st.cache_data(max_entries=64, show_spinner="Computing W1 and MMD of the generated jets "
                                             "over batches …")
def _scores(key: str, stamp: int, seed: int, n: int, data_key: str, batch_size: int,
            n_batches: int, _ref: FeatureSet, _gen: FeatureSet) -> dict:
    return generated_scores(_ref, _gen, batch_size, n_batches)


@st.cache_data(max_entries=32, show_spinner="Computing the truth-vs-truth baseline (once per "
                                             "class and batch size) …")
def _baseline(data_key: str, classes: tuple[str, ...], n_particles: int, batch_size: int,
              n_batches: int, _ref: FeatureSet, _base: FeatureSet) -> dict:
    return baseline_scores(_ref, _base, batch_size, n_batches)


def score_table(spec: GeneratorSpec, seed: int, n: int, batch_size: int, n_batches: int,
                truth: Truth, gen: FeatureSet) -> pd.DataFrame:
    """One row per observable: W1 (mean ± std) generated and truth-vs-truth, ratio, MMD²."""
    _, data_key = jets_in_use()
    n_particles = truth.reference.particles.shape[1]
    s = {"generated": _scores(spec.key, spec.stamp, seed, n, data_key, batch_size, n_batches,
                              truth.reference, gen),
         "truth": _baseline(data_key, spec.classes, n_particles, batch_size, n_batches,
                            truth.reference, truth.baseline)}
    fixed = fixed_observables(data_key, spec.classes, truth.reference)
    return pd.DataFrame(score_rows(s["generated"], s["truth"], fixed))


@st.cache_data(max_entries=16, show_spinner=False)
def _fixed(data_key: str, classes: tuple[str, ...], _reference: FeatureSet) -> dict[str, str]:
    return fixed_by_frame(_reference)


def fixed_observables(data_key: str, classes: tuple[str, ...],
                      reference: FeatureSet) -> dict[str, str]:
    """Observables the preprocessing fixes for these true jets (name → why; not judged)."""
    return _fixed(data_key, classes, reference)


@st.cache_data(max_entries=64, show_spinner="Drawing the histograms …")
def _histogram_figure(key: str, stamp: int, seed: int, n: int, data_key: str, title: str,
                      generated_label: str, _truth: FeatureSet, _fake: FeatureSet):
    from jetviz.figures.generation import observable_histograms

    return observable_histograms(
        histogram_values(_truth), histogram_values(_fake), PAGE_OBSERVABLES, LABELS,
        UNITS, generated_label=generated_label, title=title)


def histogram_figure(spec: GeneratorSpec, seed: int, n: int, truth: Truth, fake: FeatureSet):
    """True vs generated histograms with ratio panels (go.Figure), built once per view
    (a 20-panel figure takes ≈ 1 s to build; cached, a generator switch only reads it)."""
    return _histogram_figure(
        spec.key, spec.stamp, seed, n, truth_key(),
        f"True vs generated {class_label(spec.classes)} jets — {spec.label}",
        f"generated ({spec.prior} prior)", truth.reference, fake)


# ----------------------------------------------------------------------------- images


@st.cache_data(max_entries=64, show_spinner="Reconstructing the true jets …")
def _reconstructions(key: str, stamp: int, data_key: str, beta: float, n: int,
                     _gen: Generator, _truth: Truth) -> tuple[np.ndarray, np.ndarray]:
    return _gen.reconstruct(_truth.reference.particles[:n], _truth.reference.mask[:n], beta)


@st.cache_data(max_entries=128, show_spinner="Averaging jet images …")
def _image(tag: str, n_pixels: int, radius: float, _particles: np.ndarray,
           _mask: np.ndarray) -> np.ndarray:
    return average_jet_image(_particles, _mask, n_pixels, radius)


def average_images(spec: GeneratorSpec, gen: Generator, truth: Truth, beta: float, n: int,
                   seed: int, n_pixels: int) -> dict[str, np.ndarray]:
    """Average images (n_pixels²) of true, reconstructed (z = μ) and generated jets at β."""
    _, data_key = jets_in_use()
    n = min(n, len(truth.reference))
    recon, recon_mask = _reconstructions(spec.key, spec.stamp, data_key, beta, n, gen, truth)
    fs, _ = generated(spec, gen, n, seed, beta=beta)
    r = gen.radius
    ref = truth.reference
    return {
        "true": _image(f"true|{data_key}|{spec.classes}|{n}", n_pixels, r,
                       ref.particles[:n], ref.mask[:n]),
        "reconstructed": _image(f"reco|{spec.key}|{spec.stamp}|{data_key}|{beta}|{n}",
                                n_pixels, r, recon, recon_mask),
        "generated": _image(f"gen|{spec.key}|{spec.stamp}|{beta}|{n}|{seed}", n_pixels, r,
                            fs.particles, fs.mask),
    }


def models_of_class(specs: list[GeneratorSpec], classes: tuple[str, ...]) -> dict[Path, str]:
    """Generator folder → "gen_g_emd — EMD VAE" for the models of ``classes``, EMD models
    first (the image page opens on one), then by name."""
    return {s.directory: f"{s.directory.name} — {s.label.split(' · ')[1]}"
            for s in sorted((s for s in specs if s.classes == classes and s.prior == "flow"),
                            key=lambda s: (s.loss not in ("sinkhorn", "exact"), str(s.directory)))}


def image_betas(gen: Generator) -> list[float]:
    """The β slider's values on the image page: the model's grid and its generator's β."""
    return beta_grid(gen.config.beta_min, gen.config.beta_max, gen.spec.beta)


def prior_label(spec: GeneratorSpec) -> str:
    """"flow prior" / "Gaussian prior N(0, 1)"."""
    return PRIOR_LABELS[spec.prior]
