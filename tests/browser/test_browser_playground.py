"""The dimensionality playground in a real browser: slide the time budget, train, read D1."""

from __future__ import annotations

import pytest

from tests.support_browser import (
    CHROMIUM,
    EXCEPTION,
    NO_CHROMIUM,
    browser_page,
    open_page,
    running_app,
    wait_for_app,
)

pytestmark = [pytest.mark.browser, pytest.mark.skipif(not CHROMIUM.exists(), reason=NO_CHROMIUM)]

SLIDER = '[data-testid="stSlider"] input[type="range"]'  # the thumb (react-aria)
# JavaScript: the trace names of the chart titled "Dimensionality at scale β" (null until drawn)
DIM_TRACES = """() => {
  for (const div of document.querySelectorAll('.js-plotly-plot')) {
    const text = (div.layout && div.layout.title && div.layout.title.text) || '';
    if (text.startsWith('Dimensionality')) return (div.data || []).map(t => t.name || '');
  }
  return null;
}"""

def train_with_the_shortest_budget(page, budget, timeout_ms: int) -> None:
    """Slide the training-time slider to its shortest budget (0.1 min), train, await the run."""
    budget.focus()
    budget.press("Home")
    wait_for_app(page)
    assert budget.get_attribute("aria-valuetext") == "0.1"
    page.get_by_role("button", name="Train", exact=True).click()
    page.get_by_text("The last run").wait_for(timeout=timeout_ms)
    wait_for_app(page, 120_000)


def test_playground_trains_with_a_slid_budget_and_draws_d1(tmp_path):
    env = {"JETVIZ_VAE_ROOT": str(tmp_path)}
    with running_app(env=env) as url, browser_page() as page:
        open_page(page, url, "Dimensionality playground", timeout_ms=120_000)
        assert page.locator(EXCEPTION).count() == 0
        budget = page.locator(SLIDER).nth(1)  # latent dimensions, then the training time
        train_with_the_shortest_budget(page, budget, 180_000)
        names = page.evaluate(DIM_TRACES)
        assert names is not None and any("16–84 %" in n for n in names)
        assert any(n.startswith("thickness") for n in names)
        assert page.locator('[data-testid="stDataFrame"]').count() == 1
        assert page.locator(EXCEPTION).count() == 0


# JavaScript: the number of pictures (jets) in the jet-family chart (null until drawn)
FAMILY_PANELS = """() => {
  for (const div of document.querySelectorAll('.js-plotly-plot')) {
    const text = (div.layout && div.layout.title && div.layout.title.text) || '';
    if (text.startsWith('Each pair')) return (div.layout.images || []).length;
  }
  return null;
}"""


def test_a_jet_family_shows_its_end_jets_trains_and_draws_its_scales(tmp_path):
    env = {"JETVIZ_VAE_ROOT": str(tmp_path)}
    with running_app(env=env) as url, browser_page() as page:
        open_page(page, url, "Dimensionality playground", timeout_ms=120_000)
        page.get_by_text("k-parameter jet family").click()
        wait_for_app(page, 120_000)
        page.wait_for_function(f"({FAMILY_PANELS})() === 6", timeout=60_000)
        jets = page.get_by_role("spinbutton", name="Jets", exact=True)
        jets.fill("1000")
        jets.press("Enter")
        wait_for_app(page, 120_000)
        budget = page.locator(SLIDER).nth(0)  # no latent slider: the jets fix it (3P − 4)
        train_with_the_shortest_budget(page, budget, 240_000)
        names = page.evaluate(DIM_TRACES)
        assert names is not None
        assert {"separation = 90 GeV", "sharing = 3 GeV", "split = 0.1 GeV"} <= set(names)
        assert page.get_by_text("jetviz generate family --scales").count() >= 1
        assert page.locator(EXCEPTION).count() == 0
