"""Streamlit side of the β-VAE pages: the model picker, cached models, scans and samples.

Models are found under the checkpoint root (``jetviz.paths.CHECKPOINTS``, or the directory
named by ``$JETVIZ_VAE_ROOT`` — tests point it at a tiny model trained in a temporary
directory): the shipped ``vae_*/`` directories first, then the user's own ``user/*/`` made by
the train page. A model is loaded once per (path, modification time) with
``st.cache_resource``; its β-scan (KL per dimension, D1, D2 on a fine β grid) is read from
the checkpoint's record, and the per-β reconstructions of a sample of at most
``SAMPLE_SIZE`` jets are cached per (model, data, class, β) with ``st.cache_data``.
Everything the β slider drives is therefore either a stored array or a cached sample.
"""

from __future__ import annotations

import contextlib
import os
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import streamlit as st

from jetviz.errors import JetvizInputError
from jetviz.figures.latent import format_beta, nearest_beta_index

ROOT_ENV = "JETVIZ_VAE_ROOT"  # overrides the checkpoint root (tests, other model folders)
SAMPLE_SIZE = 1000  # jets reconstructed per β on the β page (the benchmark's 1,000)
SAMPLE_SEED = 20251122  # which jets form the sample (fixed, so pages agree)
MODEL_KEY = "vae_model_path"  # session state: the model chosen on any β-VAE page
BETA_KEY = "vae_beta_by_model"  # session state: model path → its β, shared by the pages
ALL_CLASSES = "all classes"


def checkpoint_root() -> Path:
    """Where the β-VAE checkpoints live: $JETVIZ_VAE_ROOT, else the shipped checkpoints/."""
    override = os.environ.get(ROOT_ENV)
    if override:
        return Path(override)
    from jetviz.paths import CHECKPOINTS

    return CHECKPOINTS


def user_root() -> Path:
    """Where the train page saves new models (they then appear in the picker)."""
    return checkpoint_root() / "user"


@dataclass(frozen=True)
class ModelChoice:
    """A checkpoint directory on disk.

    Attributes:
        path: the directory.
        label: what the picker shows ("vae_w (shipped)", "my_run (yours)").
        mtime_ns: newest modification time of its files (part of every cache key).
    """

    path: str
    label: str
    mtime_ns: int


def _mtime(directory: Path) -> int:
    times = [f.stat().st_mtime_ns for f in directory.iterdir() if f.is_file()]
    return max(times, default=directory.stat().st_mtime_ns)


def list_models() -> list[ModelChoice]:
    """Shipped models (``vae_*``) first, then the user's (``user/*``), each sorted by name."""
    root = checkpoint_root()
    found: list[ModelChoice] = []
    for pattern, tag in (("vae_*", "shipped"), ("user/*", "yours")):
        for d in sorted(root.glob(pattern)):
            if d.is_dir() and not d.name.startswith("."):
                found.append(ModelChoice(str(d), f"{d.name} ({tag})", _mtime(d)))
    return found


def model_picker(where: str) -> ModelChoice | None:
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
    paths = [m.path for m in models]
    chosen = st.session_state.get(MODEL_KEY)
    index = paths.index(chosen) if chosen in paths else _default_index(models)
    widget = f"vae_model_{where}"
    if st.session_state.get(widget) not in paths:
        st.session_state[widget] = paths[index]

    def remember() -> None:
        st.session_state[MODEL_KEY] = st.session_state[widget]

    path = st.selectbox(
        "Model", paths, key=widget, on_change=remember,
        format_func=lambda p: next(m.label for m in models if m.path == p),
        help=("A β-VAE checkpoint: the shipped ones (vae_w: W jets, vae_t: top jets, "
              "vae_mixed: all classes; vae_banana, vae_strip, vae_ribbon: toys of known "
              "scales) and the models you trained on the Train and playground pages."),
    )
    st.session_state[MODEL_KEY] = path
    return next(m for m in models if m.path == path)


def _default_index(models: list[ModelChoice]) -> int:
    """The talk's W model if shipped, else top, mixed, any jet model, and the toy last."""
    names = [Path(m.path).name for m in models]
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

    choice: ModelChoice
    model: object
    config: object
    record: dict

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


def load_model(choice: ModelChoice) -> Loaded | None:
    """The model of ``choice``, or None after showing why it could not be loaded."""
    try:
        model, config, record = _load(choice.path, choice.mtime_ns)
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


