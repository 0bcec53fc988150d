"""Streamlit side of the β-VAE pages: the model picker, cached models, scans and samples.

Models are listed by ``jetviz.vae.saving.list_models`` (the registry, under ``$JETVIZ_VAE_ROOT``
or the shipped checkpoints: shipped ones first, then the user's own ``user/*``). A model is
loaded once per (path, modification time) with ``st.cache_resource``; its β-scan is read from
the checkpoint's record, and the per-β reconstructions of a sample of at most
``SAMPLE_SIZE`` jets are cached per (model, data, class, β) with ``st.cache_data``.
Everything the β slider drives is therefore either a stored array or a cached sample. The
arithmetic lives in ``jetviz.vae.explore``; this module holds widgets and cache wrappers.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import streamlit as st

from jetviz.checkpoints import Entry
from jetviz.errors import JetvizInputError
from jetviz.figures.beta import format_beta
from jetviz.vae.explore import (
    Reconstruction,
    Scan,
    grid_index,
    reconstruct_sample,
    scan_from_record,
)
from jetviz.vae.saving import checkpoint_root, list_models
from jetviz.vae.slider_emd import ALL_CLASSES, SAMPLE_SEED, SAMPLE_SIZE, slider_sample

MODEL_KEY = "vae_model_path"  # session state: the model chosen on any β-VAE page
BETA_KEY = "vae_beta_by_model"  # session state: model path → its β, shared by the pages


def model_picker(where: str) -> Entry | None:
    """A model selectbox; the choice is shared by the β, walk and train pages.

    Args:
        where: the page's name (makes the widget key unique per page).

    Returns:
        The chosen model, or None (with a message) when there is none.
    """
    models = list_models()
    if not models:
        st.warning(
            f"No β-VAE checkpoints found under {checkpoint_root()}: train one on the "
            "**Train a model** page, or with `jetviz train` (see README)."
        )
        return None
    paths = [str(m.path) for m in models]
    chosen = st.session_state.get(MODEL_KEY)
    index = paths.index(chosen) if chosen in paths else _default_index(models)
    widget = f"vae_model_{where}"
    if st.session_state.get(widget) not in paths:
        st.session_state[widget] = paths[index]

    def remember() -> None:
        st.session_state[MODEL_KEY] = st.session_state[widget]

    path = st.selectbox(
        "Model", paths, key=widget, on_change=remember,
        format_func=lambda p: next(m.label for m in models if str(m.path) == p),
        help=("A β-VAE checkpoint: the shipped ones (vae_w: W jets, vae_t: top jets, "
              "vae_mixed: all classes; vae_banana, vae_strip, vae_ribbon: toys of known "
              "scales; vae_family: a 3-parameter family of 3-particle jets, shown with jets "
              "of its own family) and the models you trained on the Train and playground "
              "pages."),
    )
    st.session_state[MODEL_KEY] = path
    return next(m for m in models if str(m.path) == path)


def _default_index(models: list[Entry]) -> int:
    """The talk's W model if shipped, else top, mixed, any jet model, and the toy last."""
    names = [m.path.name for m in models]
    for preferred in ("vae_w", "vae_t", "vae_mixed"):
        if preferred in names:
            return names.index(preferred)
    from jetviz.simulation.toys import TOYS

    jets = [i for i, n in enumerate(names) if not any(toy in n for toy in TOYS)]
    return jets[0] if jets else 0


@st.cache_resource(max_entries=8, show_spinner="Loading the model …")
def _load(path: str, mtime_ns: int):
    import torch

    from jetviz.vae.checkpoint import load_checkpoint

    model, config, record = load_checkpoint(path)
    model.eval()
    torch.set_grad_enabled(False)
    return model, config, record


