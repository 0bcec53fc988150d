"""Share a view by URL, in Chromium: a link with the theory map's controls opens that view,
changing a control rewrites the address, and the "copy link" control shows the address."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import pytest

from tests.support_browser import (
    CHROMIUM,
    EXCEPTION,
    NO_CHROMIUM,
    browser_page,
    running_app,
    wait_for_app,
)

pytestmark = [pytest.mark.browser, pytest.mark.skipif(not CHROMIUM.exists(), reason=NO_CHROMIUM)]

# JavaScript: the title of the first plotly chart on the page (the map).
MAP_TITLE = """() => { const d = document.querySelector('.js-plotly-plot');
  return d && d.layout && d.layout.title ? (d.layout.title.text || '') : null; }"""
MAP_AXIS = """() => { const d = document.querySelector('.js-plotly-plot');
  return d && d.layout && d.layout.xaxis && d.layout.xaxis.title ? d.layout.xaxis.title.text
                                                                    : null; }"""


def _params(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlparse(url).query).items()}


def test_a_theory_map_link_reproduces_its_view_in_chromium() -> None:
    with running_app() as url, browser_page(1440, 900) as page:
        page.goto(f"{url}/theory_map?theorymap_method=autoencoder&theorymap_set_size=1"
                  "&theorymap_projection=pca")
        wait_for_app(page, 120_000)
        page.wait_for_function(f"() => ({MAP_TITLE})() !== null", timeout=60_000)
        assert page.locator(EXCEPTION).count() == 0
        assert page.locator('[data-testid="stAlert"]').count() == 0  # no widget warnings
        title = page.evaluate(MAP_TITLE)
        assert "autoencoder (MSE) map, N = 1 " in title, title
        assert page.evaluate(MAP_AXIS).startswith("PCA")
        radio = page.locator('[data-testid="stRadio"]').filter(has_text="2-D map")
        assert radio.locator("input[type=radio]:checked").count() == 1
        assert _params(page.url) == {"theorymap_method": "autoencoder",
                                     "theorymap_set_size": "1", "theorymap_projection": "pca"}

        # change a control: the address follows
        radio.get_by_text("UMAP").click()
        page.wait_for_function("() => location.search.includes('theorymap_projection=umap')",
                               timeout=60_000)
        wait_for_app(page)
        assert page.evaluate(MAP_AXIS).startswith("UMAP")
        assert _params(page.url)["theorymap_method"] == "autoencoder"

        # the copy-link control shows that address
        page.get_by_text("Copy link to this view").first.click()
        code = page.locator('[data-testid="stCode"]').last
        code.wait_for(timeout=30_000)
        link = code.inner_text().strip()
        assert _params(link) == _params(page.url)
        assert urlparse(link).path.endswith("/theory_map")
