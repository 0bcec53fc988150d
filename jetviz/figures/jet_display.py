"""The one jet event display of jetviz, and the rows of jets and of their reconstructions.

Vocabulary as in jetviz.jets: a jet is (P, 3) particles (ptrel, etarel, phirel) with a mask
(P,) that is True for real particles (None: every row with ptrel > 0); R is the jet radius;
pT in GeV. Coordinates are *relative* (η − η_jet, φ − φ_jet) or *aligned* (after
``jetviz.physics.frame``: centred, rotated onto the principal axis, flipped), which only
changes the axis titles.

Every display draws a particle as a marker whose **area is proportional to its pT**, on one
fixed scale (:data:`MAX_MARKER_PX` across for a particle carrying all of the jet's pT), so
jets and panels can be compared by eye; the dashed circle is the cone of radius R around the
jet axis (+). A second jet (the original under its augmentation or reconstruction) can be
overlaid as open grey rings.
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from jetviz.figures.jet_svg import (
    AXIS_ARM,
    CONE,
    jet_row_svg,
    jet_svg,
    real_particles,
    svg_data_uri,
)
from jetviz.figures.spec import Spec, axis_names, fixed_margins, on, scatter, subplots
from jetviz.figures.style import FONT_SIZE, ROLE_COLOURS, layout

MAX_MARKER_PX = 100.0  # marker diameter of a particle carrying all of the jet's pT
PAIRS_MARKER_PX = 56.0  # the same, in the small panels of jet_row_figure (172 px square)
OVERLAY_COLOUR = "#9a9a9a"  # the rings of an overlaid (original) jet
MIN_EXTENT = 0.2  # the smallest half-width of a zoomed display (η, φ units)
VISIBLE_PTREL = 0.002  # particles softer than this do not widen a zoomed view
# Axis titles of the (η, φ) plane: relative coordinates, or after jetviz.physics.frame.
RELATIVE_AXIS_TITLES = ("η<sub>rel</sub> = η − η<sub>jet</sub>",
                        "φ<sub>rel</sub> = φ − φ<sub>jet</sub>")
ALIGNED_AXIS_TITLES = ("η′ (aligned: principal axis)", "φ′ (aligned)")
AXIS_TITLES = {"relative": RELATIVE_AXIS_TITLES, "aligned": ALIGNED_AXIS_TITLES}


def particles_trace(particles: np.ndarray, mask: np.ndarray | None = None, *,
                    jet_pt: float | None = None, colour: str = ROLE_COLOURS["reconstructed"],
                    name: str = "particles", filled: bool = True, showlegend: bool = True,
                    panel: int = 1, max_marker_px: float = MAX_MARKER_PX) -> dict:
    """One jet's particles as a scatter trace (a dict), marker area ∝ pT on a fixed scale.

    Args:
        particles: (P, 3) (ptrel, etarel, phirel).
        mask: (P,) True for real particles; None keeps the rows with ptrel > 0.
        jet_pt: the jet's pT in GeV (the hover then gives each particle's pT), if known.
        colour: marker colour (filled) or ring colour (not filled).
        name: legend name (the number of particles is appended).
        filled: filled markers, or open rings (an overlaid jet).
        showlegend: give the trace a legend entry.
        panel: the panel of a :func:`jetviz.figures.spec.subplots` grid.
        max_marker_px: diameter of a particle carrying all of the jet's pT.
    """
    real = real_particles(particles, mask)
    ptrel = real[:, 0]
    pt_text = ("p<sub>T</sub> = %{customdata[0]:.2f} GeV (%{customdata[1]:.3f} of the jet)"
               if jet_pt is not None else "p<sub>T</sub>/p<sub>T,jet</sub> = %{customdata[1]:.3f}")
    return scatter(
        x=real[:, 1], y=real[:, 2], mode="markers", name=f"{name} ({len(real)})",
        legendgroup=name, showlegend=showlegend,
        # plotly's area sizing: sizeref = 2·max(size)/(max diameter)² (plotly docs)
        marker={"size": ptrel, "sizemode": "area", "sizemin": 2,
                "sizeref": 2.0 / max_marker_px**2,
                "color": colour if filled else "rgba(0,0,0,0)", "opacity": 0.7,
                "line": {"width": 1.2 if not filled else 0.8,
                         "color": "#222222" if filled else colour}},
        customdata=np.stack([ptrel * float(jet_pt or 0.0), ptrel], -1),  # (n, 2) pT, ptrel
        hovertemplate=(f"{name}<br>{pt_text}<br>η = %{{x:.3f}}<br>φ = %{{y:.3f}}"
                       "<extra></extra>"),
        **on(panel),
    )


def jet_extent(*jets: np.ndarray, radius: float = 0.8) -> float:
    """Half-width of a display zoomed to every visible particle of ``jets``.

    Boosted jets are narrow (a 1 TeV W spans ΔR ≈ 2m/pT ≈ 0.16), so drawing the whole cone
    of radius R leaves them as a dot; the view is zoomed to the particles, at most ±1.05 R.

    Args:
        jets: arrays (..., P, 3) of (ptrel, etarel, phirel).
        radius: jet radius R (the largest half-width).
    """
    reach = [np.abs(j[..., 1:])[j[..., 0] > VISIBLE_PTREL] for j in map(np.asarray, jets)]
    reach = np.concatenate([r.ravel() for r in reach] + [np.zeros(1)])
    return float(np.clip(1.15 * reach.max(), MIN_EXTENT, 1.05 * radius))


def cone_extent(*reals: np.ndarray, radius: float) -> float:
    """Half-width of a display that shows the whole cone of radius R and every particle."""
    reach = max((float(np.max(np.abs(r[:, 1:]), initial=0.0)) for r in reals), default=0.0)
    return max(1.1 * radius, 1.05 * reach)


def cone_and_axis(fig: Spec, radius: float, extent: float, panel: int = 1,
                  label: bool = True) -> None:
    """The dashed cone of radius R and the jet axis (a + of shapes under the particles, so
    the traces of a display are its jets only) on one panel of half-width ``extent``."""
    _, _, x, y = axis_names(panel)
    fig.add_shape(type="circle", xref=x, yref=y, x0=-radius, y0=-radius, x1=radius,
                  y1=radius, layer="below",
                  line={"color": CONE[0], "dash": "dash", "width": 1.2})
    arm = AXIS_ARM * extent
    for x0, y0, x1, y1 in ((-arm, 0, arm, 0), (0, -arm, 0, arm)):
        fig.add_shape(type="line", xref=x, yref=y, x0=x0, y0=y0, x1=x1, y1=y1, layer="below",
                      line={"color": "#444444", "width": 2})
    if label:
        fig.update_layout(annotations=[*fig.layout.get("annotations", []), {
            "x": radius / np.sqrt(2), "y": -radius / np.sqrt(2), "xref": x, "yref": y,
            "text": f"R = {radius:g}", "showarrow": False, "xanchor": "left",
            "yanchor": "top", "font": {"color": "#666666", "size": FONT_SIZE - 2}}])


def event_display(particles: np.ndarray, mask: np.ndarray | None = None, *,
                  jet_pt: float | None = None, radius: float = 0.8,
                  title: str = "Event display", colour: str = ROLE_COLOURS["reconstructed"],
                  name: str = "particles", overlay: np.ndarray | None = None,
                  overlay_mask: np.ndarray | None = None, overlay_name: str = "original",
                  extent: float | None = None, frame: str = "relative", height: int = 520,
                  max_marker_px: float = MAX_MARKER_PX, compact: bool = False) -> go.Figure:
    """One jet in the (η, φ) plane: marker area ∝ pT, the cone of radius R, the jet axis.

    Args:
        particles: (P, 3) (ptrel, etarel, phirel) of the jet drawn filled.
        mask: (P,) True for real particles; None keeps the rows with ptrel > 0.
        jet_pt: the jet's pT in GeV (for the hover), if known.
        radius: jet radius R (the dashed circle).
        title: figure title.
        colour: marker colour (the jet's class or role colour).
        name: legend name of the particles.
        overlay: (P', 3) a second jet drawn underneath as open grey rings (the original of
            an augmented or reconstructed jet), or None.
        overlay_mask: (P',) its mask (None: rows with ptrel > 0).
        overlay_name: legend name of the overlay.
        extent: half-width of both axes; None shows the whole cone and every particle (use
            :func:`jet_extent` to zoom to a narrow jet).
        frame: "relative" or "aligned" coordinates (axis titles).
        height: figure height in px.
        max_marker_px: diameter of a particle carrying all of the jet's pT.
        compact: a smaller title and margins, for a panel in a row of three.
    """
    if frame not in AXIS_TITLES:
        raise ValueError(f"frame must be one of {sorted(AXIS_TITLES)}, got {frame!r}")
    fig = Spec()
    shown = [real_particles(particles, mask)]
    if overlay is not None:
        fig.add_trace(particles_trace(overlay, overlay_mask, jet_pt=jet_pt,
                                      colour=OVERLAY_COLOUR, name=overlay_name, filled=False,
                                      max_marker_px=max_marker_px))
        shown.append(real_particles(overlay, overlay_mask))
    fig.add_trace(particles_trace(particles, mask, jet_pt=jet_pt, colour=colour, name=name,
                                  max_marker_px=max_marker_px))
    lim = extent if extent is not None else cone_extent(*shown, radius=radius)
    cone_and_axis(fig, radius, lim)
    x_title, y_title = AXIS_TITLES[frame]
    look = {"title_size": FONT_SIZE + 2, "margin": {"l": 60, "r": 10, "t": 60, "b": 40}} \
        if compact else {}
    layout(fig, title, height, legend={"orientation": "h", "y": -0.22 if compact else -0.16,
                                       "x": 0.0, "itemsizing": "constant"}, **look)
    fig.update_xaxes(title_text=x_title, range=[-lim, lim], zeroline=False)
    fig.update_yaxes(title_text=y_title, range=[-lim, lim], zeroline=False,
                     scaleanchor="x", scaleratio=1)
    return fig.figure()


def _row_titles(k: int, masks: np.ndarray | None, role: str,
                panel_titles: list[str] | None) -> list[str]:
    """A row of ``k`` jets' panel titles ("jet 1" … by default), after checking the masks'
    count and the role (as :func:`jet_row_figure` and :func:`jet_row_picture` take them)."""
    if masks is not None and len(masks) != k:
        raise ValueError(f"expected as many masks as jets ({k}), got {len(masks)}")
    if role not in ("true", "reconstructed"):
        raise ValueError(f"role must be 'true' or 'reconstructed', got {role!r}")
    titles = panel_titles if panel_titles is not None else [f"jet {j + 1}" for j in range(k)]
    if len(titles) != k:
        raise ValueError(f"expected {k} panel titles, got {len(titles)}")
    return titles


def jet_row_figure(jets: np.ndarray, masks: np.ndarray | None, title: str, *,
                   extent: float, role: str = "true", radius: float = 0.8,
                   panel_titles: list[str] | None = None, frame: str = "aligned",
                   height: int = 300) -> go.Figure:
    """A row of K small event displays on one scale, as a Plotly figure (zoomable): jets, or
    their reconstructions drawn on the same axes (``extent``); the playground's family pairs.
    (The β page, redrawn at every slider step, shows the same row as one SVG picture:
    :func:`jet_row_picture`.) Each panel is one picture (a layout image made by
    :func:`jetviz.figures.jet_svg.jet_svg`: the same markers, cone and axis as
    :func:`event_display`, without a hover) on the panel's axes, which the browser draws at
    a fraction of the cost of markers and shapes (``benchmarks/beta_step.py``).

    Args:
        jets: (K, P, 3) jets (ptrel, etarel, phirel).
        masks: (K, P) True for real particles, or None (rows with ptrel > 0).
        title: figure title.
        extent: half-width of every panel (:func:`jet_extent` of the originals).
        role: "true" (original jets) or "reconstructed": the markers' colour, and the
            pictures' name ("original" or "reconstruction").
        radius: jet radius R.
        panel_titles: (K,) a title above each panel; default "jet 1" … "jet K".
        frame: "relative" or "aligned" coordinates (axis titles).
        height: figure height in px.
    """
    jets = np.asarray(jets, dtype=float)
    k = jets.shape[0]
    titles = _row_titles(k, masks, role, panel_titles)
    fig = subplots(1, k, titles=titles, h_space=0.03)
    x_title, y_title = (t.split(" (")[0] for t in AXIS_TITLES[frame])
    name = "original" if role == "true" else "reconstruction"
    narrow = k > 4  # panels too narrow for an axis title each: the first panel's names both
    images = []
    for j in range(k):
        xa, ya, x, y = axis_names(j + 1)
        svg = jet_svg(jets[j], None if masks is None else masks[j], extent=extent,
                      radius=radius, colour=ROLE_COLOURS[role], max_marker_px=PAIRS_MARKER_PX)
        images.append({"source": svg_data_uri(svg), "name": name, "xref": x, "yref": y,
                       "x": -extent, "y": extent, "sizex": 2 * extent, "sizey": 2 * extent,
                       "xanchor": "left", "yanchor": "top", "sizing": "stretch",
                       "layer": "above"})
        fig.update_layout({
            xa: {"range": [-extent, extent], "zeroline": False, "nticks": 5,
                 "title": {"text": x_title if j == 0 or not narrow else ""}},
            ya: {"range": [-extent, extent], "zeroline": False, "nticks": 5,
                 "showticklabels": j == 0, "scaleanchor": x, "scaleratio": 1,
                 "title": {"text": y_title if j == 0 else ""}},
        })
    fig.update_layout(images=images)
    layout(fig, title, height, title_size=FONT_SIZE + 2)
    fixed_margins(fig, height, top=64, bottom=58, right=30)  # one drawing pass
    return fig.figure()


def jet_row_picture(jets: np.ndarray, masks: np.ndarray | None, title: str, *,
                    extent: float, role: str = "true", radius: float = 0.8,
                    panel_titles: list[str] | None = None, frame: str = "aligned",
                    width: int = 900) -> str:
    """The row of :func:`jet_row_figure` as one SVG picture (the β page's rows): the same
    panels, colours and marker scale, shown by the browser as an image, without Plotly.

    At each β-slider step the browser then draws no figure for the jets: 0.77 of the
    browser's CPU time per step (``benchmarks/beta_step.py --browser-steps 8 --app <before>
    --app .``), and with 8 sessions stepping at once on 2 cores a p95 of 0.94–1.26 s instead
    of 1.73 s (``benchmarks/load.py --sessions 8 --switches 0 --seed-steps 0 --presses 6``;
    the runs are in README, "Serving a class").
    Arguments as :func:`jet_row_figure`; ``width`` in px. Returns the ``<svg>`` text.
    """
    titles = _row_titles(len(jets), masks, role, panel_titles)
    axis_titles = tuple(t.split(" (")[0] for t in AXIS_TITLES[frame])
    if frame == "relative":  # plain text: no <sub> in an SVG text
        axis_titles = ("η − η_jet", "φ − φ_jet")
    return jet_row_svg(jets, masks, title, extent=extent, radius=radius,
                       colour=ROLE_COLOURS[role], panel_titles=titles,
                       axis_titles=axis_titles, max_marker_px=PAIRS_MARKER_PX, width=width)
