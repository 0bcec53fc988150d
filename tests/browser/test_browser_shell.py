"""The running app in Debian's Chromium: every page in the navigation opens without an
exception and shows its main chart (but the pages in NO_CHART_YET, which have none until the
user acts); the data page's "Random jet" button redraws the event display."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from jetviz.readers.store import write_jets
from tests.conftest import make_jetset
from tests.support_browser import (
    CHROMIUM,
    EXCEPTION,
    NO_CHROMIUM,
    PLOTLY_CHART,
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
ALERT = '[data-testid="stMain"] [data-testid="stAlert"]'
# Pages with no chart until the user acts; they are still opened and checked for exceptions.
NO_CHART_YET = {
    "Home": "text, tables and links only",
    "Train a model": "its live loss curves appear once a training run starts",
}
PAGE_TIMEOUT_MS = 120_000  # a page's first run may load models on this shared 2-core machine


@pytest.fixture(scope="module")
def small_default(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """300 synthetic jets of 30 particles, standing in for the embedded default set."""
    path = tmp_path_factory.mktemp("browser") / "jets.h5"
    jets = make_jetset(n=300, p=30, seed=11)
    write_jets(path, dataclasses.replace(jets, attrs={"generator": "make_jetset", "seed": 11}))
    return path


@pytest.fixture(scope="module")
def app_url(small_default: Path):
    """One server for the module's tests."""
    with running_app(env={DEFAULT_ENV: str(small_default)}) as url:
        yield url


def test_every_page_renders_without_exception_and_shows_its_chart(app_url):
    problems = []
    url = app_url
    with browser_page() as page:
        page.goto(url)
        wait_for_app(page, PAGE_TIMEOUT_MS)
        # a link's text is its icon's name, then its title, on separate lines
        titles = [t.strip().splitlines()[-1] for t in page.locator(NAV_LINK).all_inner_texts()]
        assert {"Home", "Jets by class"} <= set(titles), titles
        assert page.get_by_text("300", exact=True).count() >= 1  # the home page's jet count
        for title in titles:
            page.locator(NAV_LINK).filter(has_text=title).last.click()
            wait_for_app(page, PAGE_TIMEOUT_MS)
            if page.locator(EXCEPTION).count():
                problems.append(f"{title}: {page.locator(EXCEPTION).first.inner_text()[:500]}")
                continue
            if title in NO_CHART_YET:
                continue
            try:
                page.wait_for_selector(PLOTLY_CHART, timeout=15_000)
            except PlaywrightTimeout:
                notes = page.locator(ALERT).all_inner_texts()
                problems.append(f"{title}: no plotly chart on the page; it says {notes}")
    assert not problems, "\n".join(problems)


def test_random_jet_redraws_the_event_display(app_url):
    with browser_page() as page:
        page.goto(app_url)
        wait_for_app(page, PAGE_TIMEOUT_MS)
        page.locator(NAV_LINK).filter(has_text="Jets by class").last.click()
        wait_for_app(page, PAGE_TIMEOUT_MS)
        title = page.locator(".js-plotly-plot .gtitle").filter(has_text="jet #")
        title.first.wait_for(timeout=30_000)
        assert title.first.text_content().endswith("jet #0")
        page.get_by_role("button", name="Random jet").click()
        page.wait_for_function(
            "() => [...document.querySelectorAll('.js-plotly-plot .gtitle')]"
            ".some(t => /jet #[1-9]/.test(t.textContent))", timeout=30_000)
        assert page.locator(EXCEPTION).count() == 0
