"""Deep links on a freshly started server: the first visitor opening /beta or /train (before
anyone opened /) gets the whole app — the navigation, the data-set sidebar and the page."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from jetviz.readers.store import write_jets
from tests.conftest import make_jetset
from tests.support_browser import (
    CHROMIUM,
    EXCEPTION,
    NO_CHROMIUM,
    browser_page,
    running_app,
    wait_for_app,
)
from ui.data import DEFAULT_ENV

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason=NO_CHROMIUM),
]
NAV_LINK = '[data-testid="stSidebarNavLink"]'
SIDEBAR = '[data-testid="stSidebar"]'
TIMEOUT_MS = 120_000


@pytest.fixture(scope="module")
def small_default(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("deeplink") / "jets.h5"
    jets = make_jetset(n=200, p=30, seed=5)
    write_jets(path, dataclasses.replace(jets, attrs={"generator": "make_jetset", "seed": 5}))
    return path


@pytest.mark.parametrize(("slug", "heading"), [("beta", "β"), ("train", "Train")])
def test_a_deep_link_first_on_a_fresh_server_gives_the_whole_app(small_default, slug, heading):
    with running_app(env={DEFAULT_ENV: str(small_default)}) as url, browser_page() as page:
        page.goto(f"{url}/{slug}")  # the server's very first visitor
        wait_for_app(page, TIMEOUT_MS)
        titles = page.locator(NAV_LINK).all_inner_texts()
        sidebar = page.locator(SIDEBAR).inner_text()
        main = page.locator('[data-testid="stMain"]').inner_text()
        assert page.locator(EXCEPTION).count() == 0
        assert "β slider" in " ".join(titles) and "Theory map" in " ".join(titles), titles
        assert "Jet data set" in sidebar and "200 jets" in sidebar, sidebar
        assert "No jet data set is loaded" not in main
        assert heading in page.locator("h1").first.inner_text()