@dataclass(frozen=True)
class Scan:
    """The stored β-scan of a model, as plain arrays.

    Attributes:
        betas: (n_beta,) increasing β grid.
        kl: (n_beta, D) ⟨KL_i⟩ in nats.
        emd2: (n_beta,) ⟨EMD²⟩ (or squared distance for the toy).
        d1, d2: (n_beta,) dimensionality curves.
        diagnostics: bands, reconstruction floor and distinct directions, when the scan
            stores them (``jetviz.figures.latent.dimensionality_figure``'s argument).
    """

    betas: np.ndarray
    kl: np.ndarray
    emd2: np.ndarray
    d1: np.ndarray
    d2: np.ndarray
    diagnostics: dict = field(default_factory=dict)


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
    from jetviz.vae.scan import BetaScan

    scan = BetaScan.from_dict(_record.get("scan") or {})
    keys = ("d1_lo", "d1_hi", "d2_lo", "d2_hi", "floor", "n_active", "n_directions")
    diagnostics = {k: getattr(scan, k) for k in keys if getattr(scan, k) is not None}
    return Scan(scan.betas, scan.kl_per_dim, scan.distance2, scan.d1, scan.d2, diagnostics)


def dimensionality_caption(scan: Scan, beta: float, unit: str) -> str:
    """What the dimensionality chart can and cannot say at ``beta``, from the stored scan."""
    diag = scan.diagnostics
    if "floor" not in diag:
        return ("This model's scan predates the error bands and the reconstruction floor: "
                "recompute it with `jetviz train … --out MODEL --rescan`.")
    k = nearest_beta_index(scan.betas, beta)
    floor = float(diag["floor"])
    what = ("exact EMD between a jet and its reconstruction" if unit == "GeV"
            else "distance between a point and its reconstruction")
    text = (f"Shaded bands: 16–84 % over bootstrap resamplings of the examples. Grey: β below "
            f"the reconstruction floor δ = {format_beta(floor, unit)} (the best mean {what}); "
            f"there the decoder, not the data, limits what is resolved, and D1 can exceed the "
            f"true dimension. ")
    if "n_directions" in diag:
        active, distinct = int(diag["n_active"][k]), int(diag["n_directions"][k])
        text += (f"At β = {format_beta(beta, unit)}: {active} active latent dimensions "
                 f"(⟨KL_i⟩ > 0.1 nats) encode {distinct} distinct directions")
        text += (f" ({active - distinct} are copies: |Spearman ρ| ≥ 0.9 between their means)."
                 if active > distinct else ".")
    if beta < floor:
        text += " The current β is below the floor: read D1 here as an upper bound."
    return text


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
        model: the model's path (``Loaded.choice.path``).
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


def grid_index(betas: np.ndarray, beta: float | None) -> int:
    """The grid point nearest to ``beta`` on a log scale (the middle one for None)."""
    if beta is None or not beta > 0:
        return len(betas) // 2
    return int(np.argmin(np.abs(np.log(np.asarray(betas)) - np.log(beta))))


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
    if class_name != ALL_CLASSES:
        if class_name not in jets.class_names or jets.counts()[class_name] == 0:
            st.error(f"The data set in use has no {class_name!r} jets; choose another class.")
            return None
        jets = jets.of_class(class_name)
    n = min(size, len(jets))
    index = np.sort(np.random.default_rng(SAMPLE_SEED).permutation(len(jets))[:n])
    where = "all classes" if class_name == ALL_CLASSES else f"class {class_name}"
    return Sample(jets.subset(index), f"{data_key}|{class_name}|{n}",
                  f"{n:,} jets ({where}) of the data set in use")


@st.cache_data(max_entries=4, show_spinner=False)
def _toy_points(key: str, directory: str, size: int, _record: dict) -> np.ndarray:
    from jetviz.readers.points import points_of_model

    return points_of_model(directory, _record, size, np.random.default_rng(SAMPLE_SEED))


def toy_name(loaded: Loaded) -> str:
    """What a point model was trained on, e.g. "toy strip" or "uploaded my.npy"."""
    return str(loaded.record.get("data_source", "toy points"))


def toy_scales(loaded: Loaded) -> dict[str, float]:
    """The known scales of a toy model's data (none for a user's points)."""
    from jetviz.readers.points import scales_of_model

    return scales_of_model(loaded.record)


