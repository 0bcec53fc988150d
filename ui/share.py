"""Share a view by URL: a page's controls round-trip through ``st.query_params``.

Vocabulary
----------
* A page's **shared keys** are the session-state keys of its widgets (``gen_n``,
  ``theorymap_method`` …). Each becomes one URL parameter of the same name.
* **Restore**: on a session's first run of a page (opening a link starts a new session),
  the URL's values go into session state under those keys, before the widgets are drawn,
  so the widgets open at them. A value the page does not offer (``allowed``) is
  ignored and the widget keeps its default.
* **Publish**: the widgets' current values (session state, which Streamlit updates before
  a rerun) are written back to the URL on every run, so the address bar always holds the
  view. Values are JSON in the URL for numbers and booleans, plain text for strings.

Pages call :func:`share_view` at the top (before their widgets) and :func:`share_link` where
the "copy link" control should sit.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Mapping, Sequence
from urllib.parse import urlencode

import streamlit as st

_APPLIED = "jetviz_share_applied"  # session state: page → the parameters last applied

Codec = tuple[Callable[[object], str], Callable[[str], object]]  # (encode, decode)


def _encode(value: object) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _decode(text: str) -> object:
    try:
        value = json.loads(text)
    except ValueError:
        return text
    return value if isinstance(value, bool | int | float) else text


def share_view(page: str, keys: Sequence[str], *,
               allowed: Mapping[str, Collection | Callable[[object], bool]] | None = None,
               codecs: Mapping[str, Codec] | None = None) -> None:
    """Restore ``keys`` from the URL (on the session's first run of ``page``), then write
    their values to it.

    Args:
        page: a name for the page (separates what each page applied).
        keys: the session-state keys of the page's widgets, in URL order.
        allowed: key → the values its widget offers, or a predicate; a URL value outside
            them is ignored.
        codecs: key → (encode, decode) for values that are not str/int/float/bool (a path
            written as its name, …).
    """
    allowed, codecs = allowed or {}, codecs or {}
    params = st.query_params.to_dict()
    mine = {k: params[k] for k in keys if k in params}
    applied = st.session_state.setdefault(_APPLIED, {})
    # only a session's first run of the page reads the URL: afterwards the session's own
    # state is the view (an address the browser has not caught up with must not win)
    if mine and page not in applied:
        for key, text in mine.items():
            decode = codecs[key][1] if key in codecs else _decode
            try:
                value = decode(text)
            except (ValueError, KeyError):
                continue
            ok = allowed.get(key)
            if ok is not None and not (ok(value) if callable(ok) else value in ok):
                continue
            st.session_state[key] = value
    publish(page, keys, codecs)


def publish(page: str, keys: Sequence[str], codecs: Mapping[str, Codec] | None = None) -> None:
    """Write the current values of ``keys`` (those in session state) to the URL."""
    codecs = codecs or {}
    written = {}
    for key in keys:
        value = st.session_state.get(key)
        if value is None:
            continue
        text = codecs[key][0](value) if key in codecs else _encode(value)
        written[key] = text
        if st.query_params.get(key) != text:
            st.query_params[key] = text
    st.session_state.setdefault(_APPLIED, {})[page] = json.dumps(written, sort_keys=True)


def share_link(where: object = None) -> None:
    """A "copy link" control: the address of this view, with a copy button.

    Args:
        where: the container to draw in (default: the page).
    """
    box = where if where is not None else st
    base = (st.context.url or "").split("?")[0]
    query = urlencode(st.query_params.to_dict())
    link = f"{base}?{query}" if query else base
    with box.popover("Copy link to this view", icon=":material/link:",
                     help="A link that opens this page with every control as it is now — "
                          "for slides, notes or a colleague."):
        st.code(link, language=None, wrap_lines=True)
        st.caption("Copy with the button at the right of the link; opening it reproduces "
                   "this view (on this server, with the same data set).")
