"""The theory-map page in Debian's Chromium: the shipped map renders with no exception."""

from __future__ import annotations

import pytest

from tests.support_browser import (
    CHROMIUM,
    EXCEPTION,
    MAIN,
    NO_CHROMIUM,
    PLOTLY_CHART,
    browser_page,
    open_page,
    running_app,
)

pytestmark = [pytest.mark.browser, pytest.mark.skipif(not CHROMIUM.exists(), reason=NO_CHROMIUM)]


def test_theory_map_page_shows_the_map_in_chromium() -> None:
    with running_app() as url, browser_page() as page:
        open_page(page, url, "Theory map")
        main = page.locator(MAIN)
        assert main.locator("h1").first.inner_text().startswith("Theory map")
        assert page.locator(EXCEPTION).count() == 0
        charts = page.locator(PLOTLY_CHART)
        charts.first.wait_for(timeout=60_000)
        assert charts.count() >= 3  # map, selection histograms, mass-plane echo
        # the map's legend lists the theories, the unphysical sample among them
        page.get_by_text("unphysical (shuffled)").first.wait_for(timeout=30_000)
        assert page.locator(".js-plotly-plot .scatterlayer, .js-plotly-plot .gl-container"
                            ).count() > 0
