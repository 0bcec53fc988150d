"""Figures of a β-VAE's latent space, built from arrays (no model, no streamlit).

Vocabulary (talk 000, Collins; see ``/work/shared/BRIEF.md``):
  betas      (n_beta,)   the β grid, increasing, in the units of the reconstruction
                         distance (GeV for jets, the data's own units for the 2-D toy)
  kl         (n_beta, D) ⟨KL_i⟩ per latent dimension i over a sample, in nats
  d1, d2     (n_beta,)   the dimensionality curves D1(β) = −Σ_i d⟨KL_i⟩/d log β and
                         D2(β) = d⟨EMD²⟩/d(β²)
  particles  (P, 3)      one jet, (ptrel, etarel, phirel); ``mask`` (P,) True for real ones

Every latent dimension keeps its colour (``jetviz.figures.style.latent_colour``) in every
figure, so "z3" is the same colour on the bar chart, the KL curves and the walk page.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go
import plotly.io as pio

from jetviz.figures.style import FONT_SIZE, ROLE_COLOURS, TEMPLATE, latent_colour

KL_FLOOR = 1e-3  # nats; smaller KLs are drawn at the floor of the log axis
ACTIVE_KL = 0.1  # nats; a dimension above this somewhere on the grid gets a legend entry
CURRENT_BETA = "current β"  # name of the marker trace showing the slider's β


def format_beta(beta: float, unit: str = "GeV") -> str:
    """β with three significant digits and its unit, e.g. ``'12.3 GeV'``, ``'2.5·10⁻⁵'``."""
    beta = float(beta)
    if beta == 0 or 1e-3 <= abs(beta) < 1e4:
        text = f"{beta:.3g}" if abs(beta) < 999.5 else f"{beta:.0f}"
    else:  # 3.2e-05 reads badly on a projector
        mantissa, exponent = f"{beta:.2e}".split("e")
        text = f"{float(mantissa):.3g}·10{str(int(exponent)).translate(_SUPERSCRIPT)}"
    return f"{text} {unit}".strip()


_SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def beta_axis_title(unit: str = "GeV") -> str:
    """The axis title of a β axis, with units when there are any."""
    return f"β [{unit}]" if unit else "β (data units)"


def dim_name(dim: int) -> str:
    """Display name of latent dimension ``dim``."""
    return f"z{dim}"


# Plotly validates every property it is given, and merging a template into a figure walks
# its whole property tree: 20 ms to 1 s per figure, far more than the slider's budget. The
# builders therefore assemble plain dicts (``_Spec``) and make the figure once, without
# validation; the tests check what they set.
_TEMPLATE_DICT = pio.templates[TEMPLATE].to_plotly_json()
_NESTED = ("title", "marker", "line")  # prefixes of plotly's "magic underscore" names we use


def _expand(props: Mapping) -> dict:
    """``{"title_text": t}`` → ``{"title": {"text": t}}`` (for the prefixes in _NESTED)."""
    out: dict = {}
    for key, value in props.items():
        head, _, tail = key.partition("_")
        if tail and head in _NESTED:
            out.setdefault(head, {}).update(_expand({tail: value}))
        else:
            out[key] = value
    return out


def _merge(into: dict, props: Mapping) -> dict:
    """Deep-merge ``props`` into the dict ``into`` (nested dicts merge, values replace)."""
    for key, value in props.items():
        if isinstance(value, Mapping) and isinstance(into.get(key), dict):
            _merge(into[key], value)
        else:
            into[key] = dict(value) if isinstance(value, Mapping) else value
    return into


def _trace(kind: str, **props) -> dict:
    return {"type": kind, **_expand(props)}


def _scatter(**props) -> dict:
    """A scatter trace as a plain dict."""
    return _trace("scatter", **props)


def _bar(**props) -> dict:
    """A bar trace as a plain dict."""
    return _trace("bar", **props)


def _histogram(**props) -> dict:
    """A histogram trace as a plain dict."""
    return _trace("histogram", **props)


class _Spec:
    """A figure being assembled as plain dicts, with the few plotly methods the builders use."""

    def __init__(self, *traces: dict) -> None:
        self.data: list[dict] = list(traces)
        self.layout: dict = {}
        self.frames: list[dict] | None = None

    def add_trace(self, trace: dict) -> None:
        self.data.append(trace)

    def add_shape(self, **props) -> None:
        self.layout.setdefault("shapes", []).append(_expand(props))

    def update_layout(self, props: Mapping | None = None, **kwargs) -> None:
        _merge(self.layout, _expand({**(props or {}), **kwargs}))

    def _axes(self, letter: str) -> list[str]:
        names = [k for k in self.layout if k.startswith(f"{letter}axis")]
        return names or [f"{letter}axis"]

    def update_xaxes(self, **props) -> None:
        for name in self._axes("x"):
            _merge(self.layout.setdefault(name, {}), _expand(props))

    def update_yaxes(self, **props) -> None:
        for name in self._axes("y"):
            _merge(self.layout.setdefault(name, {}), _expand(props))


def _axis_names(k: int) -> tuple[str, str, str, str]:
    """(layout x-axis name, layout y-axis name, trace xaxis ref, trace yaxis ref) of panel k≥1."""
    suffix = "" if k == 1 else str(k)
    return f"xaxis{suffix}", f"yaxis{suffix}", f"x{suffix}", f"y{suffix}"


def _on(k: int) -> dict:
    """Trace keywords that put a trace on panel ``k`` of a grid from :func:`_subplots`."""
    _, _, x, y = _axis_names(k)
    return {"xaxis": x, "yaxis": y}


def _subplots(rows: int, cols: int, *, column_widths: Sequence[float] | None = None,
              h_space: float = 0.08, v_space: float = 0.08,
              titles: Sequence[str] | None = None, shared_x: bool = False) -> _Spec:
    """An empty grid of panels, numbered row by row from 1 as plotly's make_subplots does."""
    widths = np.asarray(column_widths if column_widths is not None else [1.0] * cols, float)
    widths = widths / widths.sum() * (1 - h_space * (cols - 1))
    height = (1 - v_space * (rows - 1)) / rows
    spec = _Spec()
    annotations = []
    for r in range(1, rows + 1):
        for c in range(1, cols + 1):
            k = (r - 1) * cols + c
            xa, ya, x, y = _axis_names(k)
            x0 = float(widths[: c - 1].sum() + h_space * (c - 1))
            x1 = x0 + float(widths[c - 1])
            y1 = 1 - (r - 1) * (height + v_space)
            y0 = y1 - height
            spec.layout[xa] = {"domain": [x0, x1], "anchor": y}
            spec.layout[ya] = {"domain": [max(y0, 0.0), min(y1, 1.0)], "anchor": x}
            if shared_x and r < rows:
                spec.layout[xa].update(matches=_axis_names((rows - 1) * cols + c)[2],
                                       showticklabels=False)
            if titles is not None and k <= len(titles):
                annotations.append({
                    "text": titles[k - 1], "x": (x0 + x1) / 2, "y": y1, "xref": "paper",
                    "yref": "paper", "xanchor": "center", "yanchor": "bottom",
                    "showarrow": False, "font": {"size": FONT_SIZE - 1}})
    spec.layout["annotations"] = annotations
    return spec


