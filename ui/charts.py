"""A chart the browser draws once: a plotly figure shown at a fixed width in px.

Streamlit first draws a chart before it has measured the chart's container (at plotly's own
default width, hidden), then once more at the container's width. A figure whose layout width
equals the element's fixed width is drawn once, at its final size; with a ``datarevision``
in its layout (every ``jetviz.figures.spec`` figure has one) Streamlit's later re-theming of
the same figure draws nothing either. ``benchmarks/beta_step.py`` counts the draws per step.
"""

from __future__ import annotations

import plotly.graph_objects as go
import streamlit as st

COLUMN_PX = 440  # a chart in one of two columns (a column is 454 px in a 1400 px window)
ROW_PX = 900  # a chart across the page (940 px in a 1400 px window)


def fixed_chart(fig: go.Figure, width: int, key: str, config: dict | None = None) -> None:
    """Show ``fig`` at ``width`` px in jetviz's own look (``theme=None``), drawn once.

    Args:
        fig: the figure (its layout width is set to ``width``).
        width: the chart's width in px; a narrower container shrinks it (then it is drawn
            a second time, at the container's width).
        key: the element's key.
        config: plotly's config (e.g. ``{"displayModeBar": False}``).
    """
    fig.layout.width = width
    st.plotly_chart(fig, width=width, theme=None, key=key, config=config)
