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


# JavaScript: boxes of the histogram figure, its legend, its title and its panels (page px).
LEGEND_BOXES = """() => {
  for (const div of document.querySelectorAll('.js-plotly-plot')) {
    const title = (div.layout && div.layout.title && div.layout.title.text) || '';
    if (!title.startsWith('True vs generated')) continue;
    const box = el => { const r = el.getBoundingClientRect();
                        return [r.left, r.top, r.right, r.bottom]; };
    const legend = div.querySelector('.legend');
    return {figure: box(div.querySelector('.main-svg')),
            legend: legend ? box(legend) : null,
            legendText: legend ? legend.textContent : '',
            title: box(div.querySelector('.gtitle')),
            panels: Array.from(div.querySelectorAll('.nsewdrag')).map(box),
            panelTitles: Array.from(div.querySelectorAll('.annotation')).map(box)};
  }
  return null;
}"""


def _overlap(a: list[float], b: list[float]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def test_generation_legend_sits_inside_the_figure_in_chromium(gen_env):
    with running_app(env=gen_env) as url, browser_page(1440, 900) as page:
        open_page(page, url, "Generated jets", timeout_ms=180_000)
        page.wait_for_selector(".js-plotly-plot .legend", timeout=60_000)
        boxes = page.evaluate(LEGEND_BOXES)
        assert boxes is not None and boxes["legend"] is not None
        fig, legend = boxes["figure"], boxes["legend"]
        assert "true" in boxes["legendText"] and "generated" in boxes["legendText"]
        assert legend[2] - legend[0] > 20 and legend[3] - legend[1] > 5  # drawn, not empty
        assert fig[0] <= legend[0] and legend[2] <= fig[2]  # inside the figure
        assert fig[1] <= legend[1] and legend[3] <= fig[3]
        for other in [boxes["title"], *boxes["panels"], *boxes["panelTitles"]]:
            assert not _overlap(legend, other), (legend, other)


def test_generation_and_image_pages_render_in_chromium(gen_env):
    with running_app(env=gen_env) as url, browser_page() as page:
        open_page(page, url, "Generated jets", timeout_ms=180_000)
        page.wait_for_selector(".js-plotly-plot", timeout=60_000)
        assert page.locator(EXCEPTION).count() == 0
        charts = page.evaluate(CHARTS)
        hist = next(c for c in charts if c["title"].startswith("True vs generated"))
        assert hist["traces"] >= 30  # 10 observables × (true, generated, ratio)
        # the W1 table and the JetNet-protocol table, with the note on the sample size
        page.get_by_text("JetNet protocol: FPD, KPD and W1").wait_for(timeout=120_000)
        page.get_by_text("Below the protocol's sample size").wait_for(timeout=120_000)
        assert page.locator('[data-testid="stDataFrame"]').count() == 2
        assert page.locator(EXCEPTION).count() == 0
        open_page(page, url, "Jet images", timeout_ms=180_000)
        page.wait_for_selector(".js-plotly-plot", timeout=60_000)
        assert page.locator(EXCEPTION).count() == 0
        charts = page.evaluate(CHARTS)
        images = next(c for c in charts if c["title"].startswith("Average"))
        assert images["heatmaps"] == 4
