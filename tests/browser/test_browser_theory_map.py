"""The theory-map page in Debian's Chromium: the shipped map renders with no exception, and a
box or lasso drawn on it fills the selection histograms."""

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
    wait_for_app,
)

pytestmark = [pytest.mark.browser, pytest.mark.skipif(not CHROMIUM.exists(), reason=NO_CHROMIUM)]

# JavaScript: names of the traces of the chart that draws the selection histograms.
SELECTION_TRACES = """() => {
  for (const div of document.querySelectorAll('.js-plotly-plot')) {
    const names = (div.data || []).map(t => t.name || '');
    if (names.some(n => n.startsWith('whole sample'))) return names;
  }
  return null;
}"""
MAP_AREA = ".js-plotly-plot .nsewdrag"  # the first chart on the page is the map


def _drag(page, points: list[tuple[float, float]]) -> None:
    """Press the mouse at the first point (fractions of the map's plot area), move through
    the others and release."""
    area = page.locator(MAP_AREA).first.bounding_box()
    xy = [(area["x"] + fx * area["width"], area["y"] + fy * area["height"]) for fx, fy in points]
    page.mouse.move(*xy[0])
    page.mouse.down()
    for x, y in xy[1:]:
        page.mouse.move(x, y, steps=5)
    page.mouse.up()


def _selection_drawn(page, previous: str = "") -> tuple[str, list[str]]:
    """Wait for the rerun the selection starts (the "N selected points" line differs from
    ``previous``); return that line and the histogram chart's trace names."""
    page.wait_for_function(
        """(previous) => Array.from(document.querySelectorAll('[data-testid="stMarkdown"]'))
             .some(m => m.innerText.includes('selected points') && m.innerText !== previous)""",
        arg=previous, timeout=60_000)
    wait_for_app(page)
    assert page.locator(EXCEPTION).count() == 0
    line = page.locator('[data-testid="stMarkdown"]').filter(has_text="selected points").first
    return line.inner_text(), page.evaluate(SELECTION_TRACES)


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


def test_box_and_lasso_selections_fill_the_histograms_in_chromium() -> None:
    with running_app() as url, browser_page(1440, 900) as page:
        open_page(page, url, "Theory map")
        page.locator(MAP_AREA).first.wait_for(timeout=60_000)
        before = page.evaluate(SELECTION_TRACES)
        assert before is not None and not any(n.startswith("selection") for n in before)

        # lasso: pick the lasso tool in the map's mode bar (the default drag zooms, so that a
        # click selects one point), then draw a triangle over the middle of the map
        page.locator(".js-plotly-plot").first.hover()
        page.locator('.js-plotly-plot [data-val="lasso"]').first.click()
        _drag(page, [(0.2, 0.2), (0.8, 0.3), (0.5, 0.85), (0.2, 0.2)])
        lasso, names = _selection_drawn(page)
        assert any(n.startswith("selection") for n in names), names

        # box: pick the box tool in the map's mode bar, then drag a rectangle
        page.locator(".js-plotly-plot").first.hover()
        page.locator('.js-plotly-plot [data-val="select"]').first.click()
        _drag(page, [(0.1, 0.1), (0.9, 0.9)])
        box, names = _selection_drawn(page, lasso)
        assert any(n.startswith("selection") for n in names), names
        assert page.locator(EXCEPTION).count() == 0
        assert int(box.split()[0]) > 0


# JavaScript: centre the first chart (the map) in the window and return the window
# coordinates of a point of it that lies in view (a click target).
VISIBLE_POINT = """() => {
  const div = document.querySelector('.js-plotly-plot');
  div.scrollIntoView({block: 'center'});
  const xa = div._fullLayout.xaxis, ya = div._fullLayout.yaxis;
  const box = div.querySelector('.nsewdrag').getBoundingClientRect();
  for (const trace of div._fullData) {
    for (let i = 0; i < (trace.x || []).length; i++) {
      const x = box.left + xa.d2p(trace.x[i]), y = box.top + ya.d2p(trace.y[i]);
      if (x > box.left + 5 && x < box.right - 5 && y > Math.max(box.top, 80) + 5
          && y < Math.min(box.bottom, window.innerHeight) - 5) return [x, y];
    }
  }
  return null;
}"""


def test_clicking_a_point_shows_its_events_and_neighbours_in_chromium() -> None:
    with running_app() as url, browser_page(1440, 900) as page:
        open_page(page, url, "Theory map")
        page.locator(MAP_AREA).first.wait_for(timeout=60_000)
        x, y = page.evaluate(VISIBLE_POINT)
        page.mouse.move(x, y)  # hover first: plotly picks the point under the cursor
        page.mouse.click(x, y)
        heading = page.get_by_text("nearest in the latent space").first
        heading.wait_for(timeout=60_000)
        wait_for_app(page)
        assert page.locator(EXCEPTION).count() == 0
        table = page.locator('[data-testid="stTable"]').filter(has_text="latent distance")
        table.locator("tbody tr").nth(4).wait_for(timeout=60_000)
        assert table.locator("tbody tr").count() == 5
        heading.scroll_into_view_if_needed()
        page.screenshot(path="/tmp/theorymap_click.png", full_page=False)
