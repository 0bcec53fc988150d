"""Event features of the theory map: raw events → the standardised features a network sees.

Vocabulary
----------
An **event** is the 18 numbers of ``jetviz.events.EVENT_FEATURES`` (four leading R = 0.4 jets
(pT, η, φ, m) and MET, φ_MET; GeV); a batch of events is (…, 18). Before a network sees it, it
becomes the 18 **standardised features** of ``STANDARDISED_FEATURES``: log(1 + pT/GeV) and
log(1 + m/GeV) for jets and MET, η as is, and every φ as Δφ to the leading jet (the physics
does not change under a global rotation in φ, so absolute φ carries no information), then
shifted and scaled by a ``Scaler`` fitted on the training events and stored in every
checkpoint. Absent jets (pT = 0) are padding: their Δφ is 0.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from jetviz.errors import JetvizInputError
from jetviz.events import EVENT_FEATURES
from jetviz.physics import wrap_phi

STANDARDISED_FEATURES: tuple[str, ...] = (
    *(f"j{j}_{v}" for j in range(1, 5) for v in ("log1p_pt", "eta", "dphi", "log1p_m")),
    "log1p_met",
    "met_dphi",
)
MET_COLUMN, J1_PT_COLUMN = EVENT_FEATURES.index("met"), EVENT_FEATURES.index("j1_pt")


def physics_features(features: np.ndarray) -> np.ndarray:
    """(…, 18) raw event features → (…, 18) features in the order of STANDARDISED_FEATURES.

    Jets that are absent (pT = 0) get Δφ = 0, so padding stays a fixed point.
    """
    f = np.asarray(features, dtype=np.float64)
    if f.shape[-1] != len(EVENT_FEATURES):
        raise JetvizInputError(f"expected events (…, {len(EVENT_FEATURES)}), got {f.shape}")
    out = np.empty_like(f)
    phi1 = f[..., 2]
    for j in range(4):
        pt, eta, phi, m = (f[..., 4 * j + k] for k in range(4))
        out[..., 4 * j] = np.log1p(np.maximum(pt, 0))
        out[..., 4 * j + 1] = eta
        out[..., 4 * j + 2] = np.where(pt > 0, wrap_phi(phi - phi1), 0.0)
        out[..., 4 * j + 3] = np.log1p(np.maximum(m, 0))
    out[..., 16] = np.log1p(np.maximum(f[..., 16], 0))
    out[..., 17] = wrap_phi(f[..., 17] - phi1)
    return out


@dataclass(frozen=True)
class Scaler:
    """Per-feature shift and scale of the physics features (stored in the checkpoint)."""

    mean: tuple[float, ...]
    std: tuple[float, ...]

    @classmethod
    def fit(cls, features: np.ndarray) -> Scaler:
        """Fit on raw (N, 18) events; constant columns (Δφ of the leading jet) get scale 1."""
        x = physics_features(features)
        std = x.std(axis=0)
        std[std < 1e-6] = 1.0  # constant column: keep it at 0 instead of dividing by 0
        return cls(tuple(map(float, x.mean(axis=0))), tuple(map(float, std)))

    @classmethod
    def from_dict(cls, d: dict) -> Scaler:
        """Inverse of ``dataclasses.asdict`` (as stored in a checkpoint's JSON)."""
        return cls(tuple(map(float, d["mean"])), tuple(map(float, d["std"])))

    def transform(self, features: np.ndarray) -> np.ndarray:
        """Raw (…, 18) events → standardised (…, 18) float32."""
        x = (physics_features(features) - np.asarray(self.mean)) / np.asarray(self.std)
        return x.astype(np.float32)


ETA_COLUMNS = (1, 5, 9, 13)  # η of the four jets in STANDARDISED_FEATURES
DPHI_COLUMNS = (2, 6, 10, 14, 17)  # Δφ of jets 1-4 and of MET to the leading jet


def mirror_events(x: torch.Tensor, scaler: Scaler, generator: torch.Generator) -> torch.Tensor:
    """Reflect each event at random in η (η → −η) and, independently, in φ (Δφ → −Δφ).

    Both reflections are symmetries of a pp collision, so a mirrored event is as likely as
    the event itself in every theory: a free data augmentation. Works on standardised
    features: a reflected column c becomes ``−x − 2·mean_c/std_c``.

    Args:
        x: (B, N, 18) standardised events.
        scaler: the scaler that standardised them.
        generator: torch random generator.

    Returns:
        (B, N, 18) mirrored events.
    """
    shift = torch.as_tensor(np.asarray(scaler.mean) / np.asarray(scaler.std), dtype=x.dtype)
    sign = torch.ones_like(x)
    for cols in (ETA_COLUMNS, DPHI_COLUMNS):
        flip = torch.rand(*x.shape[:-1], 1, generator=generator) < 0.5  # (B, N, 1)
        sign[..., list(cols)] = torch.where(flip, -1.0, 1.0).to(x.dtype)
    return sign * x + (sign - 1) * shift

