"""The generation and jet-image pages in AppTest, on a tiny real generator trained here."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from jetviz.generation.evaluation import TABLE_OBSERVABLES
from tests.support_apptest import app_test
from tests.support_generation import tiny_gen_root
from ui.data import DEFAULT_ENV
from ui.generation import ROOT_ENV

TIMEOUT = 240


@pytest.fixture(scope="module")
def tiny_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_gen_root(tmp_path_factory.mktemp("gen_pages"))


@pytest.fixture
def root(tiny_root: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv(ROOT_ENV, str(tiny_root))
    monkeypatch.setenv(DEFAULT_ENV, str(tiny_root / "jets.h5"))
    return tiny_root


def _open(monkeypatch, page: str):
    at = app_test(monkeypatch, timeout=TIMEOUT)
    at.switch_page(page).run()
    assert not at.exception, at.exception
    return at


def _figure(at, key: str) -> dict:
    chart = next(c for c in at.get("plotly_chart") if c.proto.id.endswith(key))
    return json.loads(chart.proto.spec)


def test_generation_page_shows_histograms_and_w1_table(root, monkeypatch):
    at = _open(monkeypatch, "views/generation.py")
    fig = _figure(at, "gen_histograms")
    names = {t.get("name") for t in fig["data"]}
    assert "true" in names and "generated (flow prior)" in names
    assert "flow prior" in fig["layout"]["title"]["text"]
    table = at.dataframe[0].value
    assert len(table) == len(TABLE_OBSERVABLES)
    assert {"W1 generated", "W1 truth vs truth", "ratio"} <= set(table.columns)
    # the frame centres every jet: η and φ are shown, not judged, and the page says why
    verdicts = dict(zip(table["observable"], table["verdict"], strict=True))
    assert verdicts["jet η"].startswith("not judged")
    assert verdicts["jet φ [rad]"].startswith("not judged")
    assert not verdicts["jet mass [GeV]"].startswith("not judged")
    why = next(c.value for c in at.caption if c.value.startswith("**Not judged:**"))
    assert "jet η — fixed by the frame" in why and "centred" in why
    # switch to the Gaussian prior: the figure and the scores change
    gauss = next(o for o in at.selectbox(key="gen_generator").options if "Gaussian" in o)
    at.selectbox(key="gen_generator").set_value(gauss).run()
    assert not at.exception, at.exception
    fig2 = _figure(at, "gen_histograms")
    assert "Gaussian" in fig2["layout"]["title"]["text"]
    assert {t.get("name") for t in fig2["data"]} >= {"true", "generated (gaussian prior)"}
    assert not at.dataframe[0].value["W1 generated"].equals(table["W1 generated"])


def test_generation_page_shows_the_jetnet_protocol_beside_truth_vs_truth(root, monkeypatch):
    at = _open(monkeypatch, "views/generation.py")
    table = next(d.value for d in at.dataframe if "FPD ×10³" in d.value.columns)
    assert list(table["sample"]) == ["generated vs real", "truth vs truth"]
    assert {"KPD ×10⁶", "W1M ×10³", "W1P ×10³", "W1EFP ×10⁵"} <= set(table.columns)
    assert all(" ± " in v for v in table["FPD ×10³"])
    note = next(c.value for c in at.caption if "Below the protocol's sample size" in c.value)
    assert "50,000 jets" in note and "truth-vs-truth row" in note
    headers = [h.value for h in at.header]
    assert headers.index("JetNet protocol: FPD, KPD and W1") > headers.index(
        "Wasserstein-1 distance per observable")


def test_images_page_panels_and_resolution(root, monkeypatch):
    at = _open(monkeypatch, "views/images.py")
    fig = _figure(at, "img_panels")
    heatmaps = [t for t in fig["data"] if t["type"] == "heatmap"]
    assert len(heatmaps) == 4  # true, reconstructed, generated, ratio
    assert heatmaps[0]["z"]["shape"] == "50, 50"  # default 50 × 50
    titles = [a["text"] for a in fig["layout"]["annotations"]]
    assert titles[:3] == ["true jets", "reconstructed jets", "generated jets"]
    at.select_slider(key="img_pixels").set_value(25).run()
    assert not at.exception, at.exception
    fig2 = _figure(at, "img_panels")
    assert fig2["data"][0]["z"]["shape"] == "25, 25"
    at.radio(key="img_compare").set_value("reconstructed").run()
    fig3 = _figure(at, "img_panels")
    assert any(a["text"] == "reconstructed / true" for a in fig3["layout"]["annotations"])


def test_warm_up_computes_every_generators_default_view(root, monkeypatch):
    import ui.generation_jetnet as jetnet_ui
    from ui.generation import WarmUpState, available_generators, warm_up

    calls = []
    scores = jetnet_ui.jetnet_scores
    monkeypatch.setattr(jetnet_ui, "jetnet_scores",
                        lambda *a, **k: calls.append(1) or scores(*a, **k))
    jetnet_ui._generated.clear()
    jetnet_ui._baseline.clear()
    state = WarmUpState(total=len(available_generators()))
    warm_up(state)
    assert state.total >= 2 and state.done == state.total
    # the JetNet scores too: one truth-vs-truth per class, one per generator
    assert len(calls) == state.total + len({s.classes for s in available_generators()})
    # the page opens on the same data afterwards, and computes no JetNet score again
    monkeypatch.setenv("JETVIZ_WARM_GENERATORS", "0")
    at = _open(monkeypatch, "views/generation.py")
    assert len(at.dataframe[0].value) == len(TABLE_OBSERVABLES)
    assert len(calls) == state.total + len({s.classes for s in available_generators()})