def _style(spec: _Spec, title: str, height: int = 420, subtitle: str = "") -> go.Figure:
    """The figure of ``spec`` with the shared look: template, title, font ≥ 14, margins."""
    heading: dict = {"text": title, "x": 0.01, "xanchor": "left", "font": {"size": FONT_SIZE + 3}}
    if subtitle:
        heading["subtitle"] = {"text": subtitle, "font": {"size": FONT_SIZE - 1}}
    layout = {
        "template": _TEMPLATE_DICT,
        "title": heading,
        "font": {"size": FONT_SIZE},
        "height": height,
        "margin": {"l": 70, "r": 20, "t": 90 if subtitle else 70, "b": 60},
        "hoverlabel": {"font": {"size": FONT_SIZE}},
    }
    _merge(layout, spec.layout)
    return go.Figure(data=spec.data, layout=layout, frames=spec.frames, _validate=False)


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


def nearest_beta_index(betas: np.ndarray, beta: float) -> int:
    """Index of the grid β nearest to ``beta`` in log β."""
    return int(np.argmin(np.abs(np.log(np.asarray(betas)) - np.log(beta))))


def kl_at_beta(betas: np.ndarray, kl: np.ndarray, beta: float) -> np.ndarray:
    """⟨KL_i⟩ (D,) at ``beta``, interpolated linearly in log β between grid points."""
    log_b = np.log(np.asarray(betas, dtype=float))
    x = float(np.clip(np.log(beta), log_b[0], log_b[-1]))
    return np.array([np.interp(x, log_b, kl[:, i]) for i in range(kl.shape[1])])


