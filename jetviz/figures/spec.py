"""Figures assembled as plain dicts and made into a ``go.Figure`` once, without validation.

Plotly validates every property it is given, and merging a template into a figure walks
its whole property tree: 20 ms to 1 s per figure, far more than a slider's budget. The
builders of the β-VAE pages (and the one jet event display) therefore fill a :class:`Spec`
(the few plotly methods they use, on dicts), style it with ``jetviz.figures.style.layout``
and call :meth:`Spec.figure`. Their tests check what they set.

Plotly also redraws a whole figure once more whenever a legend or a long tick label outside
the plot pushes the margins (``margin.autoexpand``): 2–5× the drawing time in the browser.
Figures redrawn on every slider step fix their margins in px instead (:func:`fixed_margins`).

Streamlit also draws every chart twice when it shows it: once on mounting, then again when
it re-applies its theme to a fresh copy of the same figure (``Plotly.react``). Plotly redraws
everything when a data array or the ``template`` object is not the very object it drew
(it compares them by identity), unless the layout carries a ``datarevision`` and the arrays
are plain JSON lists (a numpy array reaches the browser as a typed array, which plotly always
compares by identity). :meth:`Spec.figure` therefore writes the template's values into the
figure itself (:func:`inline_template`: the same look, ``template`` null), sends the traces'
arrays as lists and sets ``datarevision`` to a hash of the traces, so that second call finds
nothing changed and draws nothing. (``plotly.io.to_html`` wants a template dict: set
``fig.layout.template = plotly.io.templates["plotly_white"]`` before exporting such a
figure.)

Vocabulary: a *trace* is a plotly trace dict (``{"type": "scatter", ...}``); *panel* k ≥ 1
is the k-th cell of a :func:`subplots` grid, numbered row by row as plotly's make_subplots.
"""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Mapping, Sequence
from functools import cache

import numpy as np
import plotly.graph_objects as go
import plotly.io as pio

from jetviz.figures.style import FONT_SIZE, layout

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


def merge(into: dict, props: Mapping) -> dict:
    """Deep-merge ``props`` into the dict ``into`` (nested dicts merge, values replace)."""
    for key, value in props.items():
        if isinstance(value, Mapping) and isinstance(into.get(key), dict):
            merge(into[key], value)
        else:
            into[key] = dict(value) if isinstance(value, Mapping) else value
    return into


def trace(kind: str, **props) -> dict:
    """A trace of plotly type ``kind`` as a plain dict (``marker_color=`` style allowed)."""
    return {"type": kind, **_expand(props)}


def scatter(**props) -> dict:
    """A scatter trace as a plain dict."""
    return trace("scatter", **props)


def bar(**props) -> dict:
    """A bar trace as a plain dict."""
    return trace("bar", **props)


def histogram(**props) -> dict:
    """A histogram trace as a plain dict."""
    return trace("histogram", **props)


@cache
def _template(name: str) -> dict:
    return pio.templates[name].to_plotly_json()


_UNUSED_LAYOUT = ("geo", "polar", "scene", "ternary")  # subplot kinds no Spec figure draws
_ITEM_DEFAULTS = {"annotations": "annotationdefaults", "shapes": "shapedefaults",
                  "images": "imagedefaults"}  # template defaults of each layout list's items


def _under(defaults: Mapping, own: Mapping) -> dict:
    """A deep copy of ``defaults`` with ``own`` merged on top (own values win)."""
    return merge(copy.deepcopy(dict(defaults)), own)


def inline_template(data: list[dict], layout: dict, name: str) -> tuple[list[dict], dict]:
    """``data`` and ``layout`` with plotly's template ``name`` written into them, as plotly
    applies a template: its layout under the figure's own, its ``xaxis``/``yaxis`` under every
    x/y axis, its ``annotationdefaults`` … under every item, and ``data[type][i % n]`` under
    the i-th trace of that type. Returns new lists and dicts; the arguments are not changed.
    """
    template = _template(name)
    defaults = template["layout"]
    out = _under({k: v for k, v in defaults.items()
                  if k not in (*_UNUSED_LAYOUT, *_ITEM_DEFAULTS.values(), "xaxis", "yaxis")},
                 layout)
    axes = [k for k in out if k.rstrip("0123456789") in ("xaxis", "yaxis")]
    for axis in {*axes, "xaxis", "yaxis"}:
        out[axis] = _under(defaults.get(axis.rstrip("0123456789"), {}), out.get(axis, {}))
    for items, item_defaults in _ITEM_DEFAULTS.items():
        if items in out and item_defaults in defaults:
            out[items] = [_under(defaults[item_defaults], item) for item in out[items]]
    seen: dict[str, int] = {}
    traces = []
    for trace in data:
        kind = trace.get("type", "scatter")
        per_kind = template["data"].get(kind) or [{}]
        traces.append(_under(per_kind[seen.get(kind, 0) % len(per_kind)], trace))
        seen[kind] = seen.get(kind, 0) + 1
    return traces, out


