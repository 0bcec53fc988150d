"""AppTest of the whole app (app.py + a page), as a browser session would run it.

Use ``app_test(monkeypatch)`` instead of ``AppTest.from_file("app.py")``:

    at = app_test(monkeypatch)          # runs app.py: navigation, sidebar, home page
    at.switch_page("views/beta.py").run()

Why: Streamlit 1.67's AppTest rebuilds its PagesManager before every run and resets
``PagesManager.uses_pages_directory``; were there a ``pages/`` folder, every run after the
first would take the legacy pages-folder path and run the page file alone, skipping app.py
(its ``st.navigation``, the shared sidebar and the data-set picker). The pages now live in
``views/`` so neither AppTest nor a fresh server takes that path; this helper still pins the
flag to False, as the running server does once ``st.navigation`` has run, so a stray
``pages/`` folder (a page added in the old place) cannot make tests skip app.py.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import streamlit.testing.v1.app_test as app_test_module
from streamlit.runtime.pages_manager import PagesManager
from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parent.parent / "app.py")


class _NavigationPagesManager(PagesManager):
    """A PagesManager that, like the running server after st.navigation, ignores pages/."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        PagesManager.uses_pages_directory = False


def app_test(monkeypatch: pytest.MonkeyPatch, timeout: float = 60, run: bool = True) -> AppTest:
    """An AppTest of app.py whose reruns execute app.py and then the current page.

    Args:
        monkeypatch: pytest's fixture (the patch is undone after the test).
        timeout: seconds a run may take.
        run: run the app once (the home page) before returning.
    """
    monkeypatch.setattr(app_test_module, "PagesManager", _NavigationPagesManager)
    at = AppTest.from_file(APP, default_timeout=timeout)
    if run:
        at.run()
    return at


def charts(at: AppTest) -> dict[str, dict]:
    """The page's plotly figures (as JSON) by their element id."""
    return {c.proto.id: json.loads(c.proto.spec) for c in at.get("plotly_chart")}


def chart(at: AppTest, suffix: str) -> dict:
    """The page's plotly figure whose element id contains ``suffix`` (its widget key)."""
    return next(v for k, v in charts(at).items() if suffix in k)
