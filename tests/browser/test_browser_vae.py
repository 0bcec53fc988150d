"""The β slider in a real browser: move it with the keyboard and see the charts follow."""

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
from tests.support_vae import tiny_vae_root

pytestmark = [pytest.mark.browser, pytest.mark.skipif(not CHROMIUM.exists(), reason=NO_CHROMIUM)]

# JavaScript: x of the "current β" marker in the chart whose title starts with ``title``.
MARKER_X = """(title) => {
  for (const div of document.querySelectorAll('.js-plotly-plot')) {
    const text = (div.layout && div.layout.title && div.layout.title.text) || '';
    if (!text.startsWith(title)) continue;
    const marker = (div.data || []).find(t => t.name === 'current β');
    if (marker) return marker.x[0];
  }
  return null;
}"""
EMD_CHART = "KL per dimension"  # its right panel, the distance histogram, marks β
SLIDER = '[data-testid="stSlider"] input[type="range"]'  # the thumb (react-aria)


def marker_x(page, title: str = EMD_CHART) -> float | None:
    """The β the chart titled ``title`` currently marks (None while it is not drawn)."""
    return page.evaluate(MARKER_X, title)


def move_beta_slider(page, key: str = "ArrowLeft", presses: int = 1) -> None:
    """Focus the β slider's thumb and press ``key`` (each press is one grid step)."""
    thumb = page.locator(SLIDER).first
    thumb.focus()
    for _ in range(presses):
        thumb.press(key)


def wait_for_marker_change(page, old: float, timeout_ms: float = 60_000) -> float:
    """Wait until the EMD histogram's marker leaves ``old``; return the new β."""
    page.wait_for_function(f"(old) => ({MARKER_X})({EMD_CHART!r}) !== old", arg=old,
                           timeout=timeout_ms)
    return marker_x(page)


@pytest.fixture(scope="module")
def vae_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    root = tiny_vae_root(tmp_path_factory.mktemp("vae_browser"))
    return {"JETVIZ_VAE_ROOT": str(root), "JETVIZ_DEFAULT_JETS": str(root / "jets.h5")}


def test_beta_slider_moves_the_charts_in_chromium(vae_env):
    with running_app(env=vae_env) as url, browser_page() as page:
        open_page(page, url, "β slider", timeout_ms=120_000)
        page.wait_for_function(f"() => ({MARKER_X})({EMD_CHART!r}) !== null", timeout=60_000)
        assert page.locator(EXCEPTION).count() == 0
        before = marker_x(page)
        assert bars_beta(page) == pytest.approx(before, rel=6e-3)
        move_beta_slider(page, "ArrowLeft", 2)
        wait_for_marker_change(page, before)
        wait_for_app(page)  # each key press is a rerun: wait for the last one to finish
        after = marker_x(page)
        assert after < before  # two grid steps towards smaller β
        assert bars_beta(page) == pytest.approx(after, rel=6e-3)
        assert page.locator(EXCEPTION).count() == 0
        for page_title in ("Latent walk", "Train a model"):
            open_page(page, url, page_title, timeout_ms=120_000)
            assert page.locator(EXCEPTION).count() == 0
            assert page.locator(".js-plotly-plot").count() >= (2 if page_title != "Train a model"
                                                                 else 0)


# JavaScript: the text the β slider shows on its thumb.
SLIDER_TEXT = """() => {
  const el = document.querySelector('[data-testid="stSliderThumbValue"]');
  return el ? el.innerText : null;
}"""


# JavaScript: the title of the KL bars' figure ("KL per dimension and reconstruction EMD at
# β = 33.5 GeV").
BARS_TITLE = """() => {
  for (const div of document.querySelectorAll('.js-plotly-plot')) {
    const text = (div.layout && div.layout.title && div.layout.title.text) || '';
    if (text.startsWith('KL per dimension') && text.includes(' at β = ')) return text;
  }
  return null;
}"""


# JavaScript: the alt text of the reconstructed jets' picture once the browser has decoded it
# ("Their reconstructions at β = 33.5 GeV"), or null.
PICTURE_ALT = """() => {
  const img = document.querySelector('img[alt^="Their reconstructions at β = "]');
  return img && img.complete && img.naturalWidth > 0 ? img.alt : null;
}"""


def picture_beta(page) -> float:
    """The β the reconstructed jets' picture names (its alt text, as its title), once drawn."""
    page.wait_for_function(f"() => ({PICTURE_ALT})() !== null", timeout=30_000)
    return parse_beta(page.evaluate(PICTURE_ALT).split("β = ")[1])


