"""Figures of the Unfolding page: one event's posterior, unfolded distributions, calibration.

Builders take arrays already computed (``jetviz.unfolding.summary`` / ``analysis``) and
return plotly figures; nothing here imports streamlit.
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from jetviz.figures.style import layout
from jetviz.unfolding.analysis import Unfolded
from jetviz.unfolding.data import LABELS, OBSERVABLES

COLOURS = {"truth": "#222222", "cinn": "#d62728", "ibu": "#1f77b4", "detector": "#7f7f7f",
           "baseline": "#2ca02c"}
NAMES = {"truth": "parton truth", "cinn": "cINN (unfolded)", "ibu": "IBU, inclusive response",
         "detector": "detector level", "baseline": "truth, independent sample"}
RANGES = {"m_ll": (80.0, 102.0), "m_jj": (60.0, 100.0), "pt_j1": (0.0, 300.0),
          "pt_l1": (0.0, 300.0), "dphi_jj": (0.0, np.pi)}


MARGIN = {"l": 60, "r": 20, "t": 50, "b": 60}  # this page's margins (no title row)
LEGEND_BELOW = {"orientation": "h", "y": -0.22, "x": 0}


def posterior_figure(samples: dict[str, np.ndarray], truth: dict[str, float],
                     detector: dict[str, float]) -> go.Figure:
    """Histograms of one event's posterior samples per observable, with the true partons
    (solid line) and the measured detector value (dashed)."""
    fig = make_subplots(rows=1, cols=len(OBSERVABLES), horizontal_spacing=0.05,
                        subplot_titles=[LABELS[o] for o in OBSERVABLES])
    for k, name in enumerate(OBSERVABLES, start=1):
        values = np.asarray(samples[name])
        lo = min(RANGES[name][0], float(np.quantile(values, 0.005)), truth[name])
        hi = max(float(np.quantile(values, 0.995)), truth[name], detector[name])
        if name in ("m_ll", "m_jj"):  # zoom on the resonance: posteriors are narrow
            lo = min(float(np.quantile(values, 0.01)), truth[name]) - 2
            hi = max(float(np.quantile(values, 0.99)), truth[name]) + 2
        if name == "dphi_jj":
            lo, hi = 0.0, np.pi
        fig.add_trace(go.Histogram(x=values, xbins={"start": lo, "end": hi,
                                                    "size": (hi - lo) / 40},
                                   marker_color=COLOURS["cinn"], opacity=0.75,
                                   name="cINN posterior (1,000 samples)", showlegend=k == 1,
                                   legendgroup="post"), row=1, col=k)
        fig.add_vline(x=truth[name], line={"color": COLOURS["truth"], "width": 3},
                      row=1, col=k)
        fig.add_vline(x=detector[name], line={"color": COLOURS["detector"], "width": 2,
                                              "dash": "dash"}, row=1, col=k)
    for label, key, dash in (("true partons", "truth", "solid"),
                             ("detector-level value", "detector", "dash")):
        fig.add_trace(go.Scatter(x=[None], y=[None], mode="lines", name=label,
                                 line={"color": COLOURS[key], "dash": dash, "width": 3}))
    fig.update_yaxes(title_text="samples", row=1, col=1)
    return layout(fig, None, 360, margin=MARGIN, legend=LEGEND_BELOW)


def unfolded_figure(results: dict[str, Unfolded], title: str) -> go.Figure:
    """Normalised histograms per observable: parton truth, detector level, cINN and IBU.

    The first and last bins hold the under- and overflow (IBU needs every event); they are
    left out of the drawing so that they do not show as spikes.
    """
    fig = make_subplots(rows=1, cols=len(OBSERVABLES), horizontal_spacing=0.05,
                        subplot_titles=[LABELS[o] for o in OBSERVABLES])
    for k, name in enumerate(OBSERVABLES, start=1):
        u = results[name]
        centres = 0.5 * (u.edges[1:] + u.edges[:-1])[1:-1]
        width = np.diff(u.edges)[1:-1]
        top = 0.0
        for key in ("truth", "detector", "ibu", "cinn"):
            h = u.hists[key]
            density = (h / max(h.sum(), 1e-12))[1:-1] / width
            top = max(top, float(density.max()))
            w1 = "" if key == "truth" else f" — W1 {u.w1[key]:.3g}"
            common = {"name": NAMES[key], "legendgroup": key, "showlegend": k == 1,
                      "hovertemplate": f"{NAMES[key]}{w1}<br>%{{x:.3g}}: %{{y:.3g}}"
                                       "<extra></extra>"}
            if key == "truth":
                fig.add_trace(go.Bar(x=centres, y=density, width=width,
                                     marker_color="rgba(34,34,34,0.18)",
                                     marker_line_width=0, **common), row=1, col=k)
            else:
                fig.add_trace(go.Scatter(x=centres, y=density, mode="lines",
                                         line={"shape": "hvh", "color": COLOURS[key],
                                               "width": 2.5 if key == "cinn" else 2,
                                               "dash": "dot" if key == "detector" else None},
                                         **common), row=1, col=k)
        fig.update_yaxes(range=[0, 1.08 * top], row=1, col=k)
        fig.update_xaxes(range=[u.edges[1], u.edges[-2]], row=1, col=k)
    fig.update_layout(bargap=0, title={"text": title, "x": 0})
    fig.update_yaxes(title_text="normalised", row=1, col=1)
    return layout(fig, None, 400, margin=MARGIN, legend=LEGEND_BELOW)


def calibration_figure(quantiles: np.ndarray, coverage: dict[str, np.ndarray],
                       tolerance: float = 0.05) -> go.Figure:
    """Coverage c(q) per observable against q, the diagonal and the ±tolerance band."""
    fig = go.Figure()
    q = np.concatenate([[0.0], quantiles, [1.0]])
    fig.add_trace(go.Scatter(x=np.concatenate([q, q[::-1]]),
                             y=np.concatenate([q + tolerance, (q - tolerance)[::-1]]),
                             fill="toself", fillcolor="rgba(0,0,0,0.08)", line={"width": 0},
                             name=f"±{tolerance:g} (goal)", hoverinfo="skip"))
    fig.add_trace(go.Scatter(x=[0, 1], y=[0, 1], mode="lines", name="calibrated",
                             line={"color": "#222222", "dash": "dash"}))
    palette = ("#d62728", "#1f77b4", "#2ca02c", "#ff7f0e", "#9467bd")
    for colour, name in zip(palette, OBSERVABLES, strict=True):
        worst = float(np.max(np.abs(coverage[name] - quantiles)))
        fig.add_trace(go.Scatter(x=quantiles, y=coverage[name], mode="lines+markers",
                                 name=f"{LABELS[name]} (max |c − q| = {worst:.3f})",
                                 line={"color": colour}))
    fig.update_xaxes(title_text="posterior quantile q", range=[0, 1])
    fig.update_yaxes(title_text="fraction of events with truth below it, c(q)", range=[0, 1])
    return layout(fig, None, 460, margin=MARGIN,
                  legend={"orientation": "v", "y": 0.02, "x": 1.02, "yanchor": "bottom"})


def event_picker_figure(x: np.ndarray, y: np.ndarray, chosen: int | None, x_label: str,
                        y_label: str) -> go.Figure:
    """Detector-level test events as points (customdata = event index); the chosen one
    highlighted. Drag mode is box selection: the page takes the first event selected."""
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=x, y=y, mode="markers", customdata=np.arange(len(x)),
                             marker={"size": 5, "color": "#1f77b4", "opacity": 0.45},
                             name="test events (drag a box around one)",
                             hovertemplate="event %{customdata}<br>%{x:.1f}, %{y:.1f}"
                                           "<extra></extra>"))
    if chosen is not None:
        fig.add_trace(go.Scatter(x=[x[chosen]], y=[y[chosen]], mode="markers",
                                 marker={"size": 14, "color": "#d62728", "symbol": "x"},
                                 name=f"event {chosen}", hoverinfo="skip"))
    fig.update_xaxes(title_text=x_label, type="log")
    fig.update_yaxes(title_text=y_label, type="log")
    return layout(fig, None, 360, margin=MARGIN, legend={**LEGEND_BELOW, "y": -0.32},
                  dragmode="select")
