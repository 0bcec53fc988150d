"""The banana: a 2-D toy data set whose dimension depends on the scale you look at (talk 000).

Points lie on an arc of a circle (a curved 1-D band of length ``BANANA_LENGTH``) smeared
perpendicular to it by a Gaussian of standard deviation ``BANANA_THICKNESS``. Seen at a
resolution β:
  β ≪ thickness          the band is 2-dimensional            → D ≈ 2
  thickness ≪ β ≪ size   it is a 1-D curve                    → D ≈ 1
  β ≫ size               it is a point                        → D ≈ 0
A β-VAE with a 10-D latent and Euclidean reconstruction distance finds these plateaus in
D1(β) = −Σ_i d⟨KL_i⟩/d log β (see jetviz.latent).
"""

from __future__ import annotations

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
