"""Figures of the jet-representations page (JetCLR, arXiv:2108.04253).

Builders take arrays already computed and return go.Figure: the 2-D map of the
representation coloured by class, one jet before and after an augmentation, and the ROC
curves (ε_S against 1/ε_B on a log axis) of the linear probes and the supervised ceiling.

Vocabulary as in jetviz.jets: a jet is (P, 3) particles (ptrel, etarel, phirel) with a mask
(P,), True for real particles; R is the jet radius; pT in GeV.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go

from jetviz.figures.jet_display import event_display
from jetviz.figures.style import class_colour, layout
from jetviz.jets import CLASS_LABELS

_MARGIN = {"l": 70, "r": 25, "t": 80, "b": 60}
# Line colours of the ROC curves, one per ablation entry.
ROC_COLOURS: dict[str, str] = {
    "none": "#8c8c8c",
    "translations": "#17becf",
    "rotations": "#bcbd22",
    "soft + collinear": "#9467bd",
    "all": "#d62728",
    "supervised": "#111111",
}


def _label(name: str) -> str:
    return f"{name} ({CLASS_LABELS[name]})" if name in CLASS_LABELS else name


def representation_map(coords: np.ndarray, labels: np.ndarray, class_names: Sequence[str],
                       mass: np.ndarray, pt: np.ndarray, method: str, title: str) -> go.Figure:
    """Jets on the 2-D map of their representation, one colour per class.

    Args:
        coords: (N, 2) map coordinates (PCA or UMAP of the representation).
        labels: (N,) class index into ``class_names``.
        class_names: the class names.
        mass, pt: (N,) jet mass and pT [GeV] (shown on hover).
        method: "PCA" or "UMAP" (axis titles).
        title: the figure title.

    Returns:
        The figure; each point's ``customdata[0]`` is its row in ``coords`` (for clicks).
    """
    fig = go.Figure()
    for i, name in enumerate(class_names):
        sel = labels == i
        if not sel.any():
            continue
        fig.add_trace(go.Scattergl(
            x=coords[sel, 0], y=coords[sel, 1], mode="markers", name=_label(name),
            marker={"size": 5, "color": class_colour(name, i), "opacity": 0.6},
            customdata=np.stack([np.flatnonzero(sel), mass[sel], pt[sel]], -1),
            hovertemplate=(f"{_label(name)} (map jet #%{{customdata[0]:.0f}})<br>"
                           "m = %{customdata[1]:.1f} GeV<br>"
                           "p<sub>T</sub> = %{customdata[2]:.0f} GeV<br>"
                           "click: the jet and its 5 nearest by EMD<extra></extra>")))
    fig.update_xaxes(title_text=f"{method} 1 (dimensionless)")
    fig.update_yaxes(title_text=f"{method} 2 (dimensionless)")
    layout(fig, title, 600, margin=_MARGIN,
           legend={"itemsizing": "constant", "title": {"text": "class"}})
    return fig


def augmentation_display(original: np.ndarray, original_mask: np.ndarray,
                         augmented: np.ndarray | None, augmented_mask: np.ndarray | None,
                         jet_pt: float, radius: float, title: str,
                         colour: str = "#d62728", extent: float | None = None) -> go.Figure:
    """One jet in the (η_rel, φ_rel) plane: original (grey rings) and augmented (filled).

    ``jetviz.figures.jet_display``'s event display: marker area is proportional to pT, on the
    same scale in every panel. With ``augmented=None`` only the original is drawn, filled.

    Args:
        original, original_mask: (P, 3) particles and (P,) mask of the jet.
        augmented, augmented_mask: the augmented jet (any P), or None.
        jet_pt: the jet's pT in GeV (hover values).
        radius: jet radius R (dashed circle).
        title: the panel title.
        colour: the jet's class colour.
        extent: half-width of both axes (None: fit R and the particles).
    """
    if augmented is None:
        return event_display(original, original_mask, jet_pt=jet_pt, radius=radius,
                             title=title, colour=colour, extent=extent, height=430, compact=True)
    return event_display(augmented, augmented_mask, jet_pt=jet_pt, radius=radius, title=title,
                         colour=colour, name="augmented", overlay=original,
                         overlay_mask=original_mask, extent=extent, height=430, compact=True)


def roc_figure(curves: Mapping[str, Mapping], title: str, highlight: str = "all") -> go.Figure:
    """ROC curves as background rejection 1/ε_B (log) against signal efficiency ε_S.

    Args:
        curves: name -> {"eff_s": [...], "eff_b": [...], "auc": float, "inv_eb": float}
            (as stored in ablation.json).
        title: the figure title.
        highlight: the curve drawn thick; the others are thin (click the legend to hide).
    """
    fig = go.Figure()
    for name, c in curves.items():
        inv_eb = math.inf if c["inv_eb"] is None else c["inv_eb"]  # JSON stores inf as null
        eff_s, eff_b = np.asarray(c["eff_s"]), np.asarray(c["eff_b"])
        ok = eff_b > 0
        fig.add_trace(go.Scatter(
            x=eff_s[ok], y=1.0 / eff_b[ok], mode="lines",
            name=f"{name}: AUC {c['auc']:.3f}, 1/ε<sub>B</sub>(0.5) = {inv_eb:.0f}",
            line={"color": ROC_COLOURS.get(name, "#1f77b4"),
                  "width": 4 if name == highlight else 2,
                  "dash": "dash" if name == "supervised" else "solid"},
            hovertemplate=(f"{name}<br>ε<sub>S</sub> = %{{x:.3f}}<br>"
                           "1/ε<sub>B</sub> = %{y:.1f}<extra></extra>")))
        if np.isfinite(inv_eb):
            fig.add_trace(go.Scatter(
                x=[0.5], y=[inv_eb], mode="markers", showlegend=False,
                marker={"size": 10, "color": ROC_COLOURS.get(name, "#1f77b4"),
                        "line": {"width": 1, "color": "#222222"}},
                hovertemplate=(f"{name} at ε<sub>S</sub> = 0.5: "
                               "1/ε<sub>B</sub> = %{y:.1f}<extra></extra>")))
    fig.add_vline(x=0.5, line={"color": "#888888", "dash": "dot", "width": 1})
    # Below ε_S ≈ 0.1 the held-out QCD sample runs out (1/ε_B is then counting noise).
    fig.update_xaxes(title_text="signal efficiency ε<sub>S</sub> (top jets kept)",
                     range=[0.1, 1.0])
    fig.update_yaxes(title_text="background rejection 1/ε<sub>B</sub> (QCD)", type="log")
    layout(fig, title, 720, margin={**_MARGIN, "b": 40},
           legend={"x": 0.0, "y": -0.18, "xanchor": "left", "yanchor": "top"})
    return fig


def augmentation_extent(views: Mapping[str, tuple[np.ndarray, np.ndarray]],
                        radius: float) -> float:
    """Half-width of the axes that shows the jet radius R and every particle of every view
    (title -> (particles (P, 3), mask (P,))), so all panels share one scale."""
    reach = max(float(np.abs(x[m][:, 1:]).max(initial=0.0)) for x, m in views.values())
    return max(1.1 * radius, 1.05 * reach)