@dataclass(frozen=True)
class Loaded:
    """A loaded model with its config and training record (shared, never modified)."""

    choice: Entry
    model: object
    config: object
    record: dict

    @property
    def path(self) -> str:
        """The checkpoint directory (as text: session state and cache keys hold it)."""
        return str(self.choice.path)

    @property
    def key(self) -> str:
        """Cache key of this model (path and modification time)."""
        return f"{self.choice.path}|{self.choice.mtime_ns}"

    @property
    def is_toy(self) -> bool:
        """True for point models (the toys, a user's points), not jets."""
        return self.config.is_points

    @property
    def unit(self) -> str:
        """Unit of β and of the reconstruction distance."""
        return "" if self.is_toy else "GeV"


def load_model(choice: Entry) -> Loaded | None:
    """The model of ``choice``, or None after showing why it could not be loaded."""
    try:
        model, config, record = _load(str(choice.path), choice.mtime_ns)
    except JetvizInputError as err:
        st.error(f"Could not load the model {choice.label}: {err}")
        return None
    except Exception as err:  # a damaged file must never crash the page
        st.error(
            f"Could not load the model {choice.label} from {choice.path}: "
            f"{type(err).__name__}: {err}. The checkpoint may be incomplete or damaged; "
            "choose another model or retrain it."
        )
        return None
    return Loaded(choice, model, config, dict(record or {}))


def scan_of(loaded: Loaded) -> Scan | None:
    """The model's stored β-scan, or None after showing a message."""
    try:
        return _scan(loaded.key, loaded.record)
    except JetvizInputError as err:
        running = "" if loaded.record.get("stopped") else (
            " It looks unfinished (no 'stopped' in its record): a model still in training gets "
            "its scan when training ends; reload the page then.")
        st.error(f"{loaded.choice.label}: {err}.{running}")
        return None


@st.cache_data(max_entries=16, show_spinner=False)
def _scan(key: str, _record: dict) -> Scan:
    return scan_from_record(_record)


def beta_slider(scan: Scan, unit: str, key: str, model: str) -> float:
    """A log-scale β slider over the model's stored grid; returns β.

    Each model keeps its own β (``BETA_KEY``: model path → β), shared between pages, so the
    walk page opens at the β chosen on the β page and switching back to a model finds its β
    again. The widget's key names the model: a new model gets a new slider set from its own
    state, so the thumb and the charts always show the same grid point.

    Args:
        scan: the model's β-scan (its grid is the slider's options).
        unit: β's unit ("GeV", or "" for the toy).
        key: the page's base widget key.
        model: the model's path (``Loaded.path``).
    """

    chosen: dict[str, float] = st.session_state.setdefault(BETA_KEY, {})
    n = len(scan.betas)
    widget = f"{key}:{Path(model).name}"
    if st.session_state.get(widget) not in range(n):
        st.session_state[widget] = grid_index(scan.betas, chosen.get(model))
    index = st.select_slider(
        f"β [{unit}] (log scale)" if unit else "β (log scale)",
        options=list(range(n)), key=widget,
        format_func=lambda k: format_beta(scan.betas[k], unit),
        help=("β is the price of information and the resolution of the reconstruction "
              f"(same units as the EMD). Large β: the model encodes nothing; small β: it "
              f"encodes detail down to the scale β. The grid runs from "
              f"{format_beta(scan.betas[0], unit)} to {format_beta(scan.betas[-1], unit)}."),
    )
    chosen[model] = float(scan.betas[index])
    return float(scan.betas[index])


def trained_classes(loaded: Loaded) -> list[str] | None:
    """The classes the model was trained on, if its record says so."""
    classes = loaded.record.get("classes") or loaded.record.get("data", {}).get("classes")
    return list(classes) if classes else None


@dataclass(frozen=True)
class Sample:
    """The data a page reconstructs: a seeded sample of jets (or toy points).

    Attributes:
        data: a JetSet (jet models) or (N, 2) points (the toy).
        key: cache key of exactly these jets.
        description: what the sample is, for captions.
    """

    data: object
    key: str
    description: str


