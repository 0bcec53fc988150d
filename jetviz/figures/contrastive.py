"""Figures of the contrastive pages.

Theory map (talk 003): ``theory_colours``, ``theory_map_figure``, ``selection_histograms``,
``mass_plane_figure``, ``event_panels`` (events in the transverse plane: a clicked point and
its neighbours). They take arrays already computed (``jetviz.theorymap.maps``) and a theory
table, and return plotly figures.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.express as px
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from jetviz.events import EVENT_FEATURES, Theory
from jetviz.figures.style import FONT_SIZE, layout

BACKGROUND_COLOURS: dict[str, str] = {"qcd": "#7f7f7f", "ttbar": "#8c564b"}
UNPHYSICAL_COLOUR = "#e7298a"
USER_COLOUR = "#000000"
_OTHER = px.colors.qualitative.Dark2


def _is_susy(t: Theory) -> bool:
    return t.kind == "susy" and np.isfinite([t.m_gluino, t.m_neutralino]).all()


def theory_label(t: Theory) -> str:
    """Legend label: the masses for a SUSY point, the name otherwise."""
    if _is_susy(t):
        return f"m_g̃ {t.m_gluino:g}, m_χ̃ {t.m_neutralino:g} GeV"
    return "unphysical (shuffled)" if t.kind == "unphysical" else t.name


def theory_colours(theories: Sequence[Theory]) -> list[str]:
    """One colour per theory: SUSY points on a sequential (viridis) scale ordered by
    (m_g̃, m_χ̃); backgrounds and the unphysical sample in distinct fixed colours."""
    susy = sorted((i for i, t in enumerate(theories) if _is_susy(t)),
                  key=lambda i: (theories[i].m_gluino, theories[i].m_neutralino))
    scale = px.colors.sample_colorscale(
        "Viridis", list(np.linspace(0.0, 0.9, len(susy))) if len(susy) > 1 else [0.0])
    colours = [""] * len(theories)
    for rank, i in enumerate(susy):
        colours[i] = scale[rank]
    other = 0
    for i, t in enumerate(theories):
        if colours[i]:
            continue
        if t.kind == "unphysical":
            colours[i] = UNPHYSICAL_COLOUR
        elif t.name in BACKGROUND_COLOURS:
            colours[i] = BACKGROUND_COLOURS[t.name]
        else:
            colours[i] = _OTHER[other % len(_OTHER)]
            other += 1
    return colours


def _order(theories: Sequence[Theory]) -> list[int]:
    """Legend order: SUSY by mass, then backgrounds, then unphysical."""
    def key(i: int) -> tuple:
        t = theories[i]
        rank = 0 if _is_susy(t) else (2 if t.kind == "unphysical" else 1)
        return (rank, t.m_gluino if _is_susy(t) else 0, t.m_neutralino if _is_susy(t) else 0, i)
    return sorted(range(len(theories)), key=key)


def _mass_text(t: Theory) -> str:
    if _is_susy(t):
        return f"m_g̃ = {t.m_gluino:g} GeV<br>m_χ̃ = {t.m_neutralino:g} GeV"
    return f"{t.kind}: no SUSY masses"


def theory_map_figure(xy: np.ndarray, theory: np.ndarray, theories: Sequence[Theory], *,
                      title: str, axis: str = "UMAP", set_size: int = 1,
                      user_xy: np.ndarray | None = None,
                      user_names: np.ndarray | None = None) -> go.Figure:
    """The 2-D theory map: one point per set of N events, one trace per theory.

    Args:
        xy: (P, 2) map coordinates.
        theory: (P,) theory index of each point.
        theories: the theory table.
        title: figure title.
        axis: "UMAP" or "PCA" (axis titles).
        set_size: N, for the hover text.
        user_xy: (Q, 2) the user's projected sets, drawn on top as black stars.
        user_names: (Q,) the theory name of each of the user's sets (hover).

    Returns:
        The figure; each point's ``customdata[0]`` is its row in ``xy`` (for selections).
    """
    colours = theory_colours(theories)
    what = "event" if set_size == 1 else f"set of {set_size} events"
    fig = go.Figure()
    for t in _order(theories):
        rows = np.flatnonzero(theory == t)
        if rows.size == 0:
            continue
        th = theories[t]
        fig.add_trace(go.Scattergl(
            x=xy[rows, 0], y=xy[rows, 1], mode="markers", name=theory_label(th),
            marker={"size": 6 if set_size == 1 else 9, "color": colours[t], "opacity": 0.75,
                    "symbol": "diamond" if th.kind == "unphysical" else "circle"},
            customdata=np.stack([rows, np.full(rows.size, t)], axis=1),
            hovertemplate=(f"<b>{th.name}</b><br>{_mass_text(th)}<br>one {what}<br>"
                           f"{axis} (%{{x:.2f}}, %{{y:.2f}})<extra></extra>"),
        ))
    if user_xy is not None and len(user_xy):
        names = user_names if user_names is not None else np.full(len(user_xy), "your events")
        fig.add_trace(go.Scattergl(
            x=user_xy[:, 0], y=user_xy[:, 1], mode="markers", name="your events",
            marker={"size": 13, "color": USER_COLOUR, "symbol": "star",
                    "line": {"color": "white", "width": 1}},
            customdata=np.stack([np.full(len(user_xy), -1), np.full(len(user_xy), -1)], 1),
            text=names,
            hovertemplate=(f"<b>your events</b>: %{{text}}<br>one {what}<br>"
                           f"{axis} (%{{x:.2f}}, %{{y:.2f}})<extra></extra>"),
        ))
    layout(fig, title, 620, margin={"l": 70, "r": 10, "t": 60, "b": 60},
           xaxis_title=f"{axis} 1 (a.u.)", yaxis_title=f"{axis} 2 (a.u.)",
           legend={"title": {"text": "theory"}, "itemsizing": "constant"},
           # zoom, not lasso: Streamlit turns a click into a one-point selection (the page
           # shows that point) only outside the box and lasso tools, which the mode bar offers
           dragmode="zoom")
    return fig


def selection_histograms(met_sel: np.ndarray, met_all: np.ndarray, j1_sel: np.ndarray,
                         j1_all: np.ndarray, *, bins: int = 40) -> go.Figure:
    """MET and leading-jet pT of the selected events against the whole map sample.

    Args:
        met_sel, j1_sel: selected events' MET and leading-jet pT [GeV] (any shape, flattened).
        met_all, j1_all: the same for every event on the map.
        bins: histogram bins over the range of the whole sample.

    Returns:
        Two panels of normalised histograms (fraction of events per bin).
    """
    fig = make_subplots(rows=1, cols=2, subplot_titles=("missing E_T", "leading-jet p_T"))
    for col, (sel, full, name) in enumerate(((met_sel, met_all, "MET"),
                                             (j1_sel, j1_all, "leading-jet pT")), start=1):
        full, sel = np.ravel(full), np.ravel(sel)
        edges = np.linspace(0.0, float(np.quantile(full, 0.995)) if full.size else 1.0, bins + 1)
        for values, label, colour in ((full, "whole sample", "#999999"),
                                      (sel, "selection", "#d62728")):
            if values.size == 0:
                continue
            counts, _ = np.histogram(np.clip(values, edges[0], edges[-1]), bins=edges)
            fig.add_trace(go.Bar(
                x=0.5 * (edges[1:] + edges[:-1]), y=counts / values.size, width=np.diff(edges),
                name=f"{label} ({values.size} events)", marker_color=colour, opacity=0.6,
                showlegend=col == 1, legendgroup=label,
                hovertemplate=f"{name} %{{x:.0f}} GeV<br>fraction %{{y:.3f}}<extra>{label}"
                              "</extra>"), row=1, col=col)
        fig.update_xaxes(title_text=f"{name} [GeV]", row=1, col=col)
        fig.update_yaxes(title_text="fraction of events", row=1, col=col)
    layout(fig, "Selected events against the whole sample", 380, barmode="overlay",
           legend={"orientation": "h", "y": -0.25})
    return fig


def mass_plane_figure(centroids: np.ndarray, theories: Sequence[Theory], *,
                      axis: str = "UMAP") -> go.Figure:
    """Does the map echo the mass plane? Left: the SUSY grid in (m_g̃, m_χ̃); right: the
    theories' centroids on the map, SUSY points joined along lines of equal m_g̃ (solid) and
    equal m_χ̃ (dotted), so a grid that survives the embedding shows as a (bent) grid.

    Args:
        centroids: (T, 2) mean map position of each theory.
        theories: the theory table.
        axis: "UMAP" or "PCA" (axis titles).
    """
    colours = theory_colours(theories)
    susy = [i for i, t in enumerate(theories) if _is_susy(t)]
    fig = make_subplots(rows=1, cols=2, horizontal_spacing=0.14,
                        subplot_titles=("theories in the mass plane", f"their centroids ({axis})"))
    for key, dash in (("m_gluino", "solid"), ("m_neutralino", "dot")):
        other = "m_neutralino" if key == "m_gluino" else "m_gluino"
        for value in sorted({getattr(theories[i], key) for i in susy}):
            line = sorted((i for i in susy if getattr(theories[i], key) == value),
                          key=lambda i: getattr(theories[i], other))
            if len(line) < 2:
                continue
            for col, pts in ((1, [[theories[i].m_gluino, theories[i].m_neutralino]
                                  for i in line]), (2, centroids[line].tolist())):
                pts = np.asarray(pts)
                fig.add_trace(go.Scatter(x=pts[:, 0], y=pts[:, 1], mode="lines",
                                         line={"color": "#bbbbbb", "dash": dash},
                                         hoverinfo="skip", showlegend=False), row=1, col=col)
    for i in susy:
        t = theories[i]
        for col, (x, y) in ((1, (t.m_gluino, t.m_neutralino)), (2, centroids[i])):
            fig.add_trace(go.Scatter(
                x=[x], y=[y], mode="markers", marker={"size": 14, "color": colours[i]},
                name=theory_label(t), showlegend=False,
                hovertemplate=f"<b>{t.name}</b><br>{_mass_text(t)}<extra></extra>"),
                row=1, col=col)
    for i, t in enumerate(theories):
        if i in susy:
            continue
        fig.add_trace(go.Scatter(
            x=[centroids[i, 0]], y=[centroids[i, 1]], mode="markers+text", text=[t.name],
            textposition="top center", showlegend=False,
            marker={"size": 14, "color": colours[i],
                    "symbol": "diamond" if t.kind == "unphysical" else "square"},
            hovertemplate=f"<b>{t.name}</b><br>{t.kind}<extra></extra>"), row=1, col=2)
    fig.update_xaxes(title_text="m_g̃ [GeV]", row=1, col=1)
    fig.update_yaxes(title_text="m_χ̃ [GeV]", row=1, col=1)
    fig.update_xaxes(title_text=f"{axis} 1 (a.u.)", row=1, col=2)
    fig.update_yaxes(title_text=f"{axis} 2 (a.u.)", row=1, col=2)
    layout(fig, "Does the map echo the mass plane?", 400)
    return fig


JET_COLOUR, MET_COLOUR = "#1f77b4", "#d62728"


def event_panels(events: np.ndarray, titles: Sequence[str], title: str,
                 height: int = 320) -> go.Figure:
    """Events side by side in the transverse plane: each of the four leading jets an arrow of
    length pT along its φ, the missing transverse momentum a dashed red arrow along φ_MET.

    Args:
        events: (K, 18) events in the order of ``jetviz.events.EVENT_FEATURES`` (raw GeV);
            jets with pT = 0 (fewer than four in the event) are not drawn.
        titles: one panel title per event.
        title: the figure title.
        height: figure height in px.

    Returns:
        K panels on one shared scale (the largest pT or MET of all of them).
    """
    events = np.asarray(events, dtype=np.float64).reshape(-1, len(EVENT_FEATURES))
    k = max(len(events), 1)
    fig = make_subplots(rows=1, cols=k, subplot_titles=list(titles), horizontal_spacing=0.03)
    jets = events[:, :16].reshape(-1, 4, 4)  # (K, jet, (pT, η, φ, m))
    reach = 1.15 * max(float(np.max(jets[..., 0], initial=0.0)),
                       float(np.max(events[:, 16], initial=0.0)), 1.0)
    for e, (event, four) in enumerate(zip(events, jets, strict=True)):
        arrows = [(f"jet {j + 1}", pt, phi, f"η = {eta:.2f}<br>m = {m:.0f} GeV", JET_COLOUR,
                   "solid") for j, (pt, eta, phi, m) in enumerate(four) if pt > 0]
        arrows.append(("MET", event[16], event[17], "missing p<sub>T</sub>", MET_COLOUR, "dash"))
        for name, pt, phi, extra, colour, dash in arrows:
            x, y = pt * np.cos(phi), pt * np.sin(phi)
            fig.add_trace(go.Scatter(
                x=[0.0, x], y=[0.0, y], mode="lines+markers", showlegend=False,
                line={"color": colour, "dash": dash, "width": 2},
                marker={"size": [0, 9], "color": colour, "symbol": "circle"},
                hovertemplate=(f"<b>{name}</b><br>p<sub>T</sub> = {pt:.0f} GeV<br>"
                               f"φ = {phi:.2f}<br>{extra}<extra></extra>")), row=1, col=e + 1)
        fig.update_xaxes(range=[-reach, reach], title_text="p<sub>x</sub> [GeV]", nticks=4,
                         row=1, col=e + 1)
        fig.update_yaxes(range=[-reach, reach], scaleanchor=f"x{'' if e == 0 else e + 1}",
                         title_text="p<sub>y</sub> [GeV]" if e == 0 else None,
                         showticklabels=e == 0, row=1, col=e + 1)
    layout(fig, title, height, margin={"l": 70, "r": 20, "t": 110, "b": 50})
    fig.update_annotations(font_size=FONT_SIZE - 2)  # panel titles: two short lines each
    return fig


def selected_map_rows(points: Sequence[dict]) -> np.ndarray:
    """Sorted unique map rows of the points of a selection on ``theory_map_figure``.

    Each point's ``customdata[0]`` is its row in the map (−1 for the user's own points, which
    are left out). Plotly sends a numpy ``customdata`` row as a typed array, which reaches
    Python as a dict keyed by position as text ({"0": row, "1": theory}); a list comes back
    as a list; points without customdata are left out.
    """
    rows = [row for p in points if (row := _map_row(p)) is not None and row >= 0]
    return np.unique(np.asarray(rows, dtype=int))


def clicked_map_row(points: Sequence[dict]) -> int | None:
    """The map row of a click: the row of a selection of exactly one map point, else None
    (a box or lasso over several points is not a click)."""
    rows = selected_map_rows(points)
    return int(rows[0]) if rows.size == 1 else None


def _map_row(point: dict) -> int | None:
    """``customdata[0]`` of one selected point, or None if it has none."""
    custom = point.get("customdata")
    if isinstance(custom, dict):
        custom = custom.get("0", custom.get(0))
    elif isinstance(custom, list | tuple):
        custom = custom[0] if custom else None
    try:
        return None if custom is None else int(custom)
    except (TypeError, ValueError):
        return None