def slider_beta(page) -> float:
    """The β the slider's thumb shows, as a number."""
    return parse_beta(page.evaluate(SLIDER_TEXT))


def bars_beta(page) -> float:
    """The β the KL-bars chart's title names, as a number."""
    return parse_beta(page.evaluate(BARS_TITLE).split("β = ")[1])


def parse_beta(shown: str) -> float:
    """β as the page writes it, as a number ("33.5 GeV" → 33.5, "2.5·10⁻⁵" → 2.5e-5)."""
    text = shown.split()[0]
    if "·10" in text:
        mantissa, exponent = text.split("·10")
        exponent = exponent.translate(str.maketrans("⁻⁰¹²³⁴⁵⁶⁷⁸⁹", "-0123456789"))
        return float(mantissa) * 10 ** int(exponent)
    return float(text)


def choose_model(page, label: str, slider_label: str) -> None:
    """Pick ``label`` in the model selectbox and wait until the page shows that model (its
    β slider is labelled ``slider_label``: the toy's β has no unit) and has redrawn."""
    page.locator('[data-testid="stSelectbox"]').first.click()
    page.locator('[role="option"]').filter(has_text=label).first.click()
    page.wait_for_function(
        """(text) => { const l = document.querySelector('[data-testid="stSlider"] label');
                       return l !== null && l.innerText.trim() === text; }""",
        arg=slider_label, timeout=120_000)
    wait_for_app(page, 120_000)
    page.wait_for_function(f"() => ({MARKER_X})({EMD_CHART!r}) !== null", timeout=60_000)


def assert_slider_and_charts_agree(page) -> float:
    wait_for_app(page)
    assert page.locator(EXCEPTION).count() == 0
    shown, marked = slider_beta(page), marker_x(page)
    assert shown == pytest.approx(marked, rel=6e-3), (shown, marked)  # 3 significant digits
    assert bars_beta(page) == pytest.approx(marked, rel=6e-3)
    return marked


def test_beta_slider_and_charts_agree_across_model_switches_in_chromium(vae_env):
    with running_app(env=vae_env) as url, browser_page(1440, 900) as page:
        open_page(page, url, "β slider", timeout_ms=120_000)
        page.wait_for_function(f"() => ({MARKER_X})({EMD_CHART!r}) !== null", timeout=60_000)
        first = assert_slider_and_charts_agree(page)
        assert picture_beta(page) == pytest.approx(first, rel=6e-3)  # the jets' picture too
        move_beta_slider(page, "ArrowLeft", 3)
        wait_for_marker_change(page, first)
        tiny_beta = assert_slider_and_charts_agree(page)
        assert tiny_beta < first
        assert picture_beta(page) == pytest.approx(tiny_beta, rel=6e-3)

        choose_model(page, "vae_banana", "β (log scale)")
        banana_beta = assert_slider_and_charts_agree(page)
        move_beta_slider(page, "ArrowRight", 2)
        wait_for_marker_change(page, banana_beta)
        assert assert_slider_and_charts_agree(page) > banana_beta

        # back: the β chosen for this model is restored
        choose_model(page, "vae_tiny", "β [GeV] (log scale)")
        assert assert_slider_and_charts_agree(page) == pytest.approx(tiny_beta)


def test_walk_dimension_picker_follows_a_model_switch_in_chromium(vae_env):
    """After a switch to a model with fewer latent dimensions, the picker shows one of the new
    model's dimensions (the browser used to keep the old model's label, e.g. z3 of 0–2)."""
    dimension = '[data-testid="stSelectbox"]:has-text("Latent dimension")'
    shown = f"{dimension} input"  # the combobox's text: the chosen option's label
    with running_app(env=vae_env) as url, browser_page(1440, 900) as page:
        open_page(page, url, "Latent walk", timeout_ms=120_000)
        page.locator(dimension).wait_for(timeout=60_000)
        page.locator(dimension).click()
        page.locator('[role="option"]').filter(has_text="z3 —").first.click()
        wait_for_app(page, 120_000)
        assert page.locator(shown).input_value().startswith("z3 —")

        page.locator('[data-testid="stSelectbox"]').first.click()
        page.locator('[role="option"]').filter(has_text="vae_banana").first.click()
        page.get_by_text("β (log scale)").wait_for(timeout=120_000)
        wait_for_app(page, 120_000)
        label = page.locator(shown).input_value()
        assert any(label.startswith(f"z{i} —") for i in range(3)), label
        assert page.locator(EXCEPTION).count() == 0