@dataclass(frozen=True)
class Reconstruction:
    """A sample and its reconstruction at one β (arrays, cached per (model, sample, β)).

    Attributes:
        originals: (N, P, 3) prepared jets (the frame the model sees), or (N, 2) points.
        mask: (N, P) real particles (None for points).
        recon: (N, P_out, 3) decoded jets at z = μ, or (N, 2) points.
        mu, logvar: (N, D) posterior.
        distance: (N,) reconstruction EMD per jet [GeV] (Euclidean distance for points).
        jet_pt: (N,) jet pT [GeV] (None for points).
        distance_source: how ``distance`` was obtained, for captions ("exact EMD, stored
            with the model", "exact EMD, computed now", "Euclidean distance").
    """

    originals: np.ndarray
    mask: np.ndarray | None
    recon: np.ndarray
    mu: np.ndarray
    logvar: np.ndarray
    distance: np.ndarray
    jet_pt: np.ndarray | None
    distance_source: str = ""


def reconstruction_at(loaded: Loaded, sample: Sample, beta: float) -> Reconstruction | None:
    """The sample reconstructed at ``beta`` (cached), or None after a message."""
    try:
        return _reconstruct(loaded.key, sample.key, float(beta), loaded, sample)
    except JetvizInputError as err:
        st.error(f"Could not reconstruct {sample.description} with {loaded.choice.label}: {err}")
        return None


@contextlib.contextmanager
def _one_thread():
    """Run small latency-bound torch work (a slider move) on one intra-op thread.

    On a busy machine two OpenMP threads that wait for each other made a 1,000-jet
    reconstruction 5–20× slower than one thread (measured here: 0.05 s vs up to 1.6 s).
    """
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


@st.cache_resource(max_entries=16, show_spinner="Preparing the jets …")
def _prepared(model_key: str, sample_key: str, _loaded: Loaded, _sample: Sample):
    """The sample as model inputs (centred, rotated, flipped jets), once per model and sample."""
    from jetviz.vae.scan import prepare

    return prepare(_loaded.model, _sample.data)


STORED_EMD = "exact EMD, stored with the model (`jetviz slider-emd`)"
COMPUTED_EMD = "exact EMD, computed now"


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
def _reconstruct(model_key: str, sample_key: str, beta: float, _loaded: Loaded,
                 _sample: Sample) -> Reconstruction:
    from jetviz.vae.scan import encode_decode, reconstruct

    inputs = _prepared(model_key, sample_key, _loaded, _sample)
    stored = _stored_emds(model_key, sample_key, _loaded, _sample)
    distance = None if stored is None else stored[0].lookup(beta, stored[1])
    with _one_thread():
        if distance is None:
            recon, mu, logvar, distance = reconstruct(_loaded.model, inputs, beta)
            source = "Euclidean distance" if _loaded.is_toy else COMPUTED_EMD
        else:  # a lookup: decode only
            x_hat, mu_t, logvar_t, _ = encode_decode(_loaded.model, inputs, beta)
            recon, mu, logvar = (t.cpu().numpy() for t in (x_hat, mu_t, logvar_t))
            source = STORED_EMD
    return Reconstruction(
        originals=inputs.x.cpu().numpy(),
        mask=None if inputs.mask is None else inputs.mask.cpu().numpy(),
        recon=recon, mu=mu, logvar=logvar, distance=distance,
        jet_pt=None if inputs.jet_pt is None else inputs.jet_pt.cpu().numpy(),
        distance_source=source,
    )


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


WALK_SPAN = 3.0  # a single-direction walk runs over μ ± 3 (prior standard deviations)
WALK_STEPS = 61  # positions along a walk (the slider indexes into the decoded path)
LINE_STEPS = 41  # positions on the straight line between two jets


def share_model_and_class(where: str, extra: dict | None = None) -> None:
    """Restore/publish the page's model and class pickers (and ``extra`` keys → allowed)
    through the URL (:mod:`ui.share`); the model travels as its folder name."""
    from ui.share import share_link, share_view

    by_name = {Path(m.path).name: m.path for m in list_models()}
    keys = [f"vae_model_{where}", f"vae_class_{where}", *(extra or {})]
    share_view(where, keys, allowed=extra or {},
               codecs={f"vae_model_{where}": (lambda p: Path(p).name, by_name.__getitem__)})
    share_link()


def share_beta(where: str, slider_key: str, loaded: Loaded, scan: Scan) -> None:
    """Restore/publish the β slider of this model through the URL (the key names the
    model, so a link carries the β of the model it shows)."""
    from ui.share import share_view

    widget = f"{slider_key}:{Path(loaded.choice.path).name}"
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