def sample_for(loaded: Loaded, class_name: str = ALL_CLASSES,
               size: int = SAMPLE_SIZE) -> Sample | None:
    """A fixed seeded sample of ≤ ``size`` jets of the data set in use (one class or all), or
    of toy points for the banana model; None after a message if the data do not fit."""
    if loaded.is_toy:
        points = _toy_points(loaded.key, str(loaded.choice.path), size, loaded.record)
        return Sample(points, f"{loaded.key}|points|{size}", f"{len(points):,} points "
                      f"({loaded.record.get('data_source', 'toy')})")
    family = family_scales(loaded)
    if family:  # a jet family (jetviz generate family): a fresh seeded draw of its own jets
        jets = _family_jets(tuple(family.items()), size)
        where = ", ".join(f"{name} {scale:g} GeV" for name, scale in family.items())
        return Sample(jets, f"{loaded.key}|family|{size}",
                      f"{len(jets):,} jets of the model's jet family ({where})")
    from ui.data import jets_in_use

    jets, data_key = jets_in_use()
    if jets.n_particles < loaded.config.n_particles_in:
        st.error(
            f"The data set in use has {jets.n_particles} particles per jet, but the model "
            f"{loaded.choice.label} was trained on {loaded.config.n_particles_in}. Load jets "
            f"with at least {loaded.config.n_particles_in} particles in the sidebar, or pick or "
            "train a model for this data set."
        )
        return None
    if class_name != ALL_CLASSES and (class_name not in jets.class_names
                                      or jets.counts()[class_name] == 0):
        st.error(f"The data set in use has no {class_name!r} jets; choose another class.")
        return None
    sample = slider_sample(jets, class_name, size)
    n = len(sample)
    where = "all classes" if class_name == ALL_CLASSES else f"class {class_name}"
    return Sample(sample, f"{data_key}|{class_name}|{n}",
                  f"{n:,} jets ({where}) of the data set in use")


@st.cache_data(max_entries=4, show_spinner=False)
def _toy_points(key: str, directory: str, size: int, _record: dict) -> np.ndarray:
    from jetviz.readers.points import points_of_model

    return points_of_model(directory, _record, size, np.random.default_rng(SAMPLE_SEED))


def family_scales(loaded: Loaded) -> dict[str, float]:
    """The EMD scales (GeV) of a jet-family model's data (``jetviz generate family``), or {}."""
    record = loaded.record
    if loaded.is_toy or record.get("classes") != ["family"] or not record.get("scales"):
        return {}
    return {str(k): float(v) for k, v in record["scales"].items()}


@st.cache_data(max_entries=4, show_spinner=False)
def _family_jets(scales: tuple, size: int):
    from jetviz.simulation.jet_families import family_jets

    return family_jets(size, dict(scales), np.random.default_rng(SAMPLE_SEED))


def toy_name(loaded: Loaded) -> str:
    """What a point model was trained on, e.g. "toy strip" or "uploaded my.npy"."""
    return str(loaded.record.get("data_source", "toy points"))


def toy_scales(loaded: Loaded) -> dict[str, float]:
    """The known scales of a toy model's data (none for a user's points)."""
    from jetviz.readers.points import scales_of_model

    return scales_of_model(loaded.record)


def reconstruction_at(loaded: Loaded, sample: Sample, beta: float) -> Reconstruction | None:
    """The sample reconstructed at ``beta`` (cached), or None after a message."""
    try:
        return reconstructed(loaded.key, sample.key, float(beta), loaded, sample)
    except JetvizInputError as err:
        st.error(f"Could not reconstruct {sample.description} with {loaded.choice.label}: {err}")
        return None


@st.cache_resource(max_entries=16, show_spinner="Preparing the jets …")
def prepared(model_key: str, sample_key: str, _loaded: Loaded, _sample: Sample):
    """The sample as model inputs (centred, rotated, flipped jets), once per model and sample."""
    from jetviz.vae.scan import prepare

    return prepare(_loaded.model, _sample.data)