def _feed(digest, value) -> None:
    """Feed ``value`` (nested dicts, lists, arrays, scalars) into a hash, arrays by content."""
    if isinstance(value, Mapping):
        for key in sorted(value):
            digest.update(f"{key}:".encode())
            _feed(digest, value[key])
    elif isinstance(value, (list, tuple)):
        digest.update(b"[")
        for item in value:
            _feed(digest, item)
        digest.update(b"]")
    elif isinstance(value, np.ndarray):
        digest.update(f"{value.dtype}{value.shape}".encode())
        digest.update(np.ascontiguousarray(value).tobytes() if value.dtype != object
                      else repr(value.tolist()).encode())
    else:
        digest.update(repr(value).encode())


def _plain(value):
    """``value`` with every numpy array in it (nested dicts, lists) made a list."""
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Mapping):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    return value


def data_revision(traces: Sequence[Mapping]) -> str:
    """A short hash of the traces' content: plotly's ``datarevision`` (same data, same value)."""
    digest = hashlib.blake2b(digest_size=8)
    _feed(digest, traces)
    return digest.hexdigest()


class Spec:
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
        merge(self.layout, _expand({**(props or {}), **kwargs}))

    def _axes(self, letter: str) -> list[str]:
        names = [k for k in self.layout if k.startswith(f"{letter}axis")]
        return names or [f"{letter}axis"]

    def update_xaxes(self, **props) -> None:
        for name in self._axes("x"):
            merge(self.layout.setdefault(name, {}), _expand(props))

    def update_yaxes(self, **props) -> None:
        for name in self._axes("y"):
            merge(self.layout.setdefault(name, {}), _expand(props))

    def figure(self) -> go.Figure:
        """The ``go.Figure`` (made without validation; a template name is written into the
        figure by :func:`inline_template`, and ``datarevision`` set: one draw, see above)."""
        data, layout = self.data, dict(self.layout)
        if isinstance(layout.get("template"), str):
            data, layout = inline_template(data, layout, layout.pop("template"))
        layout.setdefault("datarevision", data_revision(data))
        data = [_plain(trace) for trace in data]
        fig = go.Figure(data=data, layout=layout, frames=self.frames, _validate=False)
        fig.layout.template = None  # not plotly.py's default: its values are in the figure
        return fig


def finish(fig: Spec, title: str, height: int = 420, subtitle: str = "") -> go.Figure:
    """The ``go.Figure`` of ``fig`` in jetviz's look (``style.layout``); what the builder set
    in its layout (margins, legend, axes) stays on top of the look."""
    own = fig.layout
    fig.layout = {}
    layout(fig, title, height, subtitle=subtitle,
           margin={"l": 70, "r": 20, "t": 90 if subtitle else 70, "b": 60})
    fig.update_layout(own)
    return fig.figure()


def fixed_margins(fig: Spec, height: int, top: int, bottom: int, left: int = 70,
                  right: int = 20, legend_gap: int | None = None, legend: Mapping | None = None
                  ) -> None:
    """Fix the margins of ``fig`` in px (no automatic expansion, hence one drawing pass).

    Args:
        fig: the figure (its layout is updated).
        height: the figure's height in px (to place a legend below the plot in px).
        top, bottom, left, right: margins in px, large enough for the title, tick labels,
            axis titles and a legend below the plot.
        legend_gap: px between the bottom of the plot and the top of a legend below it
            (room for tick labels and the axis title), or None to leave the legend alone.
        legend: further legend properties.
    """
    fig.update_layout(margin={"t": top, "b": bottom, "l": left, "r": right,
                              "autoexpand": False})
    if legend_gap is not None:
        plot = max(height - top - bottom, 1)
        fig.update_layout(legend={"orientation": "h", "x": 0, "xanchor": "left",
                                  "y": -legend_gap / plot, "yanchor": "top",
                                  **(legend or {})})
    elif legend:
        fig.update_layout(legend=dict(legend))


