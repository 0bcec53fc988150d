"""The figures of one β: ⟨KL_i⟩ per latent dimension and the reconstruction distance per jet.

These change at every step of the β slider; the β page shows both in one figure
(:func:`beta_step_figure`, two panels side by side), which the browser draws in one pass
instead of two (``benchmarks/beta_step.py`` prints its CPU time per step). Each panel is also
a figure of its own (:func:`kl_bar_figure`, :func:`emd_histogram_figure`). Vocabulary as in
:mod:`jetviz.figures.beta`: ``kl`` (D,) ⟨KL_i⟩ at one β in nats, ``emd`` (N,) reconstruction
distance per jet at that β, in the units of β.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go

from jetviz.figures.beta import (
    ACTIVE_KL,
    AXIS_GAP,
    KL_FLOOR,
    LEGEND_ROW,
    TOP,
    dim_name,
    format_beta,
    vertical_marker,
)
from jetviz.figures.spec import Spec, axis_names, bar, finish, fixed_margins, on, scatter, subplots
from jetviz.figures.style import FONT_SIZE, ROLE_COLOURS, latent_colour

PLOT_PX = 300  # height of the plot area


@dataclass
class Panel:
    """One panel's traces, axes and note, to be placed on panel k of a figure."""

    traces: list[dict]
    xaxis: dict
    yaxis: dict
    subtitle: str
    note: str = ""  # a text in the panel's top right corner (empty: none)

    def place(self, fig: Spec, k: int) -> None:
        """Put the panel on panel ``k`` of ``fig`` (1 for a figure of its own)."""
        xa, ya, x, _ = axis_names(k)
        for trace in self.traces:
            fig.add_trace({**trace, **on(k)})
        fig.update_layout({xa: self.xaxis, ya: self.yaxis})
        if self.note:
            fig.update_layout(annotations=[*fig.layout.get("annotations", []), {
                "text": self.note, "x": 1, "xref": f"{x} domain", "y": 1, "yref": "paper",
                "xanchor": "right", "yanchor": "top", "showarrow": False,
                "font": {"size": FONT_SIZE}}])


def kl_panel(kl: np.ndarray) -> Panel:
    """⟨KL_i⟩ per dimension as bars sorted from the most to the least informative."""
    kl = np.asarray(kl, dtype=float)
    if kl.ndim != 1:
        raise ValueError(f"expected (D,) KL values, got shape {kl.shape}")
    order = np.argsort(-kl, kind="stable")
    n_active = int((kl > ACTIVE_KL).sum())
    bars = bar(
        x=[dim_name(int(i)) for i in order], y=np.maximum(kl[order], KL_FLOOR),
        marker_color=[latent_colour(int(i)) for i in order], customdata=kl[order],
        hovertemplate="%{x}: ⟨KL⟩ = %{customdata:.3g} nats<extra></extra>",
        name="⟨KL_i⟩", showlegend=False)
    return Panel(
        [bars], {"title": {"text": "latent dimension (sorted by KL)"}},
        {"type": "log", "title": {"text": "⟨KL_i⟩ [nats] (log)"}, "dtick": 1,  # decades only
         "range": [np.log10(KL_FLOOR), np.log10(max(kl.max(), 1.0) * 2)]},
        f"{n_active} active (> {ACTIVE_KL} nats), Σ KL = {float(kl.sum()):.3g} nats")


