"""The page list behind ``st.navigation``: pages whose file exists, grouped by section.

``app.py`` writes the list, one line per page; a page whose file does not exist yet is left
out, so the app runs while pages are still being written. The home page reads the same list
(``listed_pages``) for its links.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import streamlit as st

APP_DIR = Path(__file__).resolve().parent.parent  # where app.py lives; page paths are relative
_STATE_KEY = "jetviz_pages"


@dataclass(frozen=True)
class PageEntry:
    """One page of the app.

    Attributes:
        path: the page file, relative to app.py (e.g. "views/data.py").
        title: the title in the navigation and in links.
        icon: a Material icon (":material/name:") or an emoji.
        blurb: one line on what the page shows (the home page's link list, the nav tooltip).
    """

    path: str
    title: str
    icon: str
    blurb: str


def navigation(sections: Mapping[str, Sequence[PageEntry]]) -> st.navigation:
    """Build ``st.navigation`` from the pages whose file exists; the first page is the default.

    Sections left with no page are dropped. The existing pages are remembered in the
    session so the home page can link to them.
    """
    existing = {
        section: [e for e in entries if (APP_DIR / e.path).is_file()]
        for section, entries in sections.items()
    }
    existing = {section: entries for section, entries in existing.items() if entries}
    st.session_state[_STATE_KEY] = existing
    first = next(iter(existing.values()))[0].path if existing else None
    return st.navigation({
        section: [
            st.Page(APP_DIR / e.path, title=e.title, icon=e.icon, default=e.path == first)
            for e in entries
        ]
        for section, entries in existing.items()
    })


def listed_pages() -> dict[str, list[PageEntry]]:
    """The pages in the navigation, by section (as built in this session's last run)."""
    return st.session_state.get(_STATE_KEY, {})
