"""The Unfolding page in Debian's Chromium: it renders without an exception and draws its
main chart — one event's posterior histograms against the true partons — beside the picker,
the unfolded distributions and the calibration curves; a box dragged on the picker selects
an event (a tiny synthetic bundle made by the
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
    wait_for_app,
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
        # a box dragged over the picker's points picks the first event inside it
        picker = page.locator(".js-plotly-plot").first
        picker.scroll_into_view_if_needed()
        box = picker.locator(".nsewdrag").first.bounding_box()
        event = page.locator('input[type="number"]').first
        event.fill("5")
        event.press("Enter")
        wait_for_app(page, PAGE_TIMEOUT_MS)
        assert event.input_value() == "5"
        page.mouse.move(box["x"] + 2, box["y"] + 2)
        page.mouse.down()
        page.mouse.move(box["x"] + box["width"] - 2, box["y"] + box["height"] - 2, steps=8)
        page.mouse.up()
        page.wait_for_function(  # the box holds every event: the first one, 0, is picked
            "document.querySelector('input[type=number]').value === '0'", timeout=30_000)
        assert page.locator(EXCEPTION).count() == 0
