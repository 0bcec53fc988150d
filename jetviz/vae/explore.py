"""What the β slider and latent walk pages compute from a trained β-VAE (no streamlit).

Vocabulary:
  model      a BetaVAE (jets) or PointVAE (points), from ``jetviz.vae.checkpoint``
  inputs     VAEInputs of a sample (``jetviz.vae.scan.prepare``): jets in the frame the
             model sees (centred, rotated, flipped), x (N, P, 3), mask (N, P), jet_pt (N,)
  betas      (n_beta,) the increasing β grid of the model's stored scan (GeV for jets, the
             data's own units for points); kl (n_beta, D) ⟨KL_i⟩ in nats
  mu         (N, D) posterior means of the sample at one β
  a *walk*   the decoded jets along a straight latent path from one jet's μ: along one
             latent dimension or a principal direction of the μ (positions in prior σ), or
             on the line to a second jet's μ (t ∈ [0, 1])

The pages cache these results (``ui.vae``, ``ui.walk``); the functions here are pure apart
from running the model.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field

import numpy as np

from jetviz.vae.model import nearest_beta_index

WALK_SPAN = 3.0  # a single-direction walk runs over μ ± 3 (prior standard deviations)
WALK_STEPS = 61  # positions along a walk (the slider indexes into the decoded path)
LINE_STEPS = 41  # positions on the straight line between two jets
WALK_UNITS = {"mass": "GeV", "pT": "GeV", "τ21": ""}
WALK_KINDS = ("dimension", "principal", "line")
STORED_EMD = "exact EMD, stored with the model (`jetviz slider-emd`)"
COMPUTED_EMD = "exact EMD, computed now"
EUCLIDEAN = "Euclidean distance"
_DIAGNOSTICS = ("d1_lo", "d1_hi", "d2_lo", "d2_hi", "floor", "n_active", "n_directions")


@dataclass(frozen=True)
class Scan:
    """The stored β-scan of a model, as plain arrays.

    Attributes:
        betas: (n_beta,) increasing β grid.
        kl: (n_beta, D) ⟨KL_i⟩ in nats.
        emd2: (n_beta,) ⟨EMD²⟩ (or squared distance for points).
        d1, d2: (n_beta,) dimensionality curves.
        diagnostics: bands, reconstruction floor and distinct directions, when the scan
            stores them (``jetviz.figures.beta.dimensionality_figure``'s argument).
    """

    betas: np.ndarray
    kl: np.ndarray
    emd2: np.ndarray
    d1: np.ndarray
    d2: np.ndarray
    diagnostics: dict = field(default_factory=dict)


def scan_from_record(record: dict) -> Scan:
    """The scan stored in a training record; raises JetvizInputError when there is none."""
    from jetviz.vae.scan import BetaScan

    scan = BetaScan.from_dict(record.get("scan") or {})
    return Scan(scan.betas, scan.kl_per_dim, scan.distance2, scan.d1, scan.d2,
                scan_diagnostics(scan))


def scan_diagnostics(scan) -> dict:
    """The optional arrays of a ``BetaScan`` the dimensionality figure draws (bands, floor)."""
    return {k: getattr(scan, k) for k in _DIAGNOSTICS if getattr(scan, k) is not None}


def kl_at_beta(betas: np.ndarray, kl: np.ndarray, beta: float) -> np.ndarray:
    """⟨KL_i⟩ (D,) at ``beta``, interpolated linearly in log β between grid points."""
    log_b = np.log(np.asarray(betas, dtype=float))
    x = float(np.clip(np.log(beta), log_b[0], log_b[-1]))
    return np.array([np.interp(x, log_b, kl[:, i]) for i in range(kl.shape[1])])


def dimensions_by_kl(kl: np.ndarray) -> list[int]:
    """Latent dimensions ordered from the most to the least informative (⟨KL_i⟩ (D,))."""
    return [int(i) for i in np.argsort(-np.asarray(kl), kind="stable")]


def grid_index(betas: np.ndarray, beta: float | None) -> int:
    """The grid point nearest to ``beta`` on a log scale (the middle one for None or β ≤ 0)."""
    if beta is None or not beta > 0:
        return len(betas) // 2
    return nearest_beta_index(betas, beta)


def dimensionality_note(scan: Scan, beta: float, unit: str) -> str:
    """What the dimensionality chart can and cannot say at ``beta``, from the stored scan."""
    from jetviz.figures.beta import format_beta

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


def scan_reading(scan: Scan, beta: float, unit: str) -> str:
    """The curves of the stored scan read at ``beta``, for a caption beside the β page's
    KL-curves and dimensionality charts (which draw no β marker, so that they stay the same
    at every slider step and the browser keeps them)."""
    from jetviz.figures.beta import ACTIVE_KL, dim_name, format_beta

    k = nearest_beta_index(scan.betas, beta)
    kl = scan.kl[k]
    active = [dim_name(int(i)) for i in np.argsort(-kl, kind="stable") if kl[i] > ACTIVE_KL]
    return (f"At the slider's β = {format_beta(beta, unit)} (find it on the β axis): "
            f"D1 = {scan.d1[k]:.2f}, D2 = {scan.d2[k]:.2f}; "
            + (f"⟨KL_i⟩ above {ACTIVE_KL} nats in {', '.join(active)}." if active
               else f"no dimension carries more than {ACTIVE_KL} nats."))


@contextlib.contextmanager
def one_thread():
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


@dataclass(frozen=True)
class Reconstruction:
    """A sample and its reconstruction at one β.

    Attributes:
        originals: (N, P, 3) prepared jets (the frame the model sees), or (N, d) points.
        mask: (N, P) real particles (None for points).
        recon: (N, P_out, 3) decoded jets at z = μ, or (N, d) points.
        mu, logvar: (N, D) posterior.
        distance: (N,) reconstruction EMD per jet [GeV] (Euclidean distance for points).
        jet_pt: (N,) jet pT [GeV] (None for points).
        distance_source: how ``distance`` was obtained, for captions (:data:`STORED_EMD`,
            :data:`COMPUTED_EMD`, :data:`EUCLIDEAN`).
    """

    originals: np.ndarray
    mask: np.ndarray | None
    recon: np.ndarray
    mu: np.ndarray
    logvar: np.ndarray
    distance: np.ndarray
    jet_pt: np.ndarray | None
    distance_source: str = ""


def reconstruct_sample(model, inputs, beta: float,
                       stored_distance: np.ndarray | None = None) -> Reconstruction:
    """Encode and decode ``inputs`` at z = μ and ``beta`` on one thread.

    Args:
        model: the VAE.
        inputs: the sample as VAEInputs (``jetviz.vae.scan.prepare``).
        beta: β of encoder and decoder.
        stored_distance: (N,) the exact EMDs of this sample at ``beta`` looked up in the
            model's slider-EMD grid, or None to compute the distances now.
    """
    from jetviz.vae.scan import encode_decode, reconstruct

    with one_thread():
        if stored_distance is None:
            recon, mu, logvar, distance = reconstruct(model, inputs, beta)
            source = EUCLIDEAN if model.config.is_points else COMPUTED_EMD
        else:  # a lookup: decode only
            x_hat, mu_t, logvar_t, _ = encode_decode(model, inputs, beta)
            recon, mu, logvar = (t.cpu().numpy() for t in (x_hat, mu_t, logvar_t))
            distance, source = stored_distance, STORED_EMD
    return Reconstruction(
        originals=inputs.x.cpu().numpy(),
        mask=None if inputs.mask is None else inputs.mask.cpu().numpy(),
        recon=recon, mu=mu, logvar=logvar, distance=distance,
        jet_pt=None if inputs.jet_pt is None else inputs.jet_pt.cpu().numpy(),
        distance_source=source,
    )


def principal_directions(model, inputs, beta: float) -> dict:
    """{"pca": (D, D) principal directions of the μ, "pca_variance": (D,)}, largest first."""
    from jetviz.vae.scan import latent_directions

    with one_thread():
        found = latent_directions(model, inputs, beta)
    return {"pca": found["pca"], "pca_variance": found["pca_variance"]}


@dataclass(frozen=True)
class Walk:
    """A decoded latent path.

    Attributes:
        positions: (T,) positions along the path.
        jets: (T, P_out, 3) decoded jets, or (T, d) points.
        observables: name → (T,) mass [GeV], pT [GeV], τ21 of the decoded jets (x1, x2, …
            for points).
        x_title: what the position means (axis title).
    """

    positions: np.ndarray
    jets: np.ndarray
    observables: dict[str, np.ndarray]
    x_title: str

    @property
    def start_index(self) -> int:
        """The step at the start jet's own μ (position 0: the middle of a walk along a
        direction, the first step of a line)."""
        return int(np.argmin(np.abs(self.positions)))


def walk_geometry(kind: str, which: int, jet: int, mu: np.ndarray,
                  pca: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, str]:
    """Positions, target and axis title of a walk from jet ``jet``'s μ.

    Args:
        kind: "dimension" (``which`` = latent dimension), "principal" (``which`` = index of
            the principal direction in ``pca``) or "line" (``which`` = the end jet).
        which: see ``kind``.
        jet: index of the start jet.
        mu: (N, D) posterior means of the sample.
        pca: (D, D) principal directions (rows), needed for "principal".

    Returns:
        (positions (T,), target (D,): a unit direction, or the end point for "line",
        the position axis's title).
    """
    if kind not in WALK_KINDS:
        raise ValueError(f"walk kind must be one of {WALK_KINDS}, got {kind!r}")
    if kind == "line":
        return (np.linspace(0.0, 1.0, LINE_STEPS), mu[which],
                f"t along the line (0 = jet {jet}, 1 = jet {which})")
    positions = np.linspace(-WALK_SPAN, WALK_SPAN, WALK_STEPS)
    if kind == "dimension":
        return (positions, np.eye(mu.shape[1])[which],
                f"shift of z{which} from the jet's own μ [prior σ]")
    if pca is None:
        raise ValueError("a walk along a principal direction needs the directions (pca)")
    return positions, pca[which], f"shift along principal direction {which + 1} [prior σ]"


def decode_walk(model, rec: Reconstruction, jet: int, beta: float, kind: str, which: int,
                pca: np.ndarray | None = None) -> Walk:
    """Decode the path from jet ``jet`` of a reconstructed sample (see :func:`walk_geometry`)
    and measure the decoded jets (mass, pT, τ21; the coordinates for points)."""
    from jetviz.vae.scan import jet_observables, walk

    positions, target, x_title = walk_geometry(kind, which, jet, rec.mu, pca)
    end = {"z1": target} if kind == "line" else {"direction": target}
    with one_thread():
        path = walk(model, rec.mu[jet], positions, beta, **end)  # (T, P_out, 3) | (T, d)
    if model.config.is_points:
        obs = {f"x{k + 1}": path[:, k] for k in range(min(path.shape[1], 4))}
    else:
        pt = float(rec.jet_pt[jet])
        values = jet_observables(path, np.full(len(path), pt), model.config.radius)
        obs = {"mass": values["mass"], "pT": values["pt"], "τ21": values["tau21"]}
    return Walk(positions, path, obs, x_title)


def plateau_rows(record: dict, scales: dict[str, float]) -> list[dict]:
    """The D1-against-truth table of a finished point-model run, one dict per row."""
    from jetviz.figures.beta import format_beta
    from jetviz.vae.dimensionality import plateau_checks

    scan = record["scan"]
    rows = []
    for r in plateau_checks(np.asarray(scan["betas"]), np.asarray(scan["d1"]), scales):
        lo, hi = (format_beta(b, "") for b in r["window"])
        measured = r["median_d1"] if "median_d1" in r else r["max_excess"]
        rows.append({"β window": f"{lo} – {hi}", "true count": str(r["expected"]),
                     "D1": round(measured, 2), "goal met": "yes" if r["ok"] else "no"})
    return rows
