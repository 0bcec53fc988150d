"""Click a point on a map: remember which one, for the page to show it and its neighbours.

A map figure whose points carry their row as ``customdata[0]`` (``theory_map_figure``,
``representation_map``) is drawn with ``on_select=remember_click(chart_key, state_key)``:
when its selection changes to exactly one point (a click), the point's row goes into
``st.session_state[state_key]``. The page reads that key, so "Open" buttons, a shared link
or a test can set it the same way; a later rerun with the old selection left in the chart
does not call the callback again, so it does not undo them.
"""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from jetviz.figures.contrastive import clicked_map_row


def remember_click(chart_key: str, state_key: str) -> Callable[[], None]:
    """An ``on_select`` callback for the chart ``chart_key``: a click on one point stores its
    row in ``st.session_state[state_key]``."""

    def callback() -> None:
        state = st.session_state.get(chart_key) or {}
        try:
            points = state["selection"]["points"]
        except (KeyError, TypeError):
            points = []
        row = clicked_map_row(points)
        if row is not None:
            st.session_state[state_key] = row

    return callback


def clicked_row(state_key: str, n_points: int) -> int | None:
    """The remembered row if it lies on a map of ``n_points`` points, else None (dropped)."""
    row = st.session_state.get(state_key)
    if isinstance(row, int) and 0 <= row < n_points:
        return row
    st.session_state.pop(state_key, None)
    return None
