"""Figures of the generation and jet-image pages, built from arrays (no streamlit here).

* :func:`observable_histograms` — true vs generated distributions of jet and particle
  observables, each with a ratio panel (generated / true) beneath; bins from
  :func:`jetviz.figures.binning.histogram_edges` over the 0.5–99.5 % range of both samples.
* :func:`image_panels` — average jet images of true, reconstructed and generated jets side
  by side on one shared log colour scale, plus the ratio generated / true (or
  reconstructed / true) on a diverging log scale.

Colours follow ``jetviz.figures.style.ROLE_COLOURS`` (true / reconstructed / generated).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from jetviz.figures.binning import histogram_edges
from jetviz.figures.style import FONT_SIZE, ROLE_COLOURS, layout

LOG_X = frozenset({"ptrel"})  # observables drawn with logarithmic bins and axis
# observables whose densities span decades (sharp peaks, particle spectra): log y axis
LOG_Y = frozenset({"eta", "phi", "multiplicity", "ptrel", "etarel", "phirel"})
INTEGER = frozenset({"multiplicity"})  # one bin per integer
RANGE_QUANTILES = (0.005, 0.995)  # the histograms' x range: these quantiles of both samples


def _density(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    counts, _ = np.histogram(values, bins=edges)
    total = max(len(values), 1)
    return counts / (total * np.diff(edges))


def _step(edges: np.ndarray, heights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """x, y of a step outline over the bins (one point per edge, last height repeated)."""
    return edges, np.append(heights, heights[-1])


def observable_histograms(true: Mapping[str, np.ndarray], generated: Mapping[str, np.ndarray],
                          names: Sequence[str], labels: Mapping[str, str],
                          units: Mapping[str, str], *, title: str, n_cols: int = 5,
                          n_bins: int = 40, generated_label: str = "generated",
                          ) -> go.Figure:
    """Overlaid normalised histograms (true vs generated) with a ratio panel per observable.

    Args:
        true: name → 1-D values of true jets (or particles).
        generated: name → 1-D values of generated jets.
        names: observables to draw, in order (row-major over ``n_cols`` columns).
        labels: name → axis label; units: name → unit ("" for none).
        title: figure title.
        n_cols: panels per row.
        n_bins: bins per histogram (integers: one per value).
        generated_label: legend name of the second sample.

    Returns:
        The figure: per observable a density histogram (log y) and, beneath it, the ratio
        generated / true (1 = perfect agreement; empty where the true bin is empty).
    """
    n_rows = -(-len(names) // n_cols)
    specs_heights = []
    for _ in range(n_rows):
        specs_heights += [0.72, 0.28]
    def heading(n: str) -> str:
        return labels.get(n, n) + (f" [{units[n]}]" if units.get(n) else "")

    titles = []
    for r in range(n_rows):
        row = [heading(n) for n in names[r * n_cols:(r + 1) * n_cols]]
        titles += row + [""] * (n_cols - len(row)) + [""] * n_cols
    fig = make_subplots(rows=2 * n_rows, cols=n_cols, row_heights=specs_heights,
                        vertical_spacing=0.07, horizontal_spacing=0.05,
                        subplot_titles=titles)
    for i, name in enumerate(names):
        r, c = 2 * (i // n_cols) + 1, i % n_cols + 1
        t, g = np.asarray(true[name]), np.asarray(generated[name])
        edges = histogram_edges([t, g], n_bins, log=name in LOG_X, integer=name in INTEGER,
                                quantiles=RANGE_QUANTILES)
        ht, hg = _density(t, edges), _density(g, edges)
        for role, heights, legend in (("true", ht, "true"), ("generated", hg, generated_label)):
            x, y = _step(edges, heights)
            fig.add_trace(go.Scatter(
                x=x, y=y, mode="lines", line={"shape": "hv", "color": ROLE_COLOURS[role],
                                              "width": 2},
                name=legend, legendgroup=role, showlegend=i == 0,
                hovertemplate=f"{labels.get(name, name)} %{{x:.4g}}<br>density %{{y:.3g}}"
                              f"<extra>{legend}</extra>"), row=r, col=c)
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(ht > 0, hg / ht, np.nan)
        x, y = _step(edges, ratio)
        fig.add_trace(go.Scatter(
            x=x, y=y, mode="lines", line={"shape": "hv", "color": ROLE_COLOURS["generated"],
                                          "width": 1.5},
            name="ratio", showlegend=False,
            hovertemplate="%{x:.4g}: generated / true = %{y:.3f}<extra></extra>"), row=r + 1, col=c)
        fig.add_hline(y=1.0, line={"color": ROLE_COLOURS["true"], "dash": "dot", "width": 1},
                      row=r + 1, col=c)
        log_x = name in LOG_X
        x_range = np.log10(edges[[0, -1]]) if log_x else edges[[0, -1]]
        fig.update_yaxes(type="log" if name in LOG_Y else "linear", row=r, col=c,
                         title_text="density" if c == 1 else None,
                         dtick=1 if name in LOG_Y else None, exponentformat="power")
        fig.update_yaxes(range=[0, 2], row=r + 1, col=c, title_text="gen/true" if c == 1 else None)
        # the ratio panel shares the histogram's x range; only it carries tick labels
        fig.update_xaxes(type="log" if log_x else "linear", range=list(x_range),
                         showticklabels=False, row=r, col=c)
        # upright tick labels, few of them (log axes: decades only): rotated labels would
        # reach into the next row's panel titles
        fig.update_xaxes(type="log" if log_x else "linear", range=list(x_range), row=r + 1,
                         col=c, tickangle=0, nticks=4, dtick=1 if log_x else None,
                         exponentformat="power" if log_x else "B", automargin=False)
    height = 430 * n_rows + 130
    layout(fig, title, height, margin={"t": 130, "l": 80, "r": 20, "b": 40},
           # below the title, above the panel titles: inside the figure's top margin
           legend={"orientation": "h", "y": 1 - 56 / height, "x": 1.0, "xanchor": "right",
                   "yanchor": "top", "yref": "container"})
    fig.update_layout(title={"y": 1 - 12 / height, "yanchor": "top", "yref": "container"})
    fig.update_annotations(font_size=FONT_SIZE)
    return fig


def image_panels(images: Mapping[str, np.ndarray], radius: float, *, title: str,
                 compare: str = "generated", floor: float | None = None) -> go.Figure:
    """Average jet images side by side on a shared log colour scale, plus a ratio panel.

    Args:
        images: role → (n, n) average image, ``image[η pixel, φ pixel]``
            (:func:`jetviz.physics.images.average_jet_image`); roles among "true", "reconstructed",
            "generated" (drawn in that order).
        radius: the images span ±R in η and φ.
        title: figure title.
        compare: the role divided by "true" in the last panel.
        floor: smallest pixel value shown on the log scale (default: 10⁻⁵ of the brightest
            true pixel); pixels below it are left blank.

    Returns:
        The figure: η across, φ up, colour log10(pT fraction per pixel); the last panel is
        log10(compare / true), red where ``compare`` has more pT, blue where it has less.
    """
    roles = [r for r in ("true", "reconstructed", "generated") if r in images]
    n = next(iter(images.values())).shape[0]
    edges = np.linspace(-radius, radius, n + 1)
    centres = 0.5 * (edges[1:] + edges[:-1])
    # the scale is set by the true image alone, so moving β (which changes only the
    # reconstructed and generated images) never recolours the true jets
    scale_roles = ["true"] if "true" in images else roles
    peak = max(float(np.max(images[r])) for r in scale_roles)
    floor = floor if floor is not None else max(peak * 1e-5, 1e-12)
    zmax = np.log10(max(peak, floor * 10))
    zmin = np.log10(floor)
    with_ratio = "true" in images and compare in images and compare != "true"
    cols = len(roles) + int(with_ratio)
    subtitles = [f"{r} jets" for r in roles]
    if with_ratio:
        subtitles.append(f"{compare} / true")
    # two panels per row: each image gets half the page's width, not a quarter
    n_rows, n_cols = (2, 2) if cols > 2 else (1, cols)
    fig = make_subplots(rows=n_rows, cols=n_cols, subplot_titles=subtitles,
                        horizontal_spacing=0.10, vertical_spacing=0.12)

    def cell(i: int) -> dict:
        return {"row": i // n_cols + 1, "col": i % n_cols + 1}

    for i, role in enumerate(roles):
        img = np.asarray(images[role], dtype=np.float64)
        with np.errstate(divide="ignore"):
            z = np.where(img >= floor, np.log10(np.maximum(img, floor)), np.nan).T
        fig.add_trace(go.Heatmap(
            x=centres, y=centres, z=z, coloraxis="coloraxis", customdata=img.T,
            hovertemplate=("η_rel %{x:.3f}, φ_rel %{y:.3f}<br>pT fraction %{customdata:.3g}"
                           f"<extra>{role}</extra>")), **cell(i))
    if with_ratio:
        t, o = np.asarray(images["true"], np.float64), np.asarray(images[compare], np.float64)
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where((t >= floor) & (o >= floor), np.log10(o / t), np.nan).T
        fig.add_trace(go.Heatmap(
            x=centres, y=centres, z=ratio, coloraxis="coloraxis2", customdata=(10.0**ratio),
            hovertemplate=("η_rel %{x:.3f}, φ_rel %{y:.3f}<br>" + compare
                           + " / true = %{customdata:.3g}<extra></extra>")), **cell(cols - 1))
    for i in range(cols):
        where = cell(i)
        fig.update_xaxes(title_text="η_rel", range=[-radius, radius], constrain="domain",
                         **where)
        fig.update_yaxes(title_text="φ_rel [rad]" if where["col"] == 1 else None,
                         range=[-radius, radius], scaleanchor=f"x{'' if i == 0 else i + 1}",
                         constrain="domain", **where)
    ticks = np.arange(np.ceil(zmin), np.floor(zmax) + 1)
    layout(
        fig, title, 430 * n_rows + 60,
        margin={"t": 90, "l": 70, "r": 150 if with_ratio else 80, "b": 60},
        coloraxis={"colorscale": "Viridis", "cmin": zmin, "cmax": zmax,
                   "colorbar": {"title": {"text": "pT fraction (true jets' scale)",
                                          "side": "right"}, "x": 1.01,
                                "len": 0.9, "tickvals": ticks,
                                "ticktext": [f"1e{int(k)}" for k in ticks]}},
    )
    if with_ratio:
        fig.update_layout(coloraxis2={
            "colorscale": "RdBu_r", "cmin": -1.0, "cmax": 1.0,
            "colorbar": {"title": {"text": "ratio", "side": "right"}, "x": 1.13, "len": 0.9,
                         "tickvals": [-1, -0.5, 0, 0.5, 1],
                         "ticktext": ["0.1", "0.32", "1", "3.2", "10"]}})
    fig.update_annotations(font_size=FONT_SIZE)
    return fig