@st.cache_resource(max_entries=16, show_spinner=False)
def _stored_emds(model_key: str, sample_key: str, _loaded: Loaded, _sample: Sample):
    """(the model's stored slider-EMD grid, the sample's fingerprint), or None."""
    from jetviz.vae.slider_emd import fingerprint, load_grid

    if _loaded.is_toy:
        return None
    try:
        grid = load_grid(_loaded.choice.path)
    except Exception:  # a damaged grid file: compute the EMDs instead
        return None
    return None if grid is None else (grid, fingerprint(_sample.data))


@st.cache_data(max_entries=512, show_spinner=False)
def reconstructed(model_key: str, sample_key: str, beta: float, _loaded: Loaded,
                 _sample: Sample) -> Reconstruction:
    inputs = prepared(model_key, sample_key, _loaded, _sample)
    stored = _stored_emds(model_key, sample_key, _loaded, _sample)
    distance = None if stored is None else stored[0].lookup(beta, stored[1])
    return reconstruct_sample(_loaded.model, inputs, beta, distance)


def class_picker(loaded: Loaded, where: str) -> str:
    """Which jets of the data set in use to reconstruct: one class or all; returns the name.

    Defaults to the class the model was trained on when its record names exactly one.
    The toy model needs no jets and shows no picker.
    """
    if loaded.is_toy:
        st.caption(f"A point model ({toy_name(loaded)}): it reconstructs points, not jets.")
        return ALL_CLASSES
    from jetviz.figures.data import class_label
    from ui.data import jets_in_use

    jets, _ = jets_in_use()
    options = [ALL_CLASSES] + [n for n, c in jets.counts().items() if c > 0]
    trained = trained_classes(loaded) or []
    widget = f"vae_class_{where}"
    # a new model starts on its own class (a W model on W jets), not the last model's choice
    # (a session's first model keeps a class restored from a shared link)
    if st.session_state.get(f"{widget}_model") not in (None, loaded.key):
        st.session_state.pop(widget, None)
    st.session_state[f"{widget}_model"] = loaded.key
    if st.session_state.get(widget) not in options:
        st.session_state[widget] = trained[0] if len(trained) == 1 and trained[0] in options \
            else ALL_CLASSES
    return st.selectbox(
        "Jets to reconstruct", options, key=widget,
        format_func=lambda n: n if n == ALL_CLASSES else class_label(n),
        help=("The sample of jets (from the data set in the sidebar) that is reconstructed "
              "at each β. It defaults to the class the model was trained on"
              + (f" ({', '.join(trained)})." if trained else ".")),
    )


def share_model_and_class(where: str, extra: dict | None = None) -> None:
    """Restore/publish the page's model and class pickers (and ``extra`` keys → allowed)
    through the URL (:mod:`ui.share`); the model travels as its folder name."""
    from ui.share import share_link, share_view

    by_name = {m.path.name: str(m.path) for m in list_models()}
    keys = [f"vae_model_{where}", f"vae_class_{where}", *(extra or {})]
    share_view(where, keys, allowed=extra or {},
               codecs={f"vae_model_{where}": (lambda p: Path(p).name, by_name.__getitem__)})
    share_link()


def share_beta(where: str, slider_key: str, loaded: Loaded, scan: Scan) -> None:
    """Restore/publish the β slider of this model through the URL (the key names the
    model, so a link carries the β of the model it shows)."""
    from ui.share import share_view

    widget = f"{slider_key}:{Path(loaded.path).name}"
    share_view(f"{where}_beta:{widget}", [widget],
               allowed={widget: lambda v: isinstance(v, int) and 0 <= v < len(scan.betas)})


def model_and_class(where: str) -> tuple[Loaded, Scan, str] | None:
    """The model picker and, beside it, the class picker of the β and walk pages.

    Returns (loaded model, its β-scan, chosen class), or None after the page has shown why
    there is none (no model, a model that fails to load, a model without a scan yet).
    """
    c1, c2 = st.columns([3, 2])
    with c1:
        choice = model_picker(where)
    loaded = None if choice is None else load_model(choice)
    scan = None if loaded is None else scan_of(loaded)
    if scan is None:
        return None
    with c2:
        class_name = class_picker(loaded, where)
    return loaded, scan, class_name
