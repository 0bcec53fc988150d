"""The generation and jet-image pages in Chromium: charts render, no exception."""

from __future__ import annotations

import pytest

from tests.support_browser import (
    CHROMIUM,
    EXCEPTION,
    NO_CHROMIUM,
    browser_page,
    open_page,
    running_app,
)
from tests.support_generation import tiny_gen_root

pytestmark = [pytest.mark.browser, pytest.mark.skipif(not CHROMIUM.exists(), reason=NO_CHROMIUM)]

# JavaScript: titles of the rendered plotly charts and how many traces each drew.
CHARTS = """() => Array.from(document.querySelectorAll('.js-plotly-plot')).map(div => ({
  title: (div.layout && div.layout.title && div.layout.title.text) || '',
  traces: (div.data || []).length,
  heatmaps: (div.data || []).filter(t => t.type === 'heatmap').length,
}))"""


@pytest.fixture(scope="module")
def gen_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    root = tiny_gen_root(tmp_path_factory.mktemp("gen_browser"))
    return {"JETVIZ_GEN_ROOT": str(root), "JETVIZ_DEFAULT_JETS": str(root / "jets.h5")}


def test_generation_and_image_pages_render_in_chromium(gen_env):
    with running_app(env=gen_env) as url, browser_page() as page:
        open_page(page, url, "Generated jets", timeout_ms=180_000)
        page.wait_for_selector(".js-plotly-plot", timeout=60_000)
        assert page.locator(EXCEPTION).count() == 0
        charts = page.evaluate(CHARTS)
        hist = next(c for c in charts if c["title"].startswith("True vs generated"))
        assert hist["traces"] >= 30  # 10 observables × (true, generated, ratio)
        assert page.locator('[data-testid="stDataFrame"]').count() == 1
        open_page(page, url, "Jet images", timeout_ms=180_000)
        page.wait_for_selector(".js-plotly-plot", timeout=60_000)
        assert page.locator(EXCEPTION).count() == 0
        charts = page.evaluate(CHARTS)
        images = next(c for c in charts if c["title"].startswith("Average"))
        assert images["heatmaps"] == 4