@dataclass(frozen=True)
class Walk:
    """A decoded latent path (cached once per (model, jet, direction, β)).

    Attributes:
        positions: (T,) positions along the path.
        jets: (T, P_out, 3) decoded jets.
        observables: name → (T,) mass [GeV], pT [GeV], τ21 of the decoded jets.
        x_title: what the position means (axis title).
    """

    positions: np.ndarray
    jets: np.ndarray
    observables: dict[str, np.ndarray]
    x_title: str


WALK_UNITS = {"mass": "GeV", "pT": "GeV", "τ21": ""}


def walk_path(loaded: Loaded, sample: Sample, jet: int, beta: float, kind: str,
              which: int) -> Walk | None:
    """Decode the path from jet ``jet`` of ``sample`` along a direction (cached).

    Args:
        loaded: the model.
        sample: the jets the walk starts from (and ends at, for a line).
        jet: index of the starting jet in ``sample``.
        beta: β of the encoder and decoder.
        kind: "dimension" (``which`` = latent dimension), "principal" (``which`` = index of
            the principal direction of the latent means) or "line" (``which`` = index of the
            end jet in ``sample``).
        which: see ``kind``.
    """
    try:
        return _walk(loaded.key, sample.key, int(jet), float(beta), kind, int(which),
                     loaded, sample)
    except JetvizInputError as err:
        st.error(f"Could not decode the walk with {loaded.choice.label}: {err}")
        return None


@st.cache_data(max_entries=256, show_spinner="Decoding the path …")
def _walk(model_key: str, sample_key: str, jet: int, beta: float, kind: str, which: int,
          _loaded: Loaded, _sample: Sample) -> Walk:
    from jetviz.vae.scan import jet_observables, walk

    rec = _reconstruct(model_key, sample_key, beta, _loaded, _sample)
    z0 = rec.mu[jet]  # (D,)
    if kind == "line":
        positions = np.linspace(0.0, 1.0, LINE_STEPS)
        target = rec.mu[which]
        x_title = f"t along the line (0 = jet {jet}, 1 = jet {which})"
    else:
        positions = np.linspace(-WALK_SPAN, WALK_SPAN, WALK_STEPS)
        if kind == "dimension":
            target = np.eye(rec.mu.shape[1])[which]
            x_title = f"shift of z{which} from the jet's own μ [prior σ]"
        else:
            target = _principal(model_key, sample_key, beta, _loaded, _sample)["pca"][which]
            x_title = f"shift along principal direction {which + 1} [prior σ]"
    with _one_thread():
        if kind == "line":
            path = walk(_loaded.model, z0, positions, beta, z1=target)  # (T, P_out, 3) | (T, 2)
        else:
            path = walk(_loaded.model, z0, positions, beta, direction=target)
    if _loaded.is_toy:
        obs = {f"x{k + 1}": path[:, k] for k in range(min(path.shape[1], 4))}
    else:
        pt = float(rec.jet_pt[jet])
        values = jet_observables(path, np.full(len(path), pt), _loaded.config.radius)
        obs = {"mass": values["mass"], "pT": values["pt"], "τ21": values["tau21"]}
    return Walk(positions, path, obs, x_title)


@st.cache_data(max_entries=64, show_spinner=False)
def _principal(model_key: str, sample_key: str, beta: float, _loaded: Loaded,
               _sample: Sample) -> dict:
    from jetviz.vae.scan import latent_directions

    inputs = _prepared(model_key, sample_key, _loaded, _sample)
    with _one_thread():
        found = latent_directions(_loaded.model, inputs, beta)
    return {"pca": found["pca"], "pca_variance": found["pca_variance"]}


def principal_variances(loaded: Loaded, sample: Sample, beta: float) -> np.ndarray:
    """Variance of the latent means along each principal direction (largest first)."""
    return _principal(loaded.key, sample.key, float(beta), loaded, sample)["pca_variance"]


def jet_class_of(sample: Sample, index: int) -> str:
    """The class name of jet ``index`` of a jet sample."""
    data = sample.data
    return data.class_names[int(data.labels[index])]


def pick_random(key: str, n: int) -> None:
    """Button callback: set the widget ``key`` to a random index in [0, n) (seeded once per
    session, so a session's sequence of random jets is reproducible)."""
    rng = st.session_state.setdefault("vae_rng", np.random.default_rng(SAMPLE_SEED))
    st.session_state[key] = int(rng.integers(n))


NAME_PATTERN = r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}"
MIN_TRAIN_JETS = 20  # fewer jets cannot make a training and a validation split
MIN_TRAIN_PARTICLES = 2  # particle slots a jet model needs


