"""Plotly figures of the anomalies page, built from arrays already computed.

Images are (n, n) arrays with ``image[a, b]`` = η pixel a, φ pixel b (as
:mod:`jetviz.physics.images`); they are drawn with η across and φ up (``z = image.T``) on a log10
colour scale, because a jet image spans four decades of pT fraction.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from jetviz.figures.style import CLASS_COLOURS, FONT_SIZE, layout
from jetviz.physics.images import pixel_centres

GROUP_COLOURS: dict[str, str] = {"QCD": CLASS_COLOURS["g"], "top": CLASS_COLOURS["t"],
                                 "W": CLASS_COLOURS["w"], "Z": CLASS_COLOURS["z"]}
LOG_FLOOR = 1e-5  # smallest pT fraction drawn; below it a pixel shows as empty
STRIP_Y = "jets (click one)"


def group_colour(name: str) -> str:
    return GROUP_COLOURS.get(name, "#7f7f7f")


# this page's title size and margins for jetviz.figures.style.layout
STYLE = {"title_size": FONT_SIZE + 3, "margin": {"l": 70, "r": 25, "t": 70, "b": 50}}
LEGEND_TOP_RIGHT = {"x": 1.0, "y": 1.0, "xanchor": "right"}


def score_histogram(scores: Mapping[str, np.ndarray], strip: Mapping[str, tuple], title: str,
                    background: str) -> go.Figure:
    """Anomaly-score distributions per group (top) and a clickable strip of jets (bottom).

    Args:
        scores: group -> (N,) energies of its held-out jets (> 0).
        strip: group -> (scores (M,), jet ids (M,)): the jets drawn as points below the
            histogram; a point's ``customdata`` is its jet id (for the page's selection).
        title: figure title.
        background: the group trained on (drawn filled).
    """
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, row_heights=[0.78, 0.22],
                        vertical_spacing=0.04)
    logs = {g: np.log10(np.maximum(s, 1e-12)) for g, s in scores.items()}
    lo = min(float(np.percentile(v, 0.5)) for v in logs.values())
    hi = max(float(np.percentile(v, 99.5)) for v in logs.values())
    edges = np.linspace(lo, hi, 61)
    for k, (group, v) in enumerate(logs.items()):
        counts, _ = np.histogram(np.clip(v, lo, hi), edges)
        density = counts / max(1, v.size) / np.diff(edges)
        own = group == background
        fig.add_trace(go.Scatter(
            x=np.repeat(edges, 2)[1:-1], y=np.repeat(density, 2), mode="lines",
            name=f"{group}{' (trained on)' if own else ''}: {v.size:,} jets",
            line={"color": group_colour(group), "width": 3 if own else 2},
            fill="tozeroy" if own else None, legendgroup=group,
            hovertemplate=f"{group}<br>log10 E = %{{x:.2f}}<br>density %{{y:.2f}}<extra></extra>"),
            row=1, col=1)
        s, ids = strip.get(group, (np.zeros(0), np.zeros(0, int)))
        jitter = np.random.default_rng(k).uniform(-0.3, 0.3, len(s))
        fig.add_trace(go.Scatter(
            x=np.log10(np.maximum(s, 1e-12)), y=k + jitter, mode="markers",
            marker={"color": group_colour(group), "size": 6, "opacity": 0.7},
            customdata=np.asarray(ids), legendgroup=group, showlegend=False, name=group,
            hovertemplate=(f"{group} jet #%{{customdata}}<br>E = 10^%{{x:.2f}}"
                           "<extra>click to show</extra>")), row=2, col=1)
    fig.update_yaxes(title_text="jets per unit log10 E", row=1, col=1)
    fig.update_yaxes(tickvals=list(range(len(logs))), ticktext=list(logs), row=2, col=1,
                     title_text="")
    fig.update_xaxes(title_text="anomaly score log10 E(x) (per-pixel squared error)",
                     row=2, col=1)
    return layout(fig, title, 560, **STYLE, legend=LEGEND_TOP_RIGHT,
                  clickmode="event+select", dragmode="select")


def roc_figure(curves: Mapping[str, tuple[np.ndarray, np.ndarray]],
               summaries: Mapping[str, Mapping[str, float]], title: str, background: str
               ) -> go.Figure:
    """1/ε_B (log) against ε_S per signal group, with the working points ε_S = 0.2 and 0.5.

    Args:
        curves: group -> (ε_S, ε_B) from :func:`jetviz.roc.roc_curve`.
        summaries: group -> {"auc", "inv_eb_02", "inv_eb_05"}.
        title: figure title; background: the group trained on (named on the y axis).
    """
    fig = go.Figure()
    es_grid = np.linspace(0.01, 1, 100)
    fig.add_trace(go.Scatter(x=es_grid, y=1 / es_grid, mode="lines", name="random guess "
                             "(AUC 0.5)", line={"color": "#999999", "dash": "dot"},
                             hoverinfo="skip"))
    for group, (es, eb) in curves.items():
        ok = eb > 0
        s = summaries[group]
        fig.add_trace(go.Scatter(
            x=es[ok], y=1 / eb[ok], mode="lines", line={"color": group_colour(group), "width": 3},
            name=f"{group}: AUC {s['auc']:.3f}",
            hovertemplate=(f"{group}<br>ε<sub>S</sub> = %{{x:.3f}}<br>1/ε<sub>B</sub> = "
                           "%{y:.2f}<extra></extra>")))
        pts = [(0.2, s["inv_eb_02"]), (0.5, s["inv_eb_05"])]
        pts = [(x, y) for x, y in pts if np.isfinite(y)]
        fig.add_trace(go.Scatter(
            x=[p[0] for p in pts], y=[p[1] for p in pts], mode="markers", showlegend=False,
            marker={"size": 10, "color": group_colour(group), "line": {"width": 1,
                                                                        "color": "#222"}},
            hovertemplate=f"{group}: 1/ε<sub>B</sub> = %{{y:.2f}} at ε<sub>S</sub> = %{{x}}"
                          "<extra></extra>"))
    for x in (0.2, 0.5):
        fig.add_vline(x=x, line={"color": "#888888", "dash": "dot", "width": 1})
    fig.update_xaxes(title_text="signal efficiency ε<sub>S</sub>", range=[0.02, 1.0])
    fig.update_yaxes(title_text=f"background rejection 1/ε<sub>B</sub> ({background})",
                     type="log")
    return layout(fig, title, 520, **STYLE, legend=LEGEND_TOP_RIGHT)


def _log_image(image: np.ndarray) -> np.ndarray:
    return np.log10(np.maximum(np.asarray(image, dtype=np.float64), LOG_FLOOR)).T


def image_grid(images: Sequence[Sequence[np.ndarray]], row_titles: Sequence[str],
               col_titles: Sequence[str], title: str, radius: float = 0.8,
               height_per_row: int = 230) -> go.Figure:
    """A grid of jet images on one log10 colour scale (rows × columns of (n, n) arrays).

    Drawn as one mosaic heatmap (tiles separated by empty pixels, a title above each tile):
    one trace instead of one subplot per image keeps the browser's drawing fast.
    """
    n_rows, n_cols = len(images), max(len(r) for r in images)
    n = np.asarray(images[0][0]).shape[-1]
    gap = max(3, n // 4)  # room for the next row's titles
    step = n + gap
    mosaic = np.full((n_rows * step - gap, n_cols * step - gap), np.nan)
    annotations = []
    for r, row in enumerate(images):
        top = (n_rows - 1 - r) * step  # row 0 at the top of the figure
        for c, img in enumerate(row):
            mosaic[top:top + n, c * step:c * step + n] = _log_image(img)
            annotations.append({"x": c * step + (n - 1) / 2, "y": top + n - 0.5, "yshift": 4,
                                "text": f"{row_titles[r]}: {col_titles[c]}", "xref": "x",
                                "yref": "y", "showarrow": False, "yanchor": "bottom",
                                "font": {"size": FONT_SIZE - 2}})
    fig = go.Figure(go.Heatmap(
        z=mosaic, colorscale="Viridis", zmin=np.log10(LOG_FLOOR), zmax=0.0,
        colorbar={"title": "log10<br>pT frac."}, hoverongaps=False,
        hovertemplate=f"log10 pT fraction = %{{z:.2f}}<br>(pixel side {2 * radius / n:.3f} "
                      "in η and φ)<extra></extra>"))
    fig.update_xaxes(visible=False, constrain="domain")
    fig.update_yaxes(visible=False, scaleanchor="x", constrain="domain")
    fig.update_layout(annotations=annotations)
    return layout(fig, title, 80 + height_per_row * n_rows, **STYLE)


def jet_and_reconstruction(image: np.ndarray, recon: np.ndarray, title: str,
                           radius: float = 0.8) -> go.Figure:
    """One jet image beside its reconstruction (log10 colour), with η and φ axes."""
    n = image.shape[-1]
    centres = pixel_centres(n, radius)
    fig = make_subplots(rows=1, cols=2, subplot_titles=["input (preprocessed)",
                                                        "reconstruction"],
                        horizontal_spacing=0.08)
    for c, img in enumerate((image, recon)):
        fig.add_trace(go.Heatmap(z=_log_image(img), x=centres, y=centres,
                                 coloraxis="coloraxis",
                                 hovertemplate="η = %{x:.2f}, φ = %{y:.2f}<br>log10 pT "
                                               "fraction = %{z:.2f}<extra></extra>"),
                      row=1, col=c + 1)
        fig.update_xaxes(title_text="η′ (rotated)", row=1, col=c + 1)
        fig.update_yaxes(title_text="φ′ (rotated)", row=1, col=c + 1)
    fig.update_yaxes(scaleanchor="x")
    fig.update_yaxes(scaleanchor="x2", row=1, col=2)
    fig.update_layout(coloraxis={"colorscale": "Viridis", "cmin": np.log10(LOG_FLOOR),
                                 "cmax": 0.0, "colorbar": {"title": "log10<br>pT frac."}})
    return layout(fig, title, 420, **STYLE)
