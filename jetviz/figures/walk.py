"""Figures of the latent walk page and the train page: a decoded path through the latent
space, the observables along it, its animation, the toy data with the path, loss curves.

Vocabulary:
  positions  (T,)            positions along the path (prior σ, or t ∈ [0, 1] on a line)
  path       (T, P_out, 3)   decoded jets (ptrel, etarel, phirel), or (T, d) toy points
  points     (N, d)          toy data of any dimension d, drawn in a plane by ``to_plane``
Figures are assembled with ``jetviz.figures.spec`` (fast enough for a slider).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go

from jetviz.figures.jet_display import (
    AXIS_TITLES,
    cone_and_axis,
    jet_extent,
    particles_trace,
)
from jetviz.figures.points import to_plane
from jetviz.figures.spec import Spec, axis_names, finish, on, play_controls, scatter, subplots
from jetviz.figures.style import ROLE_COLOURS

MIN_RELATIVE_SPAN = 0.02  # walk panels span at least ±2 % of the observable's mean


def walk_observables_figure(positions: np.ndarray, observables: Mapping[str, np.ndarray],
                            position: float, x_title: str,
                            units: Mapping[str, str] | None = None,
                            colour: str = ROLE_COLOURS["reconstructed"],
                            title: str = "Observables of the decoded jet along the path"
                            ) -> go.Figure:
    """Observables of the decoded jet along a latent path, one panel each, with a marker.

    Args:
        positions: (T,) positions along the path.
        observables: name → (T,) values along the path (e.g. mass, pT, τ21).
        position: the current position (marker).
        x_title: title of the position axis (with its meaning, e.g. "t (0 = jet A)").
        units: name → unit, for the axis titles.
        colour: line colour (the latent dimension's colour for a single-dimension walk).
        title: figure title.
    """
    positions = np.asarray(positions, dtype=float)
    names = list(observables)
    if not names:
        raise ValueError("expected at least one observable")
    units = units or {}
    fig = subplots(len(names), 1, shared_x=True, v_space=0.06)
    t = int(np.argmin(np.abs(positions - position)))
    for r, name in enumerate(names, start=1):
        values = np.asarray(observables[name], dtype=float)
        if values.shape != positions.shape:
            raise ValueError(f"{name}: expected {positions.shape} values, got {values.shape}")
        unit = units.get(name, "")
        label = f"{name} [{unit}]" if unit else name
        fig.add_trace(scatter(
            x=positions, y=values, mode="lines", name=name, showlegend=False,
            line={"color": colour, "width": 3},
            hovertemplate=f"position %{{x:.2f}}<br>{name} = %{{y:.3g}} {unit}<extra></extra>",
            **on(r)))
        fig.add_trace(scatter(
            x=[positions[t]], y=[values[t]], mode="markers", name="current position",
            showlegend=False,
            marker={"color": "#111111", "size": 13, "symbol": "diamond"},
            hovertemplate=f"here: {name} = %{{y:.3g}} {unit}<extra></extra>",
            **on(r)))
        _, ya, x, y = axis_names(r)
        axis: dict = {"title": {"text": label}}
        lo, hi, mid = float(np.nanmin(values)), float(np.nanmax(values)), float(np.nanmean(values))
        if np.isfinite(mid) and hi - lo < MIN_RELATIVE_SPAN * abs(mid):
            # a flat observable (pT along most walks) must look flat, not magnified noise
            half = MIN_RELATIVE_SPAN * abs(mid)
            axis["range"] = [mid - half, mid + half]
        fig.update_layout({ya: axis})
        fig.add_shape(type="line", x0=float(positions[t]), x1=float(positions[t]), xref=x,
                      y0=0, y1=1, yref=f"{y} domain",
                      line={"color": "#111111", "width": 1.5, "dash": "dash"})
    fig.update_layout({axis_names(len(names))[0]: {"title": {"text": x_title}}})
    return finish(fig, title, height=180 * len(names) + 150,
                  subtitle=f"◆ = the current position ({positions[t]:+.2f})")


def walk_animation_figure(positions: np.ndarray, path: np.ndarray, radius: float = 0.8,
                          jet_pt: float | None = None,
                          colour: str = ROLE_COLOURS["reconstructed"],
                          x_title: str = "position", frame_ms: int = 120) -> go.Figure:
    """The decoded jets along a latent path as an animation played in the browser.

    Args:
        positions: (T,) positions along the path.
        path: (T, P_out, 3) decoded jets, or (T, d) toy points (drawn by :func:`to_plane`).
        radius: jet radius R.
        jet_pt: the start jet's pT [GeV] (hover), if known.
        colour: marker colour.
        x_title: what the position means (slider label).
        frame_ms: duration of one frame in milliseconds.
    """
    positions = np.asarray(positions, dtype=float)
    path = np.asarray(path, dtype=float)
    if path.shape[0] != positions.size:
        raise ValueError(f"expected {positions.size} decoded steps, got {path.shape[0]}")
    toy = path.ndim == 2
    axis_titles = ("x₁", "x₂")
    if toy:
        (path,), axis_titles = to_plane(path)

    def step(k: int) -> dict:
        if toy:
            return scatter(x=path[: k + 1, 0], y=path[: k + 1, 1], mode="lines+markers",
                              name="decoded point", line={"color": colour, "width": 2},
                              marker={"size": 6, "color": colour})
        return particles_trace(path[k], jet_pt=jet_pt, colour=colour, name="decoded particles",
                               showlegend=False)

    fig = Spec(step(0))
    if toy:
        pad = 0.1 * float(np.ptp(path, axis=0).max() + 1e-6)
        lo, hi = path.min(0) - pad, path.max(0) + pad
        fig.update_xaxes(title_text=axis_titles[0], range=[lo[0], hi[0]])
        fig.update_yaxes(title_text=axis_titles[1], range=[lo[1], hi[1]], scaleanchor="x")
    else:
        lim = jet_extent(path, radius=radius)
        cone_and_axis(fig, radius, lim)
        x_axis, y_axis = AXIS_TITLES["aligned"]
        fig.update_xaxes(title_text=x_axis, range=[-lim, lim], zeroline=False)
        fig.update_yaxes(title_text=y_axis, range=[-lim, lim], zeroline=False,
                         scaleanchor="x", scaleratio=1)
    fig.frames = [{"name": str(k), "data": [step(k)], "traces": [0]}
                  for k in range(len(path))]
    fig.update_layout(showlegend=False, **play_controls(
        [(str(k), f"{p:+.2f}") for k, p in enumerate(positions)], frame_ms, f"{x_title}: ",
        y=-0.18, slider_x=0.25))
    fig.update_layout(margin={"b": 150})
    return finish(fig, "The decoded jet along the whole path" if not toy
                  else "The decoded point along the whole path", height=620)


def loss_curves_figure(epochs: Sequence[float], series: Mapping[str, Sequence[float]],
                       title: str = "Training loss", y_title: str = "loss per jet",
                       log_y: bool = True) -> go.Figure:
    """Loss curves per epoch (e.g. training and validation loss), live during training.

    Args:
        epochs: (E,) epoch numbers.
        series: name → (E,) values (non-finite values are left out of the line).
        title: figure title.
        y_title: y-axis title (with units when the loss has them).
        log_y: logarithmic y axis.
    """
    palette = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b"]
    fig = Spec()
    epochs = np.asarray(epochs, dtype=float)
    for k, (name, values) in enumerate(series.items()):
        values = np.asarray(values, dtype=float)
        if values.shape != epochs.shape:
            raise ValueError(f"{name}: expected {epochs.shape} values, got {values.shape}")
        ok = np.isfinite(values) & ((values > 0) if log_y else True)
        fig.add_trace(scatter(
            x=epochs[ok], y=values[ok], mode="lines+markers", name=name,
            line={"color": palette[k % len(palette)], "width": 3},
            hovertemplate=f"epoch %{{x}}<br>{name} = %{{y:.4g}}<extra></extra>",
        ))
    fig.update_xaxes(title_text="epoch", dtick=1 if epochs.size and epochs.max() <= 20 else None)
    fig.update_yaxes(title_text=y_title + (" (log)" if log_y else ""),
                     type="log" if log_y else "linear")
    return finish(fig, title, height=400)
