"""The jet-representations page in Debian's Chromium: it renders without an exception and
draws its map, the six augmentation panels and the ROC curve (a tiny JetCLR run made by the
real pipeline stands in for the shipped one)."""

from __future__ import annotations

import pytest

from tests.browser.test_browser_theory_map import VISIBLE_POINT
from tests.pages.test_page_representations import tiny_run  # noqa: F401  (the module fixture)
from tests.support_browser import (
    CHROMIUM,
    EXCEPTION,
    NO_CHROMIUM,
    PLOTLY_CHART,
    browser_page,
    open_page,
    running_app,
    wait_for_app,
)
from ui.data import DEFAULT_ENV
from ui.jetclr import JETCLR_ENV

pytestmark = [pytest.mark.browser, pytest.mark.skipif(not CHROMIUM.exists(), reason=NO_CHROMIUM)]
PAGE_TIMEOUT_MS = 120_000  # first run on the shared 2-core machine


def test_representations_page_draws_its_charts_in_chromium(tiny_run):  # noqa: F811
    jets_path, jetclr = tiny_run
    env = {DEFAULT_ENV: str(jets_path), JETCLR_ENV: str(jetclr)}
    with running_app(env=env) as url, browser_page() as page:
        open_page(page, url, "Jet representations", PAGE_TIMEOUT_MS)
        assert page.locator(EXCEPTION).count() == 0, page.locator(EXCEPTION).first.inner_text()
        page.wait_for_selector(PLOTLY_CHART, timeout=30_000)
        plots = page.locator(".js-plotly-plot")
        page.wait_for_function("document.querySelectorAll('.js-plotly-plot').length >= 8",
                               timeout=30_000)
        titles = " | ".join(plots.locator(".gtitle").all_text_contents())
        assert "JetCLR representation" in titles
        assert "rotation about the jet axis" in titles
        assert "Top vs QCD on held-out jets" in titles
        assert page.get_by_text("1/ε_B at ε_S = 0.5").count() >= 1


def test_clicking_a_map_jet_shows_its_five_nearest_by_emd_in_chromium(tiny_run):  # noqa: F811
    jets_path, jetclr = tiny_run
    env = {DEFAULT_ENV: str(jets_path), JETCLR_ENV: str(jetclr)}
    with running_app(env=env) as url, browser_page(1440, 900) as page:
        open_page(page, url, "Jet representations", PAGE_TIMEOUT_MS)
        page.locator(".js-plotly-plot .nsewdrag").first.wait_for(timeout=60_000)
        x, y = page.evaluate(VISIBLE_POINT)
        page.mouse.move(x, y)  # hover first: plotly picks the point under the cursor
        page.mouse.click(x, y)
        table = page.locator('[data-testid="stTable"]').filter(has_text="EMD [GeV]")
        table.locator("tbody tr").nth(4).wait_for(timeout=120_000)
        wait_for_app(page)
        assert page.locator(EXCEPTION).count() == 0
        assert table.locator("tbody tr").count() == 5
