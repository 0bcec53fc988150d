"""Figures of point models (the toys of known scales and a user's points): the data, the
data with its reconstructions at one β, and the data with a decoded latent path.

Vocabulary: ``points`` (N, d) of any dimension d, drawn in a plane by :func:`to_plane`
(the two leading principal axes when d ≥ 3); distances in the data's own units.
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from jetviz.figures.beta import format_beta
from jetviz.figures.spec import Spec, finish, scatter
from jetviz.figures.style import ROLE_COLOURS


def to_plane(points: np.ndarray, *others: np.ndarray) -> tuple[list[np.ndarray], tuple[str, str]]:
    """Points of any dimension d drawn in a plane: (x₁, x₂) for d = 2, (x₁, 0) for d = 1, and
    the two leading principal axes of ``points`` for d ≥ 3 (``others`` projected the same way).

    Returns:
        ([points, *others] as (N, 2) arrays, the two axis titles).
    """
    arrays = [np.asarray(a, dtype=float) for a in (points, *others)]
    d = arrays[0].shape[1]
    if any(a.ndim != 2 or a.shape[1] != d for a in arrays):
        raise ValueError(f"expected (N, d) arrays of one d, got {[a.shape for a in arrays]}")
    if d == 2:
        return arrays, ("x₁", "x₂")
    if d == 1:
        return [np.concatenate([a, np.zeros_like(a)], 1) for a in arrays], ("x₁", "")
    centre = arrays[0].mean(0)
    axes = np.linalg.svd(arrays[0] - centre, full_matrices=False)[2][:2]  # (2, d)
    return [(a - centre) @ axes.T for a in arrays], ("principal axis 1", "principal axis 2")


def points_figure(points: np.ndarray, title: str, unit: str = "") -> go.Figure:
    """A cloud of points of any dimension (drawn by :func:`to_plane`), equal axis scales."""
    (points,), (x_title, y_title) = to_plane(points)
    fig = Spec(scatter(x=points[:, 0], y=points[:, 1], mode="markers", name="data",
                         marker={"color": ROLE_COLOURS["true"], "size": 4, "opacity": 0.4},
                         hovertemplate="(%{x:.4g}, %{y:.4g})<extra></extra>"))
    unit_text = f" [{unit}]" if unit else ""
    fig.update_xaxes(title_text=f"{x_title}{unit_text}")
    fig.update_yaxes(title_text=f"{y_title}{unit_text}", scaleanchor="x", scaleratio=1)
    return finish(fig, title, height=460)


def banana_figure(points: np.ndarray, reconstructions: np.ndarray, beta: float,
                  unit: str = "", n_links: int = 60, name: str = "Toy banana") -> go.Figure:
    """Toy points with their reconstructions at one β.

    Above the band's thickness the reconstructions collapse onto a 1-D curve; above its
    size they collapse onto a point.

    Args:
        points: (N, d) data (d ≠ 2 is drawn by :func:`to_plane`).
        reconstructions: (N, d) decoded points.
        beta: the current β (title).
        unit: unit of the data (empty for the dimensionless toy).
        n_links: draw a segment from a point to its reconstruction for this many points.
        name: what the points are (title).
    """
    if np.shape(points) != np.shape(reconstructions):
        raise ValueError(f"expected two (N, d) arrays, got {np.shape(points)} and "
                         f"{np.shape(reconstructions)}")
    (points, reconstructions), (x_title, y_title) = to_plane(points, reconstructions)
    fig = Spec()
    fig.add_trace(scatter(
        x=points[:, 0], y=points[:, 1], mode="markers", name="data",
        marker={"color": ROLE_COLOURS["true"], "size": 5, "opacity": 0.35},
        hovertemplate="data (%{x:.3f}, %{y:.3f})<extra></extra>",
    ))
    m = min(n_links, len(points))
    xs = np.stack([points[:m, 0], reconstructions[:m, 0], np.full(m, np.nan)], 1).ravel()
    ys = np.stack([points[:m, 1], reconstructions[:m, 1], np.full(m, np.nan)], 1).ravel()
    fig.add_trace(scatter(x=xs, y=ys, mode="lines", name="point → reconstruction",
                             line={"color": "#999999", "width": 1}, hoverinfo="skip"))
    fig.add_trace(scatter(
        x=reconstructions[:, 0], y=reconstructions[:, 1], mode="markers",
        name="reconstruction",
        marker={"color": ROLE_COLOURS["reconstructed"], "size": 6, "opacity": 0.8},
        hovertemplate="reconstruction (%{x:.3f}, %{y:.3f})<extra></extra>",
    ))
    unit_text = f" [{unit}]" if unit else ""
    fig.update_xaxes(title_text=f"{x_title}{unit_text}")
    fig.update_yaxes(title_text=f"{y_title}{unit_text}", scaleanchor="x", scaleratio=1)
    fig.update_layout(legend={"orientation": "h", "y": -0.18, "x": 0})
    return finish(fig, f"{name} and its reconstructions at β = {format_beta(beta, unit)}",
                  height=520)


def toy_walk_figure(points: np.ndarray, path: np.ndarray, index: int,
                    colour: str = ROLE_COLOURS["reconstructed"]) -> go.Figure:
    """The toy data with a decoded latent path through it and the current point marked.

    Args:
        points: (N, d) toy data (drawn by :func:`to_plane`).
        path: (T, d) decoded points along the path.
        index: the current step.
        colour: colour of the path.
    """
    (points, path), (x_title, y_title) = to_plane(points, path)
    fig = Spec()
    fig.add_trace(scatter(x=points[:, 0], y=points[:, 1], mode="markers", name="data",
                             marker={"color": ROLE_COLOURS["true"], "size": 4, "opacity": 0.3},
                             hoverinfo="skip"))
    fig.add_trace(scatter(x=path[:, 0], y=path[:, 1], mode="lines", name="decoded path",
                             line={"color": colour, "width": 3},
                             hovertemplate="(%{x:.3f}, %{y:.3f})<extra></extra>"))
    fig.add_trace(scatter(x=[path[index, 0]], y=[path[index, 1]], mode="markers",
                             name="current position",
                             marker={"color": "#111111", "size": 14, "symbol": "diamond"},
                             hovertemplate="here: (%{x:.3f}, %{y:.3f})<extra></extra>"))
    fig.update_xaxes(title_text=x_title)
    fig.update_yaxes(title_text=y_title, scaleanchor="x", scaleratio=1)
    fig.update_layout(legend={"orientation": "h", "y": -0.18, "x": 0})
    return finish(fig, "The decoded point along the path, over the toy data", height=480)