def kl_bar_figure(kl: np.ndarray, beta: float, unit: str = "GeV") -> go.Figure:
    """Per-dimension ⟨KL_i⟩ at one β as bars sorted from the most to the least informative.

    Args:
        kl: (D,) mean KL per latent dimension at ``beta``, in nats.
        beta: the β these KLs belong to (shown in the title).
        unit: unit of β.
    """
    kl = np.asarray(kl, dtype=float)
    if kl.ndim != 1:
        raise ValueError(f"expected (D,) KL values, got shape {kl.shape}")
    order = np.argsort(-kl, kind="stable")
    total = float(kl.sum())
    n_active = int((kl > ACTIVE_KL).sum())
    fig = _Spec(
        _bar(
            x=[dim_name(int(i)) for i in order],
            y=np.maximum(kl[order], KL_FLOOR),
            marker_color=[latent_colour(int(i)) for i in order],
            customdata=kl[order],
            hovertemplate="%{x}: ⟨KL⟩ = %{customdata:.3g} nats<extra></extra>",
            name="⟨KL_i⟩",
            showlegend=False,
        )
    )
    fig.update_yaxes(type="log", title_text="⟨KL_i⟩ [nats] (log)",
                     range=[np.log10(KL_FLOOR), np.log10(max(kl.max(), 1.0) * 2)])
    fig.update_xaxes(title_text="latent dimension (sorted by KL)")
    return _style(
        fig,
        f"KL per dimension at β = {format_beta(beta, unit)}",
        subtitle=f"{n_active} active (> {ACTIVE_KL} nats), Σ KL = {total:.3g} nats",
    )


def _vertical_marker(x: float, y0: float, y1: float, colour: str = "#111111",
                     showlegend: bool = True, legendgroup: str = CURRENT_BETA,
                     label: str = "") -> dict:
    return _scatter(
        x=[x, x], y=[y0, y1], mode="lines", name=CURRENT_BETA,
        line={"color": colour, "width": 3, "dash": "dash"},
        legendgroup=legendgroup, showlegend=showlegend,
        hovertemplate=f"{CURRENT_BETA}{label}<extra></extra>",
    )


