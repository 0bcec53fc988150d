"""A jet's (η, φ) panel as an SVG picture, for the rows of jets the β page redraws.

A figure redrawn at every slider step is cheaper for the browser as one picture per panel (a
plotly layout image) than as a scatter trace, a cone and an axis cross per panel: Plotly then
builds no marker, shape or hover element (``benchmarks/beta_step.py`` prints the browser's
CPU time per step both ways). The picture is the event display of
:mod:`jetviz.figures.jet_display`, drawn the same way: marker **area ∝ pT** on Plotly's
``sizemode="area"`` scale (:func:`marker_diameters_px`), the same colours and 0.7 opacity,
the dashed cone of radius R and the + of the jet axis. Being vector graphics it stays sharp
at any size and under Plotly's zoom.

Vocabulary as in jetviz.jets: a jet is (P, 3) particles (ptrel, etarel, phirel), a mask (P,)
True for real particles; ``extent`` is the panel's half-width in η and φ.
"""

from __future__ import annotations

import base64

import numpy as np

PANEL_PX = 172  # the panel's size on screen that marker sizes refer to (β page: 4 in 940 px)
MARKER_OPACITY = 0.7
MARKER_LINE = ("#222222", 0.8)  # colour, width in px
CONE = ("#888888", 1.2, 5)  # colour, width and dash length in px
AXIS = ("#444444", 2)  # the jet axis cross: colour, width in px
AXIS_ARM = 0.05  # half-length of the cross, a fraction of the half-width (as jet_display)
SIZE_MIN_PX = 2.0  # plotly's sizemin of the markers


def real_particles(particles: np.ndarray, mask: np.ndarray | None) -> np.ndarray:
    """The (n, 3) real particles of one jet (mask, and ptrel > 0 when there is no mask)."""
    particles = np.asarray(particles, dtype=float)
    if particles.ndim != 2 or particles.shape[1] != 3:
        raise ValueError(f"expected one jet (P, 3), got shape {particles.shape}")
    keep = particles[:, 0] > 0 if mask is None else np.asarray(mask, bool)
    return particles[keep]


def marker_diameters_px(ptrel: np.ndarray, max_marker_px: float) -> np.ndarray:
    """Diameters of area-∝-pT markers as plotly draws ``sizemode="area"`` with
    ``sizeref = 2 / max_marker_px²`` and ``sizemin = 2``: √(ptrel / sizeref), at least 2 px."""
    return np.maximum(np.sqrt(np.clip(ptrel, 0.0, None) * max_marker_px**2 / 2.0), SIZE_MIN_PX)


def jet_svg(particles: np.ndarray, mask: np.ndarray | None, *, extent: float, radius: float,
            colour: str, max_marker_px: float, panel_px: int = PANEL_PX) -> str:
    """One jet's (η, φ) panel as SVG text, ``panel_px`` square: η left to right, φ upwards.

    Args:
        particles: (P, 3) (ptrel, etarel, phirel).
        mask: (P,) True for real particles; None keeps the rows with ptrel > 0.
        extent: half-width of the panel in η and φ.
        radius: jet radius R (the dashed circle).
        colour: the markers' fill colour.
        max_marker_px: diameter of a particle carrying all of the jet's pT.
        panel_px: the picture's size in px (marker sizes are px of a panel this size).

    Returns:
        An ``<svg>`` element: a dashed ``circle`` (the cone), a ``path`` (the axis) and one
        ``circle`` per real particle, in the particles' order.
    """
    real = real_particles(particles, mask)
    if not extent > 0:
        raise ValueError(f"extent must be positive, got {extent}")
    per_unit = panel_px / (2 * extent)  # px per unit of η or φ
    centre = panel_px / 2
    cone_colour, cone_width, dash = CONE
    axis_colour, axis_width = AXIS
    arm = AXIS_ARM * extent * per_unit
    line_colour, line_width = MARKER_LINE
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{panel_px}" height="{panel_px}" '
        f'viewBox="0 0 {panel_px} {panel_px}">',
        f'<circle cx="{centre:g}" cy="{centre:g}" r="{radius * per_unit:.2f}" fill="none" '
        f'stroke="{cone_colour}" stroke-width="{cone_width}" stroke-dasharray="{dash} {dash}"/>',
        f'<path d="M{centre - arm:.2f} {centre:g}H{centre + arm:.2f}M{centre:g} '
        f'{centre - arm:.2f}V{centre + arm:.2f}" stroke="{axis_colour}" '
        f'stroke-width="{axis_width}"/>',
        # each marker is translucent on its own (as plotly's marker opacity), not the group
        f'<g fill="{colour}" stroke="{line_colour}" stroke-width="{line_width}">',
    ]
    xs = centre + real[:, 1] * per_unit
    ys = centre - real[:, 2] * per_unit
    for x, y, d in zip(xs, ys, marker_diameters_px(real[:, 0], max_marker_px), strict=True):
        parts.append(f'<circle cx="{x:.2f}" cy="{y:.2f}" r="{d / 2:.2f}" '
                     f'opacity="{MARKER_OPACITY}"/>')
    parts.append("</g></svg>")
    return "".join(parts)


def svg_data_uri(svg: str) -> str:
    """SVG text as a ``data:image/svg+xml;base64,...`` URI (a plotly layout image's source)."""
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode("ascii")
