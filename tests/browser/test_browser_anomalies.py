"""The anomalies page in Debian's Chromium: it renders without an exception and draws its
score histogram (the main chart) with clickable jets, the ROC and the images (tiny models
made by the real pipeline stand in for the shipped ones)."""

from __future__ import annotations

import pytest

from tests.pages.test_page_anomalies import tiny_models  # noqa: F401  (the module fixture)
from tests.support_browser import (
    CHROMIUM,
    EXCEPTION,
    NO_CHROMIUM,
    PLOTLY_CHART,
    browser_page,
    open_page,
    running_app,
)
from ui.anomaly import ANOMALY_ENV
from ui.data import DEFAULT_ENV

pytestmark = [pytest.mark.browser, pytest.mark.skipif(not CHROMIUM.exists(), reason=NO_CHROMIUM)]
PAGE_TIMEOUT_MS = 120_000  # first run on the shared 2-core machine


def test_anomalies_page_draws_its_score_histogram_in_chromium(tiny_models):  # noqa: F811
    jets_path, models = tiny_models
    env = {DEFAULT_ENV: str(jets_path), ANOMALY_ENV: str(models)}
    with running_app(env=env) as url, browser_page() as page:
        open_page(page, url, "Anomalies", PAGE_TIMEOUT_MS)
        assert page.locator(EXCEPTION).count() == 0, page.locator(EXCEPTION).first.inner_text()
        page.wait_for_selector(PLOTLY_CHART, timeout=30_000)
        page.wait_for_function("document.querySelectorAll('.js-plotly-plot').length >= 5",
                               timeout=30_000)
        plots = page.locator(".js-plotly-plot")
        titles = " | ".join(plots.locator(".gtitle").all_text_contents())
        assert "reconstruction error per jet" in titles
        assert "ROC" in titles and "Jet #" in titles
        hist = plots.filter(has_text="reconstruction error per jet").first
        assert hist.locator(".scatterlayer .trace").count() >= 8  # 4 histograms + 4 strips
        assert hist.locator(".point").count() > 20  # the clickable jets are drawn
        # the Images picker: the blurred set draws its own histogram, without an exception
        page.get_by_role("radiogroup", name="Images").get_by_text("blurred (σ = 1 pixel)").click()
        page.wait_for_function(
            "[...document.querySelectorAll('.caption, [data-testid=stCaptionContainer]')]"
            ".some(e => e.innerText.includes('smoothed by a Gaussian'))", timeout=60_000)
        assert page.locator(EXCEPTION).count() == 0, page.locator(EXCEPTION).first.inner_text()
        page.wait_for_function("document.querySelectorAll('.js-plotly-plot').length >= 5",
                               timeout=60_000)
        page.screenshot(path="/tmp/anomalies_blurred.png", full_page=True)