def axis_names(k: int) -> tuple[str, str, str, str]:
    """(layout x-axis name, layout y-axis name, trace xaxis ref, trace yaxis ref) of panel k≥1."""
    suffix = "" if k == 1 else str(k)
    return f"xaxis{suffix}", f"yaxis{suffix}", f"x{suffix}", f"y{suffix}"


def on(k: int) -> dict:
    """Trace keywords that put a trace on panel ``k`` of a grid from :func:`subplots`."""
    _, _, x, y = axis_names(k)
    return {"xaxis": x, "yaxis": y}


def subplots(rows: int, cols: int, *, column_widths: Sequence[float] | None = None,
             h_space: float = 0.08, v_space: float = 0.08,
             titles: Sequence[str] | None = None, shared_x: bool = False) -> Spec:
    """An empty grid of panels, numbered row by row from 1 as plotly's make_subplots does."""
    widths = np.asarray(column_widths if column_widths is not None else [1.0] * cols, float)
    widths = widths / widths.sum() * (1 - h_space * (cols - 1))
    height = (1 - v_space * (rows - 1)) / rows
    spec = Spec()
    annotations = []
    for r in range(1, rows + 1):
        for c in range(1, cols + 1):
            k = (r - 1) * cols + c
            xa, ya, x, y = axis_names(k)
            x0 = float(widths[: c - 1].sum() + h_space * (c - 1))
            x1 = x0 + float(widths[c - 1])
            y1 = 1 - (r - 1) * (height + v_space)
            y0 = y1 - height
            spec.layout[xa] = {"domain": [x0, x1], "anchor": y}
            spec.layout[ya] = {"domain": [max(y0, 0.0), min(y1, 1.0)], "anchor": x}
            if shared_x and r < rows:
                spec.layout[xa].update(matches=axis_names((rows - 1) * cols + c)[2],
                                       showticklabels=False)
            if titles is not None and k <= len(titles):
                annotations.append({
                    "text": titles[k - 1], "x": (x0 + x1) / 2, "y": y1, "xref": "paper",
                    "yref": "paper", "xanchor": "center", "yanchor": "bottom",
                    "showarrow": False, "font": {"size": FONT_SIZE - 1}})
    spec.layout["annotations"] = annotations
    return spec


def play_controls(steps: Sequence[tuple[str, str]], frame_ms: int, prefix: str, *,
                  y: float, slider_x: float) -> dict:
    """``updatemenus`` (▶ play, ❚❚ pause) and ``sliders`` of an animation played in the browser.

    Args:
        steps: (frame name, slider label) per frame, in play order.
        frame_ms: duration of one frame in milliseconds.
        prefix: the slider's current-value prefix ("β = ").
        y: vertical position (paper units; below the plot when negative).
        slider_x: where the slider starts (the buttons sit left of it).
    """
    play = {"args": [None, {"frame": {"duration": frame_ms, "redraw": True},
                            "transition": {"duration": 0}, "fromcurrent": True}],
            "label": "▶ play", "method": "animate"}
    pause = {"args": [[None], {"frame": {"duration": 0, "redraw": False},
                               "mode": "immediate", "transition": {"duration": 0}}],
             "label": "❚❚ pause", "method": "animate"}
    return {
        "updatemenus": [{"type": "buttons", "direction": "left", "buttons": [play, pause],
                         "x": 0, "y": y, "xanchor": "left", "yanchor": "top",
                         "font": {"size": FONT_SIZE}, "pad": {"r": 10, "t": 10}}],
        "sliders": [{
            "active": 0, "x": slider_x, "len": 1 - slider_x, "y": y, "yanchor": "top",
            "currentvalue": {"prefix": prefix, "font": {"size": FONT_SIZE - 1}},
            "steps": [{"label": label, "method": "animate",
                       "args": [[name], {"frame": {"duration": 0, "redraw": True},
                                         "mode": "immediate", "transition": {"duration": 0}}]}
                      for name, label in steps],
        }],
    }
