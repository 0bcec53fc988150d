"""Toy manifolds whose dimension depends on the scale you look at (talk 000).

The banana:

Points lie on an arc of a circle (a curved 1-D band of length ``BANANA_LENGTH``) smeared
perpendicular to it by a Gaussian of standard deviation ``BANANA_THICKNESS``. Seen at a
resolution β:
  β ≪ thickness          the band is 2-dimensional            → D ≈ 2
  thickness ≪ β ≪ size   it is a 1-D curve                    → D ≈ 1
  β ≫ size               it is a point                        → D ≈ 0
A β-VAE with a 10-D latent and Euclidean reconstruction distance finds these plateaus in
D1(β) = −Σ_i d⟨KL_i⟩/d log β (see jetviz.vae.scan).

Beside it, for testing the count on manifolds it was not tuned on: a straight ``strip``
(2 scales, 400× apart) and a 3-D ``ribbon`` (3 scales, 30× and 100× apart). ``TOYS`` lists the
families with their scales; any (N, d) points file trains the same way (``jetviz train --data
points.npy``). Points are (N, d) float32 in data units; distances are Euclidean.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

BANANA_RADIUS = 3.0  # radius of the arc (data units)
BANANA_ANGLE = 2.0  # opening angle of the arc (radians)
BANANA_LENGTH = BANANA_RADIUS * BANANA_ANGLE  # arc length: the banana's size (6.0)
BANANA_THICKNESS = 0.05  # Gaussian standard deviation across the band


def banana(n: int, rng: np.random.Generator, thickness: float = BANANA_THICKNESS,
           radius: float = BANANA_RADIUS, angle: float = BANANA_ANGLE) -> np.ndarray:
    """``n`` points (n, 2) of the banana, centred on the origin.

    Args:
        n: number of points.
        rng: the random generator to draw from.
        thickness: standard deviation of the Gaussian smearing across the arc.
        radius: radius of the arc.
        angle: opening angle of the arc, radians; the arc length is radius × angle.

    Returns:
        (n, 2) float32 points; the arc runs symmetric about the y axis and the point cloud's
        mean is subtracted so the data are centred.
    """
    if n < 1 or thickness < 0 or radius <= 0 or angle <= 0:
        raise ValueError(f"banana: need n ≥ 1, thickness ≥ 0, radius, angle > 0; got "
                         f"{n=}, {thickness=}, {radius=}, {angle=}")
    theta = rng.uniform(-angle / 2, angle / 2, size=n) + np.pi / 2
    r = radius + thickness * rng.standard_normal(n)
    points = np.stack([r * np.cos(theta), r * np.sin(theta)], axis=-1)
    centre = np.array([0.0, radius * np.sin(angle / 2) / (angle / 2)])  # mean of the arc
    return (points - centre).astype(np.float32)


STRIP_LENGTH = 8.0  # the strip's length (data units)
STRIP_THICKNESS = 0.02  # Gaussian standard deviation across it: 400× thinner than long
STRIP_ANGLE = 0.5  # radians: the strip lies rotated, so no latent axis is handed its direction
RIBBON_SCALES = (12.0, 0.4, 0.004)  # length, width (uniform), thickness (Gaussian σ)


def _rotation(dim: int, seed: int) -> np.ndarray:
    """A fixed random rotation (dim, dim), so the data's axes are not the coordinate axes."""
    q, r = np.linalg.qr(np.random.default_rng(seed).standard_normal((dim, dim)))
    return q * np.sign(np.diag(r))


def strip(n: int, rng: np.random.Generator, length: float = STRIP_LENGTH,
          thickness: float = STRIP_THICKNESS, angle: float = STRIP_ANGLE) -> np.ndarray:
    """``n`` points (n, 2) of a straight strip: uniform along ``length``, Gaussian across.

    Seen at resolution β it is 2-D below ``thickness``, 1-D up to ``length``, a point above.
    """
    if n < 1 or thickness < 0 or length <= 0:
        raise ValueError(f"strip: need n ≥ 1, thickness ≥ 0, length > 0; got {n=}, "
                         f"{thickness=}, {length=}")
    along = rng.uniform(-length / 2, length / 2, size=n)
    across = thickness * rng.standard_normal(n)
    c, s = np.cos(angle), np.sin(angle)
    return np.stack([c * along - s * across, s * along + c * across], -1).astype(np.float32)


def ribbon(n: int, rng: np.random.Generator,
           scales: tuple[float, float, float] = RIBBON_SCALES) -> np.ndarray:
    """``n`` points (n, 3) of a flat ribbon: three scales, so D1 steps 3 → 2 → 1 → 0.

    Uniform along its length and width, Gaussian (σ = thickness) across, rotated by a fixed
    random rotation.
    """
    length, width, thickness = scales
    if n < 1 or not length > width > thickness >= 0:
        raise ValueError(f"ribbon: need n ≥ 1 and length > width > thickness ≥ 0; got {n=}, "
                         f"{scales=}")
    local = np.stack([rng.uniform(-length / 2, length / 2, n),
                      rng.uniform(-width / 2, width / 2, n),
                      thickness * rng.standard_normal(n)], -1)
    return (local @ _rotation(3, 7).T).astype(np.float32)


@dataclass(frozen=True)
class ToyFamily:
    """A toy manifold with known scales (what D1 should count between them).

    Attributes:
        name: the family's name (``jetviz train --toy NAME``).
        dim: dimension of the points.
        scales: the data's length scales by name, smallest first.
        beta_range: (β_min, β_max) that brackets every scale.
        draw: ``draw(n, rng)`` → (n, dim) float32 points with the default scales.
    """

    name: str
    dim: int
    scales: dict[str, float]
    beta_range: tuple[float, float]
    draw: Callable[[int, np.random.Generator], np.ndarray]

    def expected_d(self, beta: np.ndarray) -> np.ndarray:
        """The true count at β: how many scales exceed β (dimension dim below all of them)."""
        return (np.asarray(list(self.scales.values()))[None, :]
                > np.asarray(beta, dtype=float)[:, None]).sum(1)


TOYS = {
    "banana": ToyFamily("banana", 2, {"thickness": BANANA_THICKNESS, "size": BANANA_LENGTH},
                        (4e-3, 40.0), banana),
    "strip": ToyFamily("strip", 2, {"thickness": STRIP_THICKNESS, "length": STRIP_LENGTH},
                       (2e-3, 80.0), strip),
    "ribbon": ToyFamily("ribbon", 3, {"thickness": RIBBON_SCALES[2], "width": RIBBON_SCALES[1],
                                      "length": RIBBON_SCALES[0]}, (3e-4, 100.0), ribbon),
}
