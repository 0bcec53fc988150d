"""Figures of the data page: per-class observable histograms, the event display of one jet,
and an average jet image. Builders take arrays already computed and return go.Figure.

Vocabulary as in jetviz.jets: a jet is (P, 3) particles (ptrel, etarel, phirel) with a mask
(P,) that is True for real particles; R is the jet radius; pT in GeV.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import partial

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from jetviz.figures import jet_display
from jetviz.figures.binning import histogram_edges
from jetviz.figures.jet_display import RELATIVE_AXIS_TITLES
from jetviz.figures.style import FONT_SIZE, class_colour, layout
from jetviz.jets import CLASS_LABELS

# Observable key -> (panel title, x-axis title with units). The order is the panel order.
OBSERVABLE_AXES: dict[str, tuple[str, str]] = {
    "mass": ("Jet mass", "m [GeV]"),
    "pt": ("Jet transverse momentum", "p<sub>T</sub> [GeV]"),
    "eta": ("Jet pseudorapidity", "η"),
    "multiplicity": ("Constituent multiplicity", "number of particles"),
    "tau21": ("N-subjettiness τ<sub>21</sub>", "τ<sub>21</sub> = τ<sub>2</sub>/τ<sub>1</sub>"),
    "tau32": ("N-subjettiness τ<sub>32</sub>", "τ<sub>32</sub> = τ<sub>3</sub>/τ<sub>2</sub>"),
}
_INTEGER_OBSERVABLES = frozenset({"multiplicity"})
_EVENT_MAX_MARKER_PX = 120.0  # marker diameter of a particle carrying all of the jet's pT
# The data page's look: style.layout with a larger title and room for it above the panels.
_layout = partial(layout, title_size=FONT_SIZE + 5, margin={"l": 70, "r": 30, "t": 90, "b": 60})


def class_label(name: str) -> str:
    """'t (top quark)' for a default class, the bare name otherwise."""
    return f"{name} ({CLASS_LABELS[name]})" if name in CLASS_LABELS else name


def class_histograms(
    values: Mapping[str, np.ndarray],
    labels: np.ndarray,
    class_names: Sequence[str],
    observables: Sequence[str] = tuple(OBSERVABLE_AXES),
    bins: int = 40,
    title: str = "Jet observables by class (each class normalised to unit area)",
) -> go.Figure:
    """Overlaid, normalised step histograms of jet observables, one colour per class.

    Args:
        values: observable name -> (N,) values, e.g. from ``jetviz.physics.observables``.
        labels: (N,) class index of each jet into ``class_names``.
        class_names: names of the classes.
        observables: which keys of ``values`` to draw, one panel each (three per row).
        bins: number of bins per panel (integer observables use one bin per integer).
        title: the figure title.

    Returns:
        A figure with one panel per observable; the legend toggles a class in every panel.
    """
    cols = 3
    rows = max(1, -(-len(observables) // cols))
    fig = make_subplots(
        rows=rows, cols=cols,
        subplot_titles=[OBSERVABLE_AXES.get(k, (k, k))[0] for k in observables],
        horizontal_spacing=0.08, vertical_spacing=0.2 if rows > 1 else 0.1,
    )
    present = [i for i in range(len(class_names)) if np.any(labels == i)]
    for panel, key in enumerate(observables):
        row, col = divmod(panel, cols)
        x = np.asarray(values[key], dtype=np.float64)
        edges = histogram_edges(x, bins, integer=key in _INTEGER_OBSERVABLES)  # 0.1–99.9 %
        axis_title = OBSERVABLE_AXES.get(key, (key, key))[1]
        for i in present:
            name = class_names[i]
            sel = x[(labels == i) & np.isfinite(x)]
            counts, _ = np.histogram(np.clip(sel, edges[0], edges[-1]), bins=edges)
            density = counts / max(sel.size, 1) / np.diff(edges)  # unit area over the range
            fig.add_trace(
                go.Scatter(
                    x=edges, y=np.append(density, density[-1]), mode="lines",
                    line={"shape": "hv", "color": class_colour(name, i), "width": 2.5},
                    name=class_label(name), legendgroup=name, showlegend=panel == 0,
                    customdata=np.stack([edges, np.append(edges[1:], edges[-1])], -1),
                    hovertemplate=(f"{class_label(name)}<br>{axis_title} in "
                                   "[%{customdata[0]:.3g}, %{customdata[1]:.3g})"
                                   "<br>density %{y:.3g}<extra></extra>"),
                ),
                row=row + 1, col=col + 1,
            )
        fig.update_xaxes(title_text=axis_title, row=row + 1, col=col + 1)
        fig.update_yaxes(title_text="density" if col == 0 else None, row=row + 1, col=col + 1)
    fig.update_annotations(font_size=FONT_SIZE + 2)
    height = 330 * rows + 150
    _layout(fig, title, height=height)
    # The legend runs across the top, between the title (first 45 px) and the panel titles,
    # so the panels keep the full width on a projector's 1280 px.
    fig.update_layout(
        margin={"t": 135},
        title={"y": 1 - 12 / height, "yref": "container", "yanchor": "top"},
        legend={"orientation": "h", "x": 0.0, "xanchor": "left", "y": 1 - 55 / height,
                "yref": "container", "yanchor": "top", "title": {"text": "class "}},
    )
    return fig


def event_display(
    particles: np.ndarray,
    mask: np.ndarray,
    jet_pt: float,
    radius: float,
    title: str,
    colour: str = "#1f77b4",
) -> go.Figure:
    """One jet's particles in the (etarel, phirel) plane: ``jetviz.figures.jet_display``'s
    event display (marker area ∝ pT on its fixed scale, the cone of radius R, the jet axis).

    Args:
        particles: (P, 3) (ptrel, etarel, phirel).
        mask: (P,) True for a real particle.
        jet_pt: the jet's pT in GeV (turns ptrel into particle pT).
        radius: jet radius R.
        title: the figure title.
        colour: marker colour (the jet's class colour).
    """
    return jet_display.event_display(particles, mask, jet_pt=jet_pt, radius=radius,
                                     title=title, colour=colour, height=560)


def jet_image_figure(
    image: np.ndarray,
    radius: float,
    title: str,
    decades: int = 5,
    axis_titles: tuple[str, str] = RELATIVE_AXIS_TITLES,
) -> go.Figure:
    """A jet image on a log colour scale, x = etarel and y = phirel.

    Args:
        image: (n_eta, n_phi) pT-weighted image over [−R, R]² (first index η, second φ),
            e.g. the mean ptrel per pixel from ``jetviz.physics.average_jet_image``.
        radius: jet radius R; the pixels span [−R, R] on both axes.
        title: the figure title.
        decades: how many powers of ten below the brightest pixel the colour scale shows.
        axis_titles: x and y axis titles (say so when the jets were rotated).
    """
    image = np.asarray(image, dtype=np.float64)
    n_eta, n_phi = image.shape
    eta_centres = np.linspace(-radius, radius, n_eta + 1)
    eta_centres = 0.5 * (eta_centres[1:] + eta_centres[:-1])
    phi_centres = np.linspace(-radius, radius, n_phi + 1)
    phi_centres = 0.5 * (phi_centres[1:] + phi_centres[:-1])
    top = float(image.max(initial=0.0))
    with np.errstate(divide="ignore"):
        log_image = np.where(image > 0, np.log10(np.where(image > 0, image, 1.0)), np.nan)
    zmax = np.log10(top) if top > 0 else 0.0
    zmin = zmax - decades
    ticks = np.arange(np.ceil(zmin), np.floor(zmax) + 1)
    fig = go.Figure(go.Heatmap(
        x=eta_centres, y=phi_centres, z=log_image.T,  # Heatmap rows are y (φ)
        zmin=zmin, zmax=zmax, colorscale="Viridis",
        colorbar={"title": {"text": "p<sub>T</sub>/p<sub>T,jet</sub><br>per pixel",
                            "side": "right"}, "thickness": 20,
                  "tickvals": ticks, "ticktext": [f"10<sup>{int(t)}</sup>" for t in ticks]},
        customdata=image.T,
        hovertemplate=("η<sub>rel</sub> = %{x:.3f}<br>φ<sub>rel</sub> = %{y:.3f}<br>"
                       "mean p<sub>T</sub>/p<sub>T,jet</sub> = %{customdata:.3g}<extra></extra>"),
    ))
    fig.add_shape(type="circle", x0=-radius, y0=-radius, x1=radius, y1=radius,
                  line={"color": "#888888", "dash": "dash", "width": 1.5})
    fig.update_xaxes(title_text=axis_titles[0], range=[-radius, radius], constrain="domain")
    fig.update_yaxes(title_text=axis_titles[1], range=[-radius, radius], scaleanchor="x",
                     scaleratio=1, constrain="domain")
    _layout(fig, title, height=560)
    return fig


def neighbour_panels(
    particles: np.ndarray, masks: np.ndarray, jet_pts: np.ndarray, radius: float,
    titles: Sequence[str], title: str, colour: str = "#1f77b4",
) -> go.Figure:
    """Several jets side by side in (etarel, phirel), marker area ∝ pT on one shared scale.

    Args:
        particles: (K, P, 3) (ptrel, etarel, phirel).
        masks: (K, P) True for real particles.
        jet_pts: (K,) jet pT [GeV] (hover).
        radius: jet radius R (the dashed circle, the axis range).
        titles: one panel title per jet (e.g. "#812, EMD 14.2 GeV").
        title: the figure title.
        colour: marker colour.
    """
    k = len(particles)
    fig = make_subplots(rows=1, cols=max(k, 1), subplot_titles=list(titles),
                        horizontal_spacing=0.02)
    extent = 1.15 * radius
    circle = np.linspace(0, 2 * np.pi, 73)
    for j in range(k):
        real = particles[j][np.asarray(masks[j], dtype=bool)]
        fig.add_trace(go.Scatter(
            x=radius * np.cos(circle), y=radius * np.sin(circle), mode="lines",
            line={"color": "#888888", "dash": "dash", "width": 1}, hoverinfo="skip",
            showlegend=False), row=1, col=j + 1)
        fig.add_trace(go.Scatter(
            x=real[:, 1], y=real[:, 2], mode="markers", showlegend=False,
            marker={"size": real[:, 0], "sizemode": "area", "sizemin": 2,
                    "sizeref": 2.0 / (0.5 * _EVENT_MAX_MARKER_PX) ** 2, "color": colour,
                    "opacity": 0.65, "line": {"width": 1, "color": "#222222"}},
            customdata=real[:, 0] * float(jet_pts[j]),
            hovertemplate=("p<sub>T</sub> = %{customdata:.1f} GeV<br>η<sub>rel</sub> = %{x:.3f}"
                           "<br>φ<sub>rel</sub> = %{y:.3f}<extra></extra>")), row=1, col=j + 1)
        fig.update_xaxes(range=[-extent, extent], title_text="η_rel", nticks=4, row=1, col=j + 1)
        fig.update_yaxes(range=[-extent, extent], scaleanchor=f"x{'' if j == 0 else j + 1}",
                         title_text="φ_rel" if j == 0 else None, showticklabels=j == 0,
                         row=1, col=j + 1)
    fig = _layout(fig, title, 300)
    fig.update_annotations(font_size=FONT_SIZE - 1)
    return fig