def emd_panel(emd: np.ndarray, beta: float, unit: str = "GeV", distance_name: str = "EMD",
              what: str = "jets") -> Panel:
    """Histogram of the reconstruction distance per jet, with β and the median marked.

    β is the resolution of the reconstruction (talk 000): most jets are rebuilt to within a
    distance of order β.
    """
    emd = np.asarray(emd, dtype=float)
    if emd.ndim != 1 or emd.size == 0:
        raise ValueError(f"expected a non-empty (N,) array of distances, got shape {emd.shape}")
    median = float(np.median(emd))
    unit_text = f" [{unit}]" if unit else ""
    counts, edges = np.histogram(emd, bins=40)
    width = float(edges[1] - edges[0])
    top = counts.max() * 1.05
    traces = [
        # binned here: 40 bars instead of every distance for the browser to bin
        bar(x=(edges[:-1] + edges[1:]) / 2, y=counts, width=width, name=f"{emd.size} {what}",
            customdata=np.stack([edges[:-1], edges[1:]], -1),
            marker={"color": ROLE_COLOURS["reconstructed"], "line": {"width": 0}}, opacity=0.85,
            hovertemplate=(f"{distance_name} %{{customdata[0]:.3g}}–%{{customdata[1]:.3g}}"
                           f"{unit_text}<br>%{{y}} {what}<extra></extra>")),
        vertical_marker(beta, 0, top, label=f" = {format_beta(beta, unit)}"),
        scatter(x=[median, median], y=[0, top], mode="lines",
                name=f"median = {format_beta(median, unit)}",
                line={"color": ROLE_COLOURS["true"], "width": 2},
                hovertemplate=f"median {distance_name} = {format_beta(median, unit)}"
                              "<extra></extra>"),
    ]
    # the axis spans the data: a β far beyond every distance is named, not drawn, so it does
    # not squeeze the histogram into a corner
    x_hi = float(edges[-1]) + 2 * width
    off_scale = beta > x_hi
    return Panel(
        traces,
        {"title": {"text": f"reconstruction {distance_name}{unit_text}"},
         "range": [min(0.0, float(edges[0])), x_hi if off_scale else max(x_hi, 1.05 * beta)]},
        {"title": {"text": what}},
        f"{emd.size} {what}, reconstructed at z = μ",
        note=f"β = {format_beta(beta, unit)} →" if off_scale else "")


def _height(legend: bool) -> tuple[int, int]:
    bottom = AXIS_GAP + (2 * LEGEND_ROW if legend else 0) + 10  # legend: one or two rows
    return TOP + PLOT_PX + bottom, bottom


def kl_bar_figure(kl: np.ndarray, beta: float, unit: str = "GeV") -> go.Figure:
    """Per-dimension ⟨KL_i⟩ at one β as bars sorted from the most to the least informative.

    Args:
        kl: (D,) mean KL per latent dimension at ``beta``, in nats.
        beta: the β these KLs belong to (shown in the title).
        unit: unit of β.
    """
    panel, fig = kl_panel(kl), Spec()
    panel.place(fig, 1)
    height, bottom = _height(False)
    fixed_margins(fig, height, TOP, bottom)
    return finish(fig, f"KL per dimension at β = {format_beta(beta, unit)}",
                  subtitle=panel.subtitle, height=height)


def emd_histogram_figure(emd: np.ndarray, beta: float, unit: str = "GeV",
                         distance_name: str = "EMD", what: str = "jets") -> go.Figure:
    """Histogram of the per-jet reconstruction distance at one β, with β marked.

    Args:
        emd: (N,) reconstruction distance per jet (EMD in GeV for jets).
        beta: the current β.
        unit: unit of both.
        distance_name: what the distance is called ("EMD" for jets).
        what: what was reconstructed ("jets", "points").
    """
    panel, fig = emd_panel(emd, beta, unit, distance_name, what), Spec()
    panel.place(fig, 1)
    fig.update_layout(bargap=0.02)
    height, bottom = _height(True)
    fixed_margins(fig, height, TOP, bottom, legend_gap=AXIS_GAP)
    return finish(fig, f"Reconstruction {distance_name} at β = {format_beta(beta, unit)}",
                  height=height, subtitle=panel.subtitle)


def beta_step_figure(kl: np.ndarray, emd: np.ndarray, beta: float, unit: str = "GeV",
                     distance_name: str = "EMD", what: str = "jets") -> go.Figure:
    """Both figures of one β side by side in one figure: the KL bars (:func:`kl_panel`) left,
    the reconstruction-distance histogram (:func:`emd_panel`) right; arguments as theirs."""
    panels = [kl_panel(kl), emd_panel(emd, beta, unit, distance_name, what)]
    fig = subplots(1, 2, column_widths=[0.42, 0.58], h_space=0.1,
                   titles=[p.subtitle for p in panels])
    for k, panel in enumerate(panels, start=1):
        panel.place(fig, k)
    fig.update_layout(bargap=0.02)
    height, bottom = _height(True)
    right = fig.layout["xaxis2"]["domain"][0]  # the legend lists the histogram's traces
    fixed_margins(fig, height, TOP, bottom, legend_gap=AXIS_GAP, legend={"x": right})
    return finish(fig, f"KL per dimension and reconstruction {distance_name} at β = "
                       f"{format_beta(beta, unit)}", height=height)