def kl_curves_figure(betas: np.ndarray, kl: np.ndarray, beta: float,
                     unit: str = "GeV") -> go.Figure:
    """⟨KL_i⟩(β) of every latent dimension on log–log axes with a marker at ``beta``.

    A dimension whose KL rises as β falls has "switched on": the VAE pays for that
    information once the reconstruction is judged at resolutions finer than its scale.

    Args:
        betas: (n_beta,) increasing β grid.
        kl: (n_beta, D) ⟨KL_i⟩ in nats.
        beta: the current β (the marker).
        unit: unit of β.
    """
    betas = np.asarray(betas, dtype=float)
    kl = np.asarray(kl, dtype=float)
    _check_grid(betas, kl)
    fig = _Spec()
    peak = kl.max(axis=0)
    order = np.argsort(-peak, kind="stable")
    inactive_shown = False
    for i in order:
        active = bool(peak[i] > ACTIVE_KL)
        show = active or not inactive_shown
        inactive_shown = inactive_shown or not active
        fig.add_trace(_scatter(
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
    fig.add_trace(_vertical_marker(beta, KL_FLOOR, y_top,
                                   label=f" = {format_beta(beta, unit)}"))
    fig.update_xaxes(type="log", title_text=beta_axis_title(unit))
    fig.update_yaxes(type="log", title_text="⟨KL_i⟩ [nats] (log)",
                     range=[np.log10(KL_FLOOR), np.log10(y_top)])
    # below the plot, in rows: every dimension's entry stays visible (a side legend of
    # 12+ entries scrolls and hides a third of them)
    fig.update_layout(legend={"title": {"text": "latent dim"}, "orientation": "h",
                              "y": -0.25, "x": 0, "yanchor": "top", "entrywidth": 58})
    return _style(fig, "KL of each latent dimension versus β",
                  subtitle="dimensions switch on as β falls", height=520)


def dimensionality_figure(betas: np.ndarray, d1: np.ndarray, d2: np.ndarray, beta: float,
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
        beta: the current β (the marker).
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
    fig = _Spec()
    diagnostics = diagnostics or {}
    for name, colour in (("d1", "rgba(31,119,180,0.25)"), ("d2", "rgba(214,39,40,0.2)")):
        lo, hi = diagnostics.get(f"{name}_lo"), diagnostics.get(f"{name}_hi")
        if lo is not None and hi is not None:
            fig.add_trace(_scatter(
                x=np.concatenate([betas, betas[::-1]]),
                y=np.concatenate([np.asarray(hi, float), np.asarray(lo, float)[::-1]]),
                fill="toself", fillcolor=colour, line={"width": 0}, mode="lines",
                name=f"{name.upper()} 16–84 % (bootstrap)", hoverinfo="skip"))
    fig.add_trace(_scatter(
        x=betas, y=d1, mode="lines+markers", name="D1 = −Σ d⟨KL_i⟩/d log β",
        line={"color": "#1f77b4", "width": 3}, marker={"size": 6},
        hovertemplate=f"β = %{{x:.3g}} {unit}<br>D1 = %{{y:.2f}}<extra></extra>",
    ))
    fig.add_trace(_scatter(
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
        fig.add_trace(_scatter(
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
        fig.add_trace(_scatter(  # the shaded region's legend entry
            x=[None], y=[None], mode="markers", hoverinfo="skip",
            marker={"symbol": "square", "size": 14, "color": "rgba(127,127,127,0.35)"},
            name=f"β < reconstruction floor δ = {format_beta(float(floor), unit)}"))
    fig.add_trace(_vertical_marker(beta, y_lo, y_hi, label=f" = {format_beta(beta, unit)}"))
    for name, value in (scales or {}).items():
        fig.add_trace(_scatter(
            x=[value, value], y=[y_lo, y_hi], mode="lines+text",
            name=f"{name} = {format_beta(value, unit)}",
            text=["", name], textposition="bottom right", textfont={"size": FONT_SIZE},
            line={"color": "#7f7f7f", "width": 2, "dash": "dot"},
            hovertemplate=f"{name} of the data = {format_beta(value, unit)}<extra></extra>",
        ))
    fig.update_xaxes(type="log", title_text=beta_axis_title(unit))
    fig.update_yaxes(title_text="dimension D",
                     range=[y_lo, y_hi], dtick=1 if y_hi < 12 else None, zeroline=True)
    fig.update_layout(legend={"orientation": "h", "y": -0.22, "x": 0})
    return _style(fig, "Dimensionality at scale β",
                  subtitle="the height of a plateau = the number of active directions",
                  height=460)


def emd_histogram_figure(emd: np.ndarray, beta: float, unit: str = "GeV",
                         distance_name: str = "EMD", what: str = "jets") -> go.Figure:
    """Histogram of the per-jet reconstruction distance at one β, with β marked.

    β is the resolution of the reconstruction (talk 000): most jets are rebuilt to within
    a distance of order β.

    Args:
        emd: (N,) reconstruction distance per jet (EMD in GeV for jets).
        beta: the current β.
        unit: unit of both.
        distance_name: what the distance is called ("EMD" for jets).
        what: what was reconstructed ("jets", "points").
    """
    emd = np.asarray(emd, dtype=float)
    if emd.ndim != 1 or emd.size == 0:
        raise ValueError(f"expected a non-empty (N,) array of distances, got shape {emd.shape}")
    median = float(np.median(emd))
    unit_text = f" [{unit}]" if unit else ""
    counts, edges = np.histogram(emd, bins=40)
    fig = _Spec(_histogram(
        x=emd, name=f"{emd.size} {what}",
        xbins={"start": float(edges[0]), "end": float(edges[-1]),
               "size": float(edges[1] - edges[0])},
        marker={"color": ROLE_COLOURS["reconstructed"], "line": {"width": 0}}, opacity=0.85,
        hovertemplate=f"{distance_name} %{{x}}{unit_text}<br>%{{y}} {what}<extra></extra>",
    ))
    top = counts.max()
    # the axis spans the data: a β far beyond every distance is named, not drawn, so it
    # does not squeeze the histogram into a corner
    x_hi = float(edges[-1]) + 2 * float(edges[1] - edges[0])
    off_scale = beta > x_hi
    fig.add_trace(_vertical_marker(beta, 0, top * 1.05, label=f" = {format_beta(beta, unit)}"))
    fig.add_trace(_scatter(
        x=[median, median], y=[0, top * 1.05], mode="lines",
        name=f"median = {format_beta(median, unit)}",
        line={"color": ROLE_COLOURS["true"], "width": 2},
        hovertemplate=f"median {distance_name} = {format_beta(median, unit)}<extra></extra>",
    ))
    fig.update_xaxes(title_text=f"reconstruction {distance_name}{unit_text}",
                     range=[min(0.0, float(edges[0])), x_hi if off_scale
                            else max(x_hi, 1.05 * beta)])
    fig.update_yaxes(title_text=what)
    if off_scale:
        fig.update_layout(annotations=[{
            "text": f"β = {format_beta(beta, unit)} →", "x": 1, "xref": "paper", "y": 1,
            "yref": "paper", "xanchor": "right", "yanchor": "top", "showarrow": False,
            "font": {"size": FONT_SIZE}}])
    fig.update_layout(legend={"orientation": "h", "y": -0.22, "x": 0}, bargap=0.02)
    return _style(fig, f"Reconstruction {distance_name} at β = {format_beta(beta, unit)}",
                  height=440, subtitle=f"{emd.size} {what}, reconstructed at z = μ")


def _jet_trace(particles: np.ndarray, mask: np.ndarray | None, colour: str, name: str,
               sizeref: float, jet_pt: float | None, showlegend: bool,
               panel: int = 1) -> dict:
    particles = np.asarray(particles, dtype=float)
    keep = np.ones(len(particles), bool) if mask is None else np.asarray(mask, bool)
    keep &= particles[:, 0] > 0
    p = particles[keep]
    pt_text = "" if jet_pt is None else "<br>pT = %{customdata[1]:.1f} GeV"
    pts = p[:, 0] * (jet_pt or 0.0)
    return _scatter(
        x=p[:, 1], y=p[:, 2], mode="markers", name=name, showlegend=showlegend,
        legendgroup=name,
        marker={"size": p[:, 0], "sizemode": "area", "sizeref": sizeref, "sizemin": 1.5,
                "color": colour, "opacity": 0.75, "line": {"width": 0.5, "color": "white"}},
        customdata=np.stack([p[:, 0], pts], -1),
        hovertemplate=("η − η_jet = %{x:.3f}<br>φ − φ_jet = %{y:.3f}"
                       "<br>pT/pT_jet = %{customdata[0]:.3f}" + pt_text + "<extra></extra>"),
        **_on(panel),
    )


MIN_RELATIVE_SPAN = 0.02  # walk panels span at least ±2 % of the observable's mean
MIN_EXTENT = 0.2  # the smallest half-width of an event display (η, φ units)
VISIBLE_PTREL = 0.002  # particles softer than this do not widen the view


def jet_extent(*jets: np.ndarray, radius: float = 0.8) -> float:
    """Half-width of an event display that shows every visible particle of ``jets``.

    Boosted jets are narrow (a 1 TeV W spans ΔR ≈ 2m/pT ≈ 0.16), so drawing the whole cone
    of radius R leaves them as a dot; the view is zoomed to the particles, at most ±1.05 R.

    Args:
        jets: arrays (..., P, 3) of (ptrel, etarel, phirel).
        radius: jet radius R (the largest half-width).
    """
    reach = [np.abs(j[..., 1:])[j[..., 0] > VISIBLE_PTREL] for j in map(np.asarray, jets)]
    reach = np.concatenate([r.ravel() for r in reach] + [np.zeros(1)])
    return float(np.clip(1.15 * reach.max(), MIN_EXTENT, 1.05 * radius))


def _sizeref(max_ptrel: float, max_diameter: float = 44.0) -> float:
    # plotly's area sizing: diameter = sqrt(size / sizeref), so sizeref = max / diameter²
    return max(max_ptrel, 1e-6) / max_diameter**2


def event_display_figure(particles: np.ndarray, mask: np.ndarray | None = None,
                         title: str = "Event display", radius: float = 0.8,
                         jet_pt: float | None = None,
                         colour: str = ROLE_COLOURS["reconstructed"],
                         name: str = "particles", extent: float | None = None) -> go.Figure:
    """One jet in (etarel, phirel), marker area ∝ pT, over the jet's cone of radius R.

    Args:
        particles: (P, 3) (ptrel, etarel, phirel).
        mask: (P,) True for real particles; None means all rows with ptrel > 0.
        title: figure title.
        radius: jet radius R (sets the axes to ±R).
        jet_pt: the jet's pT in GeV (for the hover), if known.
        colour: marker colour.
        name: legend name.
        extent: half-width of the view; None zooms to the particles (``jet_extent``).
    """
    particles = np.asarray(particles, dtype=float)
    if particles.ndim != 2 or particles.shape[1] != 3:
        raise ValueError(f"expected one jet (P, 3), got shape {particles.shape}")
    fig = _Spec(_jet_trace(particles, mask, colour, name, _sizeref(1.0), jet_pt, True))
    _cone(fig, radius)
    lim = extent if extent is not None else jet_extent(particles, radius=radius)
    fig.update_xaxes(title_text="η − η_jet", range=[-lim, lim], zeroline=False)
    fig.update_yaxes(title_text="φ − φ_jet [rad]", range=[-lim, lim], zeroline=False,
                     scaleanchor="x", scaleratio=1)
    fig.update_layout(showlegend=False)
    return _style(fig, title, height=480)


_CIRCLE = np.linspace(0, 2 * np.pi, 121)


def _cone(fig: _Spec, radius: float, panel: int = 1) -> None:
    fig.add_trace(_scatter(
        x=radius * np.cos(_CIRCLE), y=radius * np.sin(_CIRCLE), mode="lines",
        name=f"R = {radius}", line={"color": "#bbbbbb", "width": 1}, hoverinfo="skip",
        showlegend=False, **_on(panel)))


def jet_pairs_figure(originals: np.ndarray, masks: np.ndarray, reconstructions: np.ndarray,
                     beta: float, unit: str = "GeV", radius: float = 0.8,
                     jet_pts: np.ndarray | None = None,
                     emd: np.ndarray | None = None) -> go.Figure:
    """Original jets (top row) above their reconstructions (bottom row) at one β.

    Args:
        originals: (K, P, 3) jets.
        masks: (K, P) True for real particles.
        reconstructions: (K, P_out, 3) decoded jets (ptrel sums to 1).
        beta: the β of the reconstructions (title).
        unit: unit of β.
        radius: jet radius R.
        jet_pts: (K,) jet pT [GeV] for the hover, if known.
        emd: (K,) reconstruction distance per jet, shown in the panel titles.
    """
    originals = np.asarray(originals, dtype=float)
    reconstructions = np.asarray(reconstructions, dtype=float)
    k = originals.shape[0]
    if reconstructions.shape[0] != k or masks.shape[:1] != (k,):
        raise ValueError(
            f"expected as many reconstructions and masks as jets ({k}), got "
            f"{reconstructions.shape[0]} and {masks.shape[0]}"
        )
    titles = [f"jet {j + 1}" for j in range(k)] + [
        f"rebuilt, EMD {emd[j]:.3g}" if emd is not None else "reconstruction" for j in range(k)
    ]
    fig = _subplots(2, k, titles=titles, h_space=0.03, v_space=0.10)
    sizeref = _sizeref(1.0, 40.0)
    lim = jet_extent(originals, reconstructions, radius=radius)
    for j in range(k):
        pt = None if jet_pts is None else float(jet_pts[j])
        top, bottom = j + 1, k + j + 1
        fig.add_trace(_jet_trace(originals[j], masks[j], ROLE_COLOURS["true"], "original",
                                 sizeref, pt, j == 0, top))
        fig.add_trace(_jet_trace(reconstructions[j], None, ROLE_COLOURS["reconstructed"],
                                 "reconstruction", sizeref, pt, j == 0, bottom))
        for panel in (top, bottom):
            _cone(fig, radius, panel)
            xa, ya, x, _ = _axis_names(panel)
            fig.update_layout({
                xa: {"range": [-lim, lim], "zeroline": False, "nticks": 5,
                     "showticklabels": panel == bottom,
                     "title": {"text": "η − η_jet" if panel == bottom else ""}},
                ya: {"range": [-lim, lim], "zeroline": False, "nticks": 5,
                     "showticklabels": j == 0,
                     "scaleanchor": x, "scaleratio": 1,
                     "title": {"text": "φ − φ_jet" if j == 0 else ""}},
            })
    fig.update_layout(legend={"orientation": "h", "y": 1.12, "x": 1, "xanchor": "right",
                              "itemsizing": "constant"})
    return _style(fig, f"Jets and their reconstructions at β = {format_beta(beta, unit)} "
                       "(marker area ∝ pT)", height=520)


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
    fig = _Spec(_scatter(x=points[:, 0], y=points[:, 1], mode="markers", name="data",
                         marker={"color": ROLE_COLOURS["true"], "size": 4, "opacity": 0.4},
                         hovertemplate="(%{x:.4g}, %{y:.4g})<extra></extra>"))
    unit_text = f" [{unit}]" if unit else ""
    fig.update_xaxes(title_text=f"{x_title}{unit_text}")
    fig.update_yaxes(title_text=f"{y_title}{unit_text}", scaleanchor="x", scaleratio=1)
    return _style(fig, title, height=460)


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
    fig = _Spec()
    fig.add_trace(_scatter(
        x=points[:, 0], y=points[:, 1], mode="markers", name="data",
        marker={"color": ROLE_COLOURS["true"], "size": 5, "opacity": 0.35},
        hovertemplate="data (%{x:.3f}, %{y:.3f})<extra></extra>",
    ))
    m = min(n_links, len(points))
    xs = np.stack([points[:m, 0], reconstructions[:m, 0], np.full(m, np.nan)], 1).ravel()
    ys = np.stack([points[:m, 1], reconstructions[:m, 1], np.full(m, np.nan)], 1).ravel()
    fig.add_trace(_scatter(x=xs, y=ys, mode="lines", name="point → reconstruction",
                             line={"color": "#999999", "width": 1}, hoverinfo="skip"))
    fig.add_trace(_scatter(
        x=reconstructions[:, 0], y=reconstructions[:, 1], mode="markers",
        name="reconstruction",
        marker={"color": ROLE_COLOURS["reconstructed"], "size": 6, "opacity": 0.8},
        hovertemplate="reconstruction (%{x:.3f}, %{y:.3f})<extra></extra>",
    ))
    unit_text = f" [{unit}]" if unit else ""
    fig.update_xaxes(title_text=f"{x_title}{unit_text}")
    fig.update_yaxes(title_text=f"{y_title}{unit_text}", scaleanchor="x", scaleratio=1)
    fig.update_layout(legend={"orientation": "h", "y": -0.18, "x": 0})
    return _style(fig, f"{name} and its reconstructions at β = {format_beta(beta, unit)}",
                  height=520)


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
    fig = _subplots(len(names), 1, shared_x=True, v_space=0.06)
    t = int(np.argmin(np.abs(positions - position)))
    for r, name in enumerate(names, start=1):
        values = np.asarray(observables[name], dtype=float)
        if values.shape != positions.shape:
            raise ValueError(f"{name}: expected {positions.shape} values, got {values.shape}")
        unit = units.get(name, "")
        label = f"{name} [{unit}]" if unit else name
        fig.add_trace(_scatter(
            x=positions, y=values, mode="lines", name=name, showlegend=False,
            line={"color": colour, "width": 3},
            hovertemplate=f"position %{{x:.2f}}<br>{name} = %{{y:.3g}} {unit}<extra></extra>",
            **_on(r)))
        fig.add_trace(_scatter(
            x=[positions[t]], y=[values[t]], mode="markers", name="current position",
            showlegend=False,
            marker={"color": "#111111", "size": 13, "symbol": "diamond"},
            hovertemplate=f"here: {name} = %{{y:.3g}} {unit}<extra></extra>",
            **_on(r)))
        _, ya, x, y = _axis_names(r)
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
    fig.update_layout({_axis_names(len(names))[0]: {"title": {"text": x_title}}})
    return _style(fig, title, height=180 * len(names) + 150,
                  subtitle=f"◆ = the current position ({positions[t]:+.2f})")


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

    def bar(k: int) -> dict:
        return _bar(**_on(1), x=names, y=np.maximum(kl[k, order], KL_FLOOR), marker_color=colours,
                      customdata=kl[k, order], showlegend=False, name="⟨KL_i⟩",
                      hovertemplate="%{x}: ⟨KL⟩ = %{customdata:.3g} nats<extra></extra>")

    def marker(k: int) -> dict:
        return _scatter(**_on(2), x=[betas[k], betas[k]], y=[d_lo, d_hi], mode="lines",
                          name=CURRENT_BETA, showlegend=False,
                          line={"color": "#111111", "width": 3, "dash": "dash"},
                          hovertemplate=f"β = {format_beta(betas[k], unit)}<extra></extra>")

    def title(k: int) -> str:
        return (f"β sweep: β = {format_beta(betas[k], unit)}, D1 = {d1[k]:.2f}, "
                f"Σ KL = {kl[k].sum():.3g} nats")

    fig = _subplots(1, 2, column_widths=[0.55, 0.45], h_space=0.1)
    first = sweep[0]
    fig.add_trace(bar(first))
    fig.add_trace(_scatter(x=betas, y=d1, mode="lines", name="D1(β)", showlegend=False,
                          line={"color": "#1f77b4", "width": 3},
                          hovertemplate=f"β = %{{x:.3g}} {unit}<br>D1 = %{{y:.2f}}"
                                        "<extra></extra>", **_on(2)))
    fig.add_trace(marker(first))
    fig.frames = [
        {"name": str(k), "data": [bar(k), marker(k)], "traces": [0, 2],
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
    play = {"args": [None, {"frame": {"duration": frame_ms, "redraw": True},
                            "transition": {"duration": 0}, "fromcurrent": True}],
            "label": "▶ play", "method": "animate"}
    pause = {"args": [[None], {"frame": {"duration": 0, "redraw": False},
                               "mode": "immediate", "transition": {"duration": 0}}],
             "label": "❚❚ pause", "method": "animate"}
    fig.update_layout(
        updatemenus=[{"type": "buttons", "direction": "left", "buttons": [play, pause],
                      "x": 0, "y": -0.2, "xanchor": "left", "yanchor": "top",
                      "font": {"size": FONT_SIZE}, "pad": {"r": 10, "t": 10}}],
        sliders=[{
            "active": 0, "x": 0.2, "len": 0.8, "y": -0.2, "yanchor": "top",
            "currentvalue": {"prefix": "β = ", "font": {"size": FONT_SIZE}},
            "steps": [{"label": format_beta(betas[k], unit), "method": "animate",
                       "args": [[str(k)], {"frame": {"duration": 0, "redraw": True},
                                           "mode": "immediate", "transition": {"duration": 0}}]}
                      for k in sweep],
        }],
    )
    fig.update_layout(margin={"b": 170})
    return _style(fig, title(first), height=560)


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
    fig = _Spec()
    epochs = np.asarray(epochs, dtype=float)
    for k, (name, values) in enumerate(series.items()):
        values = np.asarray(values, dtype=float)
        if values.shape != epochs.shape:
            raise ValueError(f"{name}: expected {epochs.shape} values, got {values.shape}")
        ok = np.isfinite(values) & ((values > 0) if log_y else True)
        fig.add_trace(_scatter(
            x=epochs[ok], y=values[ok], mode="lines+markers", name=name,
            line={"color": palette[k % len(palette)], "width": 3},
            hovertemplate=f"epoch %{{x}}<br>{name} = %{{y:.4g}}<extra></extra>",
        ))
    fig.update_xaxes(title_text="epoch", dtick=1 if epochs.size and epochs.max() <= 20 else None)
    fig.update_yaxes(title_text=y_title + (" (log)" if log_y else ""),
                     type="log" if log_y else "linear")
    return _style(fig, title, height=400)


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
    sizeref = _sizeref(1.0)

    def step(k: int) -> dict:
        if toy:
            return _scatter(x=path[: k + 1, 0], y=path[: k + 1, 1], mode="lines+markers",
                              name="decoded point", line={"color": colour, "width": 2},
                              marker={"size": 6, "color": colour})
        return _jet_trace(path[k], None, colour, "decoded particles", sizeref, jet_pt, False)

    fig = _Spec(step(0))
    if toy:
        pad = 0.1 * float(np.ptp(path, axis=0).max() + 1e-6)
        lo, hi = path.min(0) - pad, path.max(0) + pad
        fig.update_xaxes(title_text=axis_titles[0], range=[lo[0], hi[0]])
        fig.update_yaxes(title_text=axis_titles[1], range=[lo[1], hi[1]], scaleanchor="x")
    else:
        _cone(fig, radius)
        lim = jet_extent(path, radius=radius)
        fig.update_xaxes(title_text="η − η_jet", range=[-lim, lim], zeroline=False)
        fig.update_yaxes(title_text="φ − φ_jet [rad]", range=[-lim, lim], zeroline=False,
                         scaleanchor="x", scaleratio=1)
    fig.frames = [{"name": str(k), "data": [step(k)], "traces": [0]}
                  for k in range(len(path))]
    fig.update_layout(
        showlegend=False,
        updatemenus=[{"type": "buttons", "direction": "left", "x": 0, "y": -0.18,
                      "xanchor": "left", "yanchor": "top", "font": {"size": FONT_SIZE},
                      "buttons": [
                          {"label": "▶ play", "method": "animate",
                           "args": [None, {"frame": {"duration": frame_ms, "redraw": True},
                                           "transition": {"duration": 0},
                                           "fromcurrent": True}]},
                          {"label": "❚❚ pause", "method": "animate",
                           "args": [[None], {"frame": {"duration": 0, "redraw": False},
                                             "mode": "immediate"}]}]}],
        sliders=[{"active": 0, "x": 0.25, "len": 0.75, "y": -0.18, "yanchor": "top",
                  "currentvalue": {"prefix": f"{x_title}: ", "font": {"size": FONT_SIZE - 1}},
                  "steps": [{"label": f"{p:+.2f}", "method": "animate",
                             "args": [[str(k)], {"frame": {"duration": 0, "redraw": True},
                                                 "mode": "immediate"}]}
                            for k, p in enumerate(positions)]}],
    )
    fig.update_layout(margin={"b": 150})
    return _style(fig, "The decoded jet along the whole path" if not toy
                  else "The decoded point along the whole path", height=620)


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
    fig = _Spec()
    fig.add_trace(_scatter(x=points[:, 0], y=points[:, 1], mode="markers", name="data",
                             marker={"color": ROLE_COLOURS["true"], "size": 4, "opacity": 0.3},
                             hoverinfo="skip"))
    fig.add_trace(_scatter(x=path[:, 0], y=path[:, 1], mode="lines", name="decoded path",
                             line={"color": colour, "width": 3},
                             hovertemplate="(%{x:.3f}, %{y:.3f})<extra></extra>"))
    fig.add_trace(_scatter(x=[path[index, 0]], y=[path[index, 1]], mode="markers",
                             name="current position",
                             marker={"color": "#111111", "size": 14, "symbol": "diamond"},
                             hovertemplate="here: (%{x:.3f}, %{y:.3f})<extra></extra>"))
    fig.update_xaxes(title_text=x_title)
    fig.update_yaxes(title_text=y_title, scaleanchor="x", scaleratio=1)
    fig.update_layout(legend={"orientation": "h", "y": -0.18, "x": 0})
    return _style(fig, "The decoded point along the path, over the toy data", height=480)
