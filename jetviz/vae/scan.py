"""What a trained β-VAE has learnt, as a function of β (talk 000, Collins).

* :func:`beta_scan` — on a fine log grid of β: the mean KL of every latent dimension
  ⟨KL_i⟩(β) (nats), the mean reconstruction distance with z sampled from the posterior
  ⟨d⟩, ⟨d²⟩ (GeV, GeV² for EMD models), the distance with z = μ, and the dimensionalities

      D1(β) = −Σ_i d⟨KL_i⟩/d log β,        D2(β) = d⟨d²⟩/d(β²).

  Computed once per model (``jetviz train`` stores it in the checkpoint); a slider only reads it.
* :func:`reconstruct` — what a β-slider move recomputes for a sample of jets: encoder
  means at that β, their decodings (z = μ) and the exact EMD of each jet to its
  reconstruction (:func:`jetviz.emd.exact_emd_torch` on every core); :func:`encode_decode`
  is the same without the EMD (the shipped models' EMDs are stored, see
  :mod:`jetviz.vae.slider_emd`).
* :func:`latent_directions` and :func:`walk` — unit latent directions (single dimensions
  ordered by KL at β, principal directions of the latent means) and decoded jets along a
  path through latent space.
* :func:`jet_observables` — mass, pT, τ21, ... of decoded or prepared jets
  (jetviz.physics.observables).

Vocabulary: ``jets`` is a JetSet, toy points (N, d) or prepared
:class:`~jetviz.vae.inputs.VAEInputs`; decoded jets are (N, P_out, 3) = (ptrel, etarel,
phirel) in the prepared frame, decoded points (N, d); latent means μ and log-variances are
(N, D); β is in GeV for jets (data units for points) and becomes the models' log β input
through :func:`jetviz.vae.model.log_beta_column`.

D1 and D2 are defined in :mod:`jetviz.vae.dimensionality` (Savitzky–Golay derivatives in log β),
with their bootstrap bands, the reconstruction floor and the count of redundant directions
that the scan stores beside them.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np
import torch

from jetviz.errors import JetvizInputError
from jetviz.jets import JetSet
from jetviz.vae.dimensionality import (
    bootstrap_bands,
    dimensionalities,
    independent_directions,
    reconstruction_floor,
)
from jetviz.vae.inputs import VAEInputs, as_inputs
from jetviz.vae.losses import emd_exact, kl_per_dim
from jetviz.vae.model import BetaVAE, PointVAE, VAEConfig, log_beta_column, nearest_beta_index

DECODED_PTREL_MIN = 1e-4  # decoded particles carrying less pT fraction count as absent

Model = BetaVAE | PointVAE


@dataclass(frozen=True)
class BetaScan:
    """Per-β quantities of one model, on a log grid (n = number of β values, D = latent dim).

    Attributes:
        betas: (n,) β values, ascending (GeV for jets, data units for the toy).
        kl_per_dim: (n, D) mean KL of each latent dimension over the examples (nats).
        distance: (n,) mean reconstruction distance with z ~ q(z|x) (GeV: EMD).
        distance2: (n,) mean squared distance with z ~ q(z|x) (GeV²).
        distance_at_mean: (n,) mean distance with z = μ (what the reconstructions show).
        d1: (n,) D1 = −Σ_i d⟨KL_i⟩/d log β.
        d2: (n,) D2 = d⟨d²⟩/d(β²).
        n_examples: how many examples were averaged.
        units: "GeV" for jets, "data units" for the toy.
        d1_lo, d1_hi, d2_lo, d2_hi: (n,) 16–84 % bootstrap bands over the examples
            (:func:`jetviz.vae.dimensionality.bootstrap_bands`); None in scans made before them.
        floor: the reconstruction floor δ: the best mean distance to the reconstruction at
            z = μ over the grid, by exact EMD for jets; D1 below β = δ does not count data
            dimensions (:func:`jetviz.vae.dimensionality.reconstruction_floor`).
        n_active: (n,) latent dimensions with ⟨KL_i⟩ > ACTIVE_KL at each β.
        n_directions: (n,) distinct directions among them (redundant copies merged,
            :func:`jetviz.vae.dimensionality.independent_directions`).
    """

    betas: np.ndarray
    kl_per_dim: np.ndarray
    distance: np.ndarray
    distance2: np.ndarray
    distance_at_mean: np.ndarray
    d1: np.ndarray
    d2: np.ndarray
    n_examples: int
    units: str
    d1_lo: np.ndarray | None = None
    d1_hi: np.ndarray | None = None
    d2_lo: np.ndarray | None = None
    d2_hi: np.ndarray | None = None
    floor: float | None = None
    n_active: np.ndarray | None = None
    n_directions: np.ndarray | None = None

    @property
    def kl_total(self) -> np.ndarray:
        """(n,) Σ_i ⟨KL_i⟩."""
        return self.kl_per_dim.sum(1)

    def to_dict(self) -> dict:
        """JSON-ready (lists of floats)."""
        return {k: (v.tolist() if isinstance(v, np.ndarray) else v)
                for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, values: dict) -> BetaScan:
        """Rebuild from :meth:`to_dict` (as stored in a checkpoint's record["scan"])."""
        if not values:
            raise JetvizInputError("this checkpoint stores no β scan; retrain it with "
                                   "`jetviz train` (it scans after training)")
        scalars = ("n_examples", "units", "floor")
        arrays = {k: np.asarray(v, dtype=np.float64) for k, v in values.items()
                  if k not in scalars and k in cls.__dataclass_fields__ and v is not None}
        floor = values.get("floor")
        return cls(**arrays, n_examples=int(values["n_examples"]), units=str(values["units"]),
                   floor=None if floor is None else float(floor))

    @property
    def has_bands(self) -> bool:
        """True when the scan stores D1/D2 bands, the floor and the direction counts."""
        return self.d1_lo is not None and self.floor is not None and self.n_active is not None

    def index_of(self, beta: float) -> int:
        """Index of the grid β nearest to ``beta`` in log β."""
        return nearest_beta_index(self.betas, beta)


# β values per decade of a stored scan made by `jetviz train`: D1 is a derivative taken by local
# quadratic fits over 7 grid points (jetviz.vae.dimensionality), 0.3 decades at this density.
# At 10 per decade the fits spanned 0.6 decades and smeared a direction's switch-off: for an
# ideal β-VAE (KL = log(σ/β) below β = σ, 0 above) jet family A's 1-window read 0.92 instead
# of 1 (benchmarks/d1_jet_family.py prints both), and one trained model of that family 0.70
# on 61 β and 0.81 on 121 (the same model rescanned, `jetviz train --rescan --scan-points`).
SCAN_POINTS_PER_DECADE = 20


def scan_points_for(config: VAEConfig) -> int:
    """Grid points of a stored scan: ``SCAN_POINTS_PER_DECADE`` per decade of the β range."""
    lo, hi = config.log_beta_range()
    return round(SCAN_POINTS_PER_DECADE * (hi - lo) / math.log(10)) + 1


def log_beta_grid(config: VAEConfig, n: int = 60) -> np.ndarray:
    """(n,) log β evenly spaced over [log beta_min, log beta_max]."""
    lo, hi = config.log_beta_range()
    return np.linspace(lo, hi, n)


def _device(model: Model) -> torch.device:
    return next(model.parameters()).device


def _distance(model: Model, inputs: VAEInputs, x_hat: torch.Tensor) -> torch.Tensor:
    """(B,) reconstruction distance: Euclidean (toy) or the exact EMD in GeV (jets)."""
    config = model.config
    if config.is_points:
        return (inputs.x - x_hat).square().sum(-1).sqrt()
    # in float64, so the EMD shown is the exact one to the last digit
    return emd_exact(inputs.x.double(), inputs.mask, x_hat.double(), inputs.jet_pt.double(),
                     config, n_jobs=_cores())


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


@torch.inference_mode()
def beta_scan(model: Model, jets: JetSet | np.ndarray | VAEInputs, log_betas: np.ndarray,
              seed: int = 0, batch_size: int = 1000,
              on_beta: Callable[[int, int], None] | None = None) -> BetaScan:
    """Scan a model over β: per-dimension KL, reconstruction distances, D1 and D2.

    The same latent noise (seeded) is used at every β, so the curves are smooth in β.

    Args:
        model: a trained model.
        jets: examples (a JetSet, toy points (N, 2), or prepared VAEInputs).
        log_betas: (n,) uniformly spaced log β (see :func:`log_beta_grid`).
        seed: seeds the latent noise.
        batch_size: examples per forward pass.
        on_beta: called as ``on_beta(done, total)`` after each β (progress for the app).

    Returns:
        The BetaScan.
    """
    model.eval()
    config = model.config
    inputs = as_inputs(jets, config).to(_device(model))
    n = len(inputs)
    noise = torch.randn((n, config.latent_dim), generator=torch.Generator().manual_seed(seed))
    noise = noise.to(_device(model))
    log_betas = np.asarray(log_betas, dtype=np.float64)
    kl_rows, kl_ex, d_ex, dm_ex, n_active, n_directions = [], [], [], [], [], []
    for k, lb in enumerate(log_betas):
        kl_parts, d_parts, dm_parts, mu_parts = [], [], [], []
        for start in range(0, n, batch_size):
            part = inputs.subset(slice(start, start + batch_size))
            log_beta = torch.full((len(part),), float(lb), device=part.x.device)
            mu, logvar = model.encode(part.x, part.mask, log_beta)
            kl_parts.append(kl_per_dim(mu, logvar).double().cpu())
            z = mu + torch.exp(0.5 * logvar) * noise[start:start + batch_size]
            d_parts.append(_distance(model, part, model.decode(z, log_beta)).double())
            dm_parts.append(_distance(model, part, model.decode(mu, log_beta)).double())
            mu_parts.append(mu.double().cpu())
        kl_i = torch.cat(kl_parts).numpy()  # (n, D)
        kl_rows.append(kl_i.mean(0))
        kl_ex.append(kl_i.sum(1))
        d_ex.append(torch.cat(d_parts).cpu().numpy())
        dm_ex.append(torch.cat(dm_parts).cpu().numpy())
        groups = independent_directions(torch.cat(mu_parts).numpy(), kl_rows[-1])
        n_active.append(sum(len(g) for g in groups))
        n_directions.append(len(groups))
        if on_beta is not None:
            on_beta(k + 1, len(log_betas))
    kl = np.stack(kl_rows)
    d = np.stack(d_ex)  # (n_beta, n)
    dist_mean = np.stack(dm_ex).mean(1)
    d1, d2 = dimensionalities(log_betas, kl, (d**2).mean(1))
    bands = bootstrap_bands(log_betas, np.stack(kl_ex), d**2, np.random.default_rng(seed))
    return BetaScan(betas=np.exp(log_betas), kl_per_dim=kl, distance=d.mean(1),
                    distance2=(d**2).mean(1), distance_at_mean=dist_mean,
                    d1=d1, d2=d2, n_examples=n,
                    units="GeV" if config.data == "jets" else "data units", **bands,
                    floor=reconstruction_floor(dist_mean),
                    n_active=np.asarray(n_active, dtype=np.float64),
                    n_directions=np.asarray(n_directions, dtype=np.float64))


def prepare(model: Model, jets: JetSet | np.ndarray | VAEInputs) -> VAEInputs:
    """Prepared inputs for ``model`` (cache these: preparing costs more than a slider move).

    For jets ``inputs.x`` are the prepared (centred, rotated, flipped, renormalised) particles
    that reconstructions are compared with and should be shown beside them. The inputs keep
    the encoder's β-independent set features of the last model used with them, so a
    β-slider move on the same inputs re-runs only the β-dependent part.
    """
    return as_inputs(jets, model.config).to(_device(model))


def _encode_cached(model: Model, inputs: VAEInputs,
                   log_beta: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """encode(), reusing the β-independent pooled features stored in ``inputs.cache``."""
    if not isinstance(model, BetaVAE):
        return model.encode(inputs.x, inputs.mask, log_beta)
    key = ("features", id(model))
    if key not in inputs.cache:
        inputs.cache.clear()  # one model at a time: keep memory bounded
        inputs.cache[key] = model.features(inputs.x, inputs.mask)
    return model.encode_features(inputs.cache[key], log_beta)


@torch.inference_mode()
def encode_decode(model: Model, jets: JetSet | np.ndarray | VAEInputs, beta: float
                  ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, VAEInputs]:
    """Encoder means at β and their decodings (z = μ): (x_hat, mu, logvar, inputs) as tensors."""
    model.eval()
    inputs = prepare(model, jets)
    log_beta = log_beta_column(beta, len(inputs), inputs.x.device)
    mu, logvar = _encode_cached(model, inputs, log_beta)
    return model.decode(mu, log_beta), mu, logvar, inputs


@torch.inference_mode()
def reconstruct(model: Model, jets: JetSet | np.ndarray | VAEInputs, beta: float
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Reconstruct examples at one β with z = μ (what a β-slider move recomputes).

    Args:
        model: a trained model.
        jets: a JetSet, toy points (N, 2), or (fastest) VAEInputs from :func:`prepare`.
        beta: β in GeV (data units for the toy).

    Returns:
        recon (N, P_out, 3) decoded particles (toy: (N, 2)), mu (N, D), logvar (N, D), and
        distance (N,) from each example to its reconstruction: the exact EMD in GeV
        (:func:`jetviz.emd.exact_emd_torch`, on every core); Euclidean for the toy.
    """
    x_hat, mu, logvar, inputs = encode_decode(model, jets, beta)
    dist = _distance(model, inputs, x_hat)
    return (x_hat.cpu().numpy(), mu.cpu().numpy(), logvar.cpu().numpy(), dist.cpu().numpy())


@torch.inference_mode()
def latent_directions(model: Model, jets: JetSet | np.ndarray | VAEInputs, beta: float) -> dict:
    """Directions to walk along at β.

    Returns:
        dict with
        ``order`` (D,) latent dimensions sorted by mean KL at β, most informative first;
        ``kl`` (D,) mean KL_i at β (nats, in latent-index order);
        ``dims`` (D, D) unit vectors e_i, rows in ``order``;
        ``pca`` (D, D) principal directions of the latent means μ (rows, unit, by variance);
        ``pca_variance`` (D,) the variance of μ along each;
        ``mu_mean`` (D,) and ``mu_std`` (D,) of the latent means;
        ``mu`` (N, D) the latent means of the examples (for picking start and end points).
    """
    model.eval()
    inputs = prepare(model, jets)
    log_beta = log_beta_column(beta, len(inputs), inputs.x.device)
    mu, logvar = _encode_cached(model, inputs, log_beta)
    kl = kl_per_dim(mu, logvar).mean(0).cpu().numpy().astype(np.float64)
    mu_np = mu.cpu().numpy().astype(np.float64)
    order = np.argsort(-kl, kind="stable")
    eye = np.eye(model.config.latent_dim)
    centred = mu_np - mu_np.mean(0)
    _, sing, vt = np.linalg.svd(centred, full_matrices=False)
    variance = sing**2 / max(len(mu_np) - 1, 1)
    return {"order": order, "kl": kl, "dims": eye[order], "pca": vt, "pca_variance": variance,
            "mu_mean": mu_np.mean(0), "mu_std": mu_np.std(0), "mu": mu_np}


@torch.inference_mode()
def walk(model: Model, z0: np.ndarray, positions: np.ndarray, beta: float, *,
         direction: np.ndarray | None = None, z1: np.ndarray | None = None) -> np.ndarray:
    """Decode points along a straight path in latent space.

    Exactly one of ``direction`` and ``z1`` is given: z(t) = z0 + t·direction (t in latent
    units, i.e. prior standard deviations along a unit direction), or z(t) = z0 + t·(z1 − z0)
    (t = 0 at z0, 1 at z1).

    Args:
        model: a trained model.
        z0: (D,) start.
        positions: (T,) values of t.
        beta: β the decoder is conditioned on (GeV; data units for the toy).
        direction: (D,) direction (used as given; pass a unit vector for latent units).
        z1: (D,) end point.

    Returns:
        (T, P_out, 3) decoded particles ((T, 2) for the toy).
    """
    if (direction is None) == (z1 is None):
        raise ValueError("walk: give exactly one of direction and z1")
    z0 = np.asarray(z0, dtype=np.float32)
    step = np.asarray(direction if direction is not None else np.asarray(z1) - z0, np.float32)
    if z0.shape != (model.config.latent_dim,) or step.shape != z0.shape:
        raise JetvizInputError(f"walk: z0 and the direction must be ({model.config.latent_dim},),"
                               f" got {z0.shape} and {step.shape}")
    t = np.asarray(positions, dtype=np.float32).reshape(-1, 1)
    z = torch.from_numpy(z0[None, :] + t * step[None, :]).to(_device(model))
    log_beta = log_beta_column(beta, len(z), z.device)
    return model.decode(z, log_beta).cpu().numpy()


def jet_observables(particles: np.ndarray, jet_pt: np.ndarray | float, radius: float = 0.8,
                    mask: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Observables (mass, pt, eta, phi, multiplicity, tau1..3, tau21, tau32) of jets.

    Args:
        particles: (..., P, 3) prepared or decoded particles.
        jet_pt: (...,) or scalar jet pT in GeV that ptrel refers to.
        radius: jet radius R.
        mask: (..., P) real particles; default: particles with ptrel > DECODED_PTREL_MIN
            (the decoder's softmax is never exactly 0).

    Returns:
        The dict of :func:`jetviz.physics.observables` ((...,) arrays).
    """
    from jetviz.physics import observables

    particles = np.asarray(particles, dtype=np.float64)
    if mask is None:
        mask = particles[..., 0] > DECODED_PTREL_MIN
    return observables(particles, mask, jet_pt, radius)