def user_model_dir(name: str) -> Path:
    """``user/<name>`` for a valid model name; raises JetvizInputError otherwise."""
    import re

    if not re.fullmatch(NAME_PATTERN, name or ""):
        raise JetvizInputError(
            f"model name {name!r}: use 1–64 letters, digits, '_', '-' or '.', starting with a "
            "letter or digit")
    return user_root() / name


OWNER_KEY = "jetviz_owner"  # session state: this session's owner token for the models it trains
_SAVE_LOCK = threading.Lock()  # one final rename into user/ at a time (checks stay true)


def session_owner() -> str:
    """This session's owner token (random, made once per session): its models carry it."""
    return st.session_state.setdefault(OWNER_KEY, uuid.uuid4().hex)


def model_owner(directory: Path) -> str | None:
    """The owner token recorded in a user model, or None (none recorded, or unreadable)."""
    from jetviz.vae.checkpoint import read_config

    try:
        return (read_config(directory).get("record") or {}).get("owner")
    except JetvizInputError:
        return None


def _check_may_replace(target: Path, owner: str, overwrite: bool) -> None:
    if not target.exists():
        return
    if model_owner(target) != owner:
        raise JetvizInputError(
            f"a model called {target.name!r} already exists and was made by another session "
            "(or installed on the server); choose another name")
    if not overwrite:
        raise JetvizInputError(
            f"a model called {target.name!r} already exists (yours); choose another name "
            "or tick 'overwrite'")


def train_user_model(name: str, config, data, train_config, callback, overwrite: bool,
                     provenance: dict, owner: str,
                     on_wait: Callable[[int], None] | None = None) -> tuple[Path, dict]:
    """Train a model into ``user/<name>`` without ever leaving a broken checkpoint there.

    The run takes one of the server's training slots (``jetviz.serving.training_slots``;
    ``on_wait(position)`` is called while it queues), within the per-run budget. Training
    writes into a staging directory unique to the run; only a run that finishes moves into
    ``user/<name>``. A model belongs to the session that made it (``owner`` is stored in its
    record): ``overwrite`` replaces only the owner's own model, and if another session saved
    the name while this run trained, this one is saved as ``<name>-<6 hex>`` instead. A run
    that diverges, fails, or is interrupted (the page reruns) removes its staging directory.

    Returns:
        (the checkpoint directory, the training record).

    Raises:
        JetvizInputError: bad name, a model of that name that is not ours (or ours without
            ``overwrite``), over budget, one run per session, bad data, or a diverged run
            (``jetviz.vae.train.TrainingDivergedError``).
    """
    import shutil

    from jetviz.serving import check_budget, training_slots
    from jetviz.vae.train import train

    target = user_model_dir(name)
    _check_may_replace(target, owner, overwrite)
    n_jets = len(data) if hasattr(data, "__len__") else 0
    check_budget(n_jets, train_config.epochs)
    run_id = uuid.uuid4().hex
    staging = target.parent / f".staging-{run_id}"
    try:
        with training_slots().hold(owner, on_wait):
            _, record = train(config, data, train_config, out_dir=staging, callback=callback,
                              provenance={**provenance, "owner": owner})
        if not (staging / "model.safetensors").exists():
            raise JetvizInputError("training ended before any epoch finished; nothing saved")
        with _SAVE_LOCK:
            try:
                _check_may_replace(target, owner, overwrite)
            except JetvizInputError:  # someone saved this name while we trained: keep both
                target = target.with_name(f"{name}-{run_id[:6]}")
            old = target.parent / f".old-{run_id}"
            if target.exists():
                target.rename(old)
            staging.rename(target)
            shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target, record


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
        from jetviz.vae.model import VAEConfig
        from jetviz.vae.train import TrainConfig

        toy = self.n_particles == 0
        config = VAEConfig(
            data="banana" if toy else "jets", loss="euclidean" if toy else loss,
            n_particles_in=self.n_particles or 30, n_particles_out=self.n_particles or 30,
            latent_dim=latent_dim, beta_min=beta_min, beta_max=beta_max)
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
    index = np.sort(np.random.default_rng(SAMPLE_SEED).permutation(len(jets))[:n])
    jets = jets.subset(index).truncated(int(particles))
    choice = current_choice()
    return TrainingData(jets, {
        "data_source": choice.label if choice else jets.source,
        "classes": present if name == ALL_CLASSES else [name], "n_jets": n,
    }, int(particles))
