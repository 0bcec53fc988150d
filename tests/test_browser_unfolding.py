"""The Unfolding page in Debian's Chromium: it renders without an exception and draws its
main chart — one event's posterior histograms against the true partons — beside the picker,
the unfolded distributions and the calibration curves (a tiny synthetic bundle made by the
real pipeline stands in for the shipped files)."""

from __future__ import annotations

import pytest

from tests.support_browser import (
    CHROMIUM,
    EXCEPTION,
    NO_CHROMIUM,
    PLOTLY_CHART,
    browser_page,
    open_page,
    running_app,
)
from tests.support_unfolding import tiny_unfolding_dir
from ui.unfolding import UNFOLD_ENV

pytestmark = [pytest.mark.browser, pytest.mark.skipif(not CHROMIUM.exists(), reason=NO_CHROMIUM)]
PAGE_TIMEOUT_MS = 120_000  # first run on the shared 2-core machine


def test_unfolding_page_draws_the_posterior_chart_in_chromium(tmp_path):
    directory = tiny_unfolding_dir(tmp_path)
    with running_app(env={UNFOLD_ENV: str(directory)}) as url, browser_page() as page:
        open_page(page, url, "Unfolding", PAGE_TIMEOUT_MS)
        assert page.locator(EXCEPTION).count() == 0, page.locator(EXCEPTION).first.inner_text()
        page.wait_for_selector(PLOTLY_CHART, timeout=30_000)
        page.wait_for_function("document.querySelectorAll('.js-plotly-plot').length >= 4",
                               timeout=30_000)
        posterior = page.locator(".js-plotly-plot").nth(1)
        legend = " | ".join(posterior.locator(".legendtext").all_text_contents())
        assert "cINN posterior (1,000 samples)" in legend
        assert "true partons" in legend
        # five histograms with drawn bars, one per observable
        assert posterior.locator(".trace.bars").count() == 5
        assert posterior.locator(".trace.bars path").count() > 50
        titles = " | ".join(page.locator(".js-plotly-plot .gtitle").all_text_contents())
        assert "inclusive" in titles
