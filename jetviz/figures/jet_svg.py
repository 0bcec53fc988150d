"""A jet's (η, φ) panel as an SVG picture, and the β page's rows of jets as one picture each.

A figure redrawn at every slider step is cheaper for the browser as one picture per panel (a
plotly layout image) than as a scatter trace, a cone and an axis cross per panel: Plotly then
builds no marker, shape or hover element (``benchmarks/beta_step.py`` prints the browser's
CPU time per step both ways). The β page goes one step further: each row of jets is one SVG
picture (:func:`jet_row_svg`, panels, titles, ticks and grid drawn here), which the browser
shows as an image, with no Plotly work at all; its panels had no hover to lose. The picture
is the event display of :mod:`jetviz.figures.jet_display`, drawn the same way: marker
**area ∝ pT** on Plotly's ``sizemode="area"`` scale (:func:`marker_diameters_px`), the same
colours and 0.7 opacity, the dashed cone of radius R and the + of the jet axis. Being vector
graphics it stays sharp at any size.

Vocabulary as in jetviz.jets: a jet is (P, 3) particles (ptrel, etarel, phirel), a mask (P,)
True for real particles; ``extent`` is the panel's half-width in η and φ.
"""

from __future__ import annotations

import base64
import math
from xml.sax.saxutils import escape

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


# The β page's rows: plotly_white's look (jetviz.figures.style) drawn as plain SVG.
TEXT = ("#2a3f5f", "Open Sans, verdana, arial, sans-serif")  # colour, font family
GRID, FRAME = "#ebf0f8", "#c8d4e3"  # plotly_white's grid and axis-line colours
ROW_MARGINS = (70, 30)  # left (φ ticks and title), right; px
ROW_GAP_PX = 20  # the smallest gap between panels


def tick_values(extent: float, target: int = 4) -> np.ndarray:
    """Round tick positions inside [−extent, extent]: a step of 1, 2, 2.5 or 5 × 10^k giving
    the number of intervals closest to ``target`` (as an axis with ``nticks`` ≈ 5)."""
    if not extent > 0:
        raise ValueError(f"extent must be positive, got {extent}")
    magnitude = 10.0 ** math.floor(math.log10(2 * extent / target))
    step = min((m * magnitude for m in (1, 2, 2.5, 5, 10)),
               key=lambda step: abs(2 * extent / step - target))
    first, last = math.ceil(-extent / step - 1e-9), math.floor(extent / step + 1e-9)
    return np.round(np.arange(first, last + 1) * step, 10)


def jet_row_svg(jets: np.ndarray, masks: np.ndarray | None, title: str, *, extent: float,
                radius: float, colour: str, panel_titles: list[str],
                axis_titles: tuple[str, str], max_marker_px: float,
                width: int = 900) -> str:
    """A row of K jets' panels as one SVG picture, ``width`` px wide: a title, a title above
    each panel, and the panels on one scale (half-width ``extent``) with grid, ticks and axis
    titles; markers as :func:`jet_svg` (area ∝ pT, ``max_marker_px`` across for a 172-px
    panel, scaled with the panel).

    Args:
        jets: (K, P, 3) jets (ptrel, etarel, phirel).
        masks: (K, P) True for real particles, or None (rows with ptrel > 0).
        title: the row's title.
        extent: half-width of every panel in η and φ.
        radius: jet radius R (the dashed circles).
        colour: the markers' fill colour.
        panel_titles: (K,) a title above each panel.
        axis_titles: the horizontal and vertical axes' titles (plain text).
        max_marker_px: marker diameter of a particle carrying all of a jet's pT.
        width: the picture's width in px.

    Returns:
        An ``<svg>`` element with one nested ``<svg>`` panel per jet (from :func:`jet_svg`).
    """
    k = len(jets)
    if k < 1 or len(panel_titles) != k:
        raise ValueError(f"expected at least one jet and a title each, got {k} jets and "
                         f"{len(panel_titles)} titles")
    left, right = ROW_MARGINS
    panel = int(min(PANEL_PX, (width - left - right - (k - 1) * ROW_GAP_PX) / k))
    gap = (width - left - right - k * panel) / max(k - 1, 1)
    top = 62  # the row title and the panel titles
    height = top + panel + 48  # tick labels and the axis title below
    colour_text, font = TEXT
    ticks = tick_values(extent)
    per_unit = panel / (2 * extent)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" font-family="{font}" fill="{colour_text}">',
             f'<rect width="{width}" height="{height}" fill="white"/>',
             f'<text x="{left}" y="24" font-size="17">{escape(title)}</text>']
    for j in range(k):
        x0 = left + j * (panel + gap)
        grid = "".join(f"M{x0 + (t + extent) * per_unit:.1f} {top}v{panel}"
                       f"M{x0} {top + (extent - t) * per_unit:.1f}h{panel}" for t in ticks)
        parts += [
            f'<text x="{x0 + panel / 2:.1f}" y="{top - 10}" font-size="13" '
            f'text-anchor="middle">{escape(panel_titles[j])}</text>',
            f'<path d="{grid}" stroke="{GRID}"/>',
            f'<rect x="{x0:.1f}" y="{top}" width="{panel}" height="{panel}" fill="none" '
            f'stroke="{FRAME}"/>',
            jet_svg(jets[j], None if masks is None else masks[j], extent=extent,
                    radius=radius, colour=colour, panel_px=panel,
                    max_marker_px=max_marker_px * panel / PANEL_PX)
            .replace("<svg ", f'<svg x="{x0:.1f}" y="{top}" ', 1),
        ]
        parts += [f'<text x="{x0 + (t + extent) * per_unit:.1f}" y="{top + panel + 17}" '
                  f'font-size="12" text-anchor="middle">{t:g}</text>' for t in ticks]
    parts += [f'<text x="{left - 6}" y="{top + (extent - t) * per_unit + 4:.1f}" '
              f'font-size="12" text-anchor="end">{t:g}</text>' for t in ticks]
    x_title, y_title = (escape(t) for t in axis_titles)
    parts += [f'<text x="{left + panel / 2:.1f}" y="{top + panel + 40}" font-size="14" '
              f'text-anchor="middle">{x_title}</text>',
              f'<text transform="translate(22 {top + panel / 2:.1f}) rotate(-90)" '
              f'font-size="14" text-anchor="middle">{y_title}</text>', "</svg>"]
    return "".join(parts)
