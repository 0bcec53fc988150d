"""The principal-axis frame a whitened network works in (points, few-particle jets).

Vectors x (N, n) are mapped to y = ((x − centre) @ axesᵀ) / scale: centred, rotated onto their
principal axes (rows of ``axes``, by decreasing variance) and scaled to unit variance along
each, so a thin direction of the data is resolved to the same relative precision as a long
one. An axis whose standard deviation is below ``SCALE_FLOOR`` × the largest (a constant
coordinate, float rounding) keeps that floor, so it is not magnified into noise.
"""

from __future__ import annotations

import torch

SCALE_FLOOR = 1e-6  # smallest standard deviation kept, relative to the largest


@torch.no_grad()
def principal_frame(x: torch.Tensor, floor: float = SCALE_FLOOR
                    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(centre (n,), axes (n, n) rows, scale (n,)) of vectors x (N, n), in float64; no scale
    below ``floor`` × the largest."""
    centre = x.double().mean(0)
    _, sing, vt = torch.linalg.svd(x.double() - centre, full_matrices=False)
    std = sing / max(len(x) - 1, 1) ** 0.5
    return centre, vt, std.clamp_min(float(std.max()) * floor + 1e-30)


def to_frame(x: torch.Tensor, centre: torch.Tensor, axes: torch.Tensor,
             scale: torch.Tensor) -> torch.Tensor:
    """Vectors (..., n) in the whitened frame."""
    return ((x - centre) @ axes.T) / scale


def from_frame(y: torch.Tensor, centre: torch.Tensor, axes: torch.Tensor,
               scale: torch.Tensor) -> torch.Tensor:
    """Whitened vectors (..., n) back in the data's coordinates (the inverse of to_frame)."""
    return (y * scale) @ axes + centre
