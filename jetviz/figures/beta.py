"""Figures of the β slider page: what a β-VAE encodes at each resolution β.

Built from the arrays of a model's stored β-scan (no model, no streamlit).
Vocabulary (talk 000, Collins; see ``/work/shared/BRIEF.md``):
  betas      (n_beta,)   the β grid, increasing, in the units of the reconstruction
                         distance (GeV for jets, the data's own units for the toys)
  kl         (n_beta, D) ⟨KL_i⟩ per latent dimension i over a sample, in nats
  d1, d2     (n_beta,)   the dimensionality curves D1(β) = −Σ_i d⟨KL_i⟩/d log β and
                         D2(β) = d⟨EMD²⟩/d(β²)
  emd        (N,)        reconstruction distance per jet at one β

Every latent dimension keeps its colour (``jetviz.figures.style.latent_colour``) in every
figure, so "z3" is the same colour on the bar chart, the KL curves and the walk page.
Figures are assembled with ``jetviz.figures.spec`` (fast enough for a slider).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import plotly.graph_objects as go

from jetviz.figures.spec import (
    Spec,
    bar,
    finish,
    fixed_margins,
    on,
    play_controls,
    scatter,
    subplots,
)
from jetviz.figures.style import FONT_SIZE, latent_colour

KL_FLOOR = 1e-3  # nats; smaller KLs are drawn at the floor of the log axis
ACTIVE_KL = 0.1  # nats; a dimension above this somewhere on the grid gets a legend entry
CURRENT_BETA = "current β"  # name of the marker trace showing the slider's β
_SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")
# px sizes of the fixed margins (spec.fixed_margins) of the figures redrawn at every step
TOP = 90  # title and subtitle
AXIS_GAP = 62  # below the plot: tick labels and the x-axis title, above any legend
LEGEND_ROW = 33  # one row of a legend below the plot (font size 15)


def format_beta(beta: float, unit: str = "GeV") -> str:
    """β with three significant digits and its unit, e.g. ``'12.3 GeV'``, ``'2.5·10⁻⁵'``."""
    beta = float(beta)
    if beta == 0 or 1e-3 <= abs(beta) < 1e4:
        text = f"{beta:.3g}" if abs(beta) < 999.5 else f"{beta:.0f}"
    else:  # 3.2e-05 reads badly on a projector
        mantissa, exponent = f"{beta:.2e}".split("e")
        text = f"{float(mantissa):.3g}·10{str(int(exponent)).translate(_SUPERSCRIPT)}"
    return f"{text} {unit}".strip()


def beta_axis_title(unit: str = "GeV") -> str:
    """The axis title of a β axis, with units when there are any."""
    return f"β [{unit}]" if unit else "β (data units)"


def dim_name(dim: int) -> str:
    """Display name of latent dimension ``dim``."""
    return f"z{dim}"


def _check_grid(betas: np.ndarray, *curves: np.ndarray) -> None:
    if betas.ndim != 1 or betas.size < 2:
        raise ValueError(f"expected a 1-D β grid of at least 2 values, got shape {betas.shape}")
    if np.any(betas <= 0):
        raise ValueError("β must be positive (the β axis is logarithmic)")
    for curve in curves:
        if curve.shape[0] != betas.size:
            raise ValueError(
                f"expected curves with {betas.size} rows (one per β), got shape {curve.shape}"
            )


def vertical_marker(x: float, y0: float, y1: float, colour: str = "#111111",
                     showlegend: bool = True, legendgroup: str = CURRENT_BETA,
                     label: str = "") -> dict:
    return scatter(
        x=[x, x], y=[y0, y1], mode="lines", name=CURRENT_BETA,
        line={"color": colour, "width": 3, "dash": "dash"},
        legendgroup=legendgroup, showlegend=showlegend,
        hovertemplate=f"{CURRENT_BETA}{label}<extra></extra>",
    )


def kl_curves_figure(betas: np.ndarray, kl: np.ndarray, beta: float | None,
                     unit: str = "GeV") -> go.Figure:
    """⟨KL_i⟩(β) of every latent dimension on log–log axes with a marker at ``beta``.

    A dimension whose KL rises as β falls has "switched on": the VAE pays for that
    information once the reconstruction is judged at resolutions finer than its scale.

    Args:
        betas: (n_beta,) increasing β grid.
        kl: (n_beta, D) ⟨KL_i⟩ in nats.
        beta: the current β (the marker), or None for no marker (the β page: the figure is
            then the same at every slider step, and the browser keeps it without redrawing).
        unit: unit of β.
    """
    betas = np.asarray(betas, dtype=float)
    kl = np.asarray(kl, dtype=float)
    _check_grid(betas, kl)
    fig = Spec()
    peak = kl.max(axis=0)
    order = np.argsort(-peak, kind="stable")
    inactive_shown = False
    for i in order:
        active = bool(peak[i] > ACTIVE_KL)
        show = active or not inactive_shown
        inactive_shown = inactive_shown or not active
        fig.add_trace(scatter(
            x=betas, y=np.maximum(kl[:, i], KL_FLOOR), mode="lines",
            name=dim_name(int(i)) if active else f"inactive (max KL < {ACTIVE_KL})",
            legendgroup=dim_name(int(i)) if active else "inactive",
            showlegend=show,
            line={"color": latent_colour(int(i)), "width": 2.5 if active else 1},
            opacity=1.0 if active else 0.5,
            customdata=kl[:, i],
            hovertemplate=(f"{dim_name(int(i))}<br>β = %{{x:.3g}} {unit}"
                           "<br>⟨KL⟩ = %{customdata:.3g} nats<extra></extra>"),
        ))
    y_top = max(float(kl.max()), 1.0) * 2
    if beta is not None:
        fig.add_trace(vertical_marker(beta, KL_FLOOR, y_top,
                                       label=f" = {format_beta(beta, unit)}"))
    # tick labels at decades only: readable, and fewer labels for the browser to measure
    fig.update_xaxes(type="log", title_text=beta_axis_title(unit), dtick=1)
    fig.update_yaxes(type="log", title_text="⟨KL_i⟩ [nats] (log)", dtick=1,
                     range=[np.log10(KL_FLOOR), np.log10(y_top)])
    # below the plot, four entries a row: every dimension's entry stays visible (a side
    # legend of 12+ entries scrolls and hides a third of them)
    entries = sum(t.get("showlegend", True) for t in fig.data)
    bottom = AXIS_GAP + (1 + -(-entries // 4)) * LEGEND_ROW + 10  # title row, then entries
    height = TOP + 300 + bottom
    fixed_margins(fig, height, TOP, bottom, legend_gap=AXIS_GAP, legend={
        "title": {"text": "latent dim", "side": "top left"}, "entrywidthmode": "fraction",
        "entrywidth": 0.2})
    return finish(fig, "KL of each latent dimension versus β",
                  subtitle="dimensions switch on as β falls", height=height)


def dimensionality_figure(betas: np.ndarray, d1: np.ndarray, d2: np.ndarray, beta: float | None,
                          unit: str = "GeV",
                          scales: Mapping[str, float] | None = None,
                          max_dim: int | None = None,
                          diagnostics: Mapping[str, np.ndarray | float] | None = None
                          ) -> go.Figure:
    """D1(β) and D2(β) with a marker at ``beta``; plateaus count active directions.

    Args:
        betas: (n_beta,) increasing β grid.
        d1: (n_beta,) D1 = −Σ_i d⟨KL_i⟩/d log β.
        d2: (n_beta,) D2 = d⟨EMD²⟩/d(β²).
        beta: the current β (the marker), or None for no marker (as in
            :func:`kl_curves_figure`).
        unit: unit of β.
        scales: known length scales of the data (e.g. the banana's thickness and size),
            drawn as labelled dotted vertical lines.
        max_dim: the latent dimension; the y axis stops just above it (D2 can shoot up at
            the smallest β, where the decoder cannot resolve β any more).
        diagnostics: what the scan stores beside D1 and D2 (jetviz.vae.dimensionality):
            ``d1_lo``/``d1_hi``/``d2_lo``/``d2_hi`` (n_beta,) bootstrap bands, drawn shaded;
            ``floor`` the reconstruction floor δ, below which the β axis is greyed out;
            ``n_directions`` (n_beta,) distinct active directions, drawn as steps.
    """
    betas = np.asarray(betas, dtype=float)
    d1 = np.asarray(d1, dtype=float)
    d2 = np.asarray(d2, dtype=float)
    _check_grid(betas, d1, d2)
    fig = Spec()
    diagnostics = diagnostics or {}
    for name, colour in (("d1", "rgba(31,119,180,0.25)"), ("d2", "rgba(214,39,40,0.2)")):
        lo, hi = diagnostics.get(f"{name}_lo"), diagnostics.get(f"{name}_hi")
        if lo is not None and hi is not None:
            fig.add_trace(scatter(
                x=np.concatenate([betas, betas[::-1]]),
                y=np.concatenate([np.asarray(hi, float), np.asarray(lo, float)[::-1]]),
                fill="toself", fillcolor=colour, line={"width": 0}, mode="lines",
                name=f"{name.upper()} 16–84 % (bootstrap)", hoverinfo="skip"))
    fig.add_trace(scatter(
        x=betas, y=d1, mode="lines+markers", name="D1 = −Σ d⟨KL_i⟩/d log β",
        line={"color": "#1f77b4", "width": 3}, marker={"size": 6},
        hovertemplate=f"β = %{{x:.3g}} {unit}<br>D1 = %{{y:.2f}}<extra></extra>",
    ))
    fig.add_trace(scatter(
        x=betas, y=d2, mode="lines+markers", name="D2 = d⟨EMD²⟩/d(β²)",
        line={"color": "#d62728", "width": 3, "dash": "dot"}, marker={"size": 6},
        hovertemplate=f"β = %{{x:.3g}} {unit}<br>D2 = %{{y:.2f}}<extra></extra>",
    ))
    finite = np.concatenate([d1[np.isfinite(d1)], d2[np.isfinite(d2)], [0.0, 1.0]])
    y_lo = max(min(0.0, float(finite.min())), -1.0) - 0.3
    y_hi = float(finite.max()) + 0.8
    if max_dim is not None:
        y_hi = min(y_hi, max_dim + 0.8)
    if diagnostics.get("n_directions") is not None:
        fig.add_trace(scatter(
            x=betas, y=np.asarray(diagnostics["n_directions"], float), mode="lines",
            line={"color": "#2ca02c", "width": 2, "shape": "hvh"},
            name="distinct active directions (copies merged)",
            hovertemplate=f"β = %{{x:.3g}} {unit}<br>%{{y:.0f}} distinct directions"
                          "<extra></extra>"))
    floor = diagnostics.get("floor")
    if floor is not None and float(floor) > betas[0]:
        grey = "rgba(127,127,127,0.18)"
        fig.add_shape(type="rect", xref="x", yref="paper", x0=float(betas[0]),
                      x1=min(float(floor), float(betas[-1])), y0=0, y1=1, layer="below",
                      fillcolor=grey, line={"width": 0})
        fig.add_trace(scatter(  # the shaded region's legend entry
            x=[None], y=[None], mode="markers", hoverinfo="skip",
            marker={"symbol": "square", "size": 14, "color": "rgba(127,127,127,0.35)"},
            name=f"β < reconstruction floor δ = {format_beta(float(floor), unit)}"))
    if beta is not None:
        fig.add_trace(vertical_marker(beta, y_lo, y_hi,
                                       label=f" = {format_beta(beta, unit)}"))
    for name, value in (scales or {}).items():
        fig.add_trace(scatter(
            x=[value, value], y=[y_lo, y_hi], mode="lines+text",
            name=f"{name} = {format_beta(value, unit)}",
            text=["", name], textposition="bottom right", textfont={"size": FONT_SIZE},
            line={"color": "#7f7f7f", "width": 2, "dash": "dot"},
            hovertemplate=f"{name} of the data = {format_beta(value, unit)}<extra></extra>",
        ))
    fig.update_xaxes(type="log", title_text=beta_axis_title(unit), dtick=1)  # decades
    fig.update_yaxes(title_text="dimension D",
                     range=[y_lo, y_hi], dtick=1 if y_hi < 12 else None, zeroline=True)
    entries = sum(t.get("showlegend", True) for t in fig.data)  # one a row: long names
    bottom = AXIS_GAP + entries * LEGEND_ROW + 10
    height = TOP + 300 + bottom
    fixed_margins(fig, height, TOP, bottom, legend_gap=AXIS_GAP)
    return finish(fig, "Dimensionality at scale β",
                  subtitle="the height of a plateau = the number of active directions",
                  height=height)


def beta_sweep_figure(betas: np.ndarray, kl: np.ndarray, d1: np.ndarray, unit: str = "GeV",
                      frame_ms: int = 350) -> go.Figure:
    """An animation over the β grid, played in the browser: KL bars beside D1(β).

    The bars keep one fixed order (the order in which dimensions switch on as β falls) so a
    lecture audience sees each dimension rise in its own place; the right panel moves a
    marker along D1(β). It has its own play/pause buttons and slider, so a sweep needs no
    rerun of the page.

    Args:
        betas: (n_beta,) increasing β grid (the animation plays from large to small β).
        kl: (n_beta, D) ⟨KL_i⟩ in nats.
        d1: (n_beta,) D1(β).
        unit: unit of β.
        frame_ms: duration of one frame in milliseconds.
    """
    betas = np.asarray(betas, dtype=float)
    kl = np.asarray(kl, dtype=float)
    d1 = np.asarray(d1, dtype=float)
    _check_grid(betas, kl, d1)
    # switch-on order: dimensions whose KL stays high up to larger β come first
    order = np.argsort(-np.log(np.maximum(kl, KL_FLOOR)).sum(0), kind="stable")
    names = [dim_name(int(i)) for i in order]
    colours = [latent_colour(int(i)) for i in order]
    y_top = np.log10(max(float(kl.max()), 1.0) * 2)
    d_lo, d_hi = min(0.0, float(np.nanmin(d1))) - 0.3, float(np.nanmax(d1)) + 0.8
    sweep = list(range(len(betas) - 1, -1, -1))  # large β → small β: dimensions switch on

    def bars(k: int) -> dict:
        return bar(**on(1), x=names, y=np.maximum(kl[k, order], KL_FLOOR), marker_color=colours,
                      customdata=kl[k, order], showlegend=False, name="⟨KL_i⟩",
                      hovertemplate="%{x}: ⟨KL⟩ = %{customdata:.3g} nats<extra></extra>")

    def marker(k: int) -> dict:
        return scatter(**on(2), x=[betas[k], betas[k]], y=[d_lo, d_hi], mode="lines",
                          name=CURRENT_BETA, showlegend=False,
                          line={"color": "#111111", "width": 3, "dash": "dash"},
                          hovertemplate=f"β = {format_beta(betas[k], unit)}<extra></extra>")

    def title(k: int) -> str:
        return (f"β sweep: β = {format_beta(betas[k], unit)}, D1 = {d1[k]:.2f}, "
                f"Σ KL = {kl[k].sum():.3g} nats")

    fig = subplots(1, 2, column_widths=[0.55, 0.45], h_space=0.1)
    first = sweep[0]
    fig.add_trace(bars(first))
    fig.add_trace(scatter(x=betas, y=d1, mode="lines", name="D1(β)", showlegend=False,
                          line={"color": "#1f77b4", "width": 3},
                          hovertemplate=f"β = %{{x:.3g}} {unit}<br>D1 = %{{y:.2f}}"
                                        "<extra></extra>", **on(2)))
    fig.add_trace(marker(first))
    fig.frames = [
        {"name": str(k), "data": [bars(k), marker(k)], "traces": [0, 2],
         "layout": {"title": {"text": title(k)}}}
        for k in sweep
    ]
    fig.update_layout(
        yaxis={"type": "log", "range": [np.log10(KL_FLOOR), y_top],
               "title": {"text": "⟨KL_i⟩ [nats] (log)"}},
        xaxis={"title": {"text": "latent dimension (switch-on order)"}},
        xaxis2={"type": "log", "title": {"text": beta_axis_title(unit)}},
        yaxis2={"range": [d_lo, d_hi], "title": {"text": "D1 (active directions)"}},
    )
    fig.update_layout(**play_controls(
        [(str(k), format_beta(betas[k], unit)) for k in sweep], frame_ms, "β = ",
        y=-0.2, slider_x=0.2))
    fig.update_layout(margin={"b": 170})
    return finish(fig, title(first), height=560)
