"""AppTest of the theory-map page on a tiny trained directory (synthetic events)."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import numpy as np
import pytest

from jetviz.readers import load_events
from jetviz.readers.store import write_events
from jetviz.theorymap.checkpoint import load_map
from jetviz.theorymap.maps import nearest_in_latent
from jetviz.theorymap.model import EncoderConfig
from jetviz.theorymap.train import TrainConfig, run_training
from tests.support_apptest import app_test, chart
from tests.support_theorymap import cheap_reduce, make_events, tiny_theorymap

PAGE = "views/theory_map.py"


@pytest.fixture(scope="module")
def theorymap_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("theorymap")
    tiny_theorymap(out)
    return out


@pytest.fixture
def page(monkeypatch: pytest.MonkeyPatch, theorymap_dir: Path,
         tmp_path_factory: pytest.TempPathFactory):
    monkeypatch.setenv("JETVIZ_THEORYMAP_DIR", str(theorymap_dir))
    monkeypatch.setenv("JETVIZ_DATA_ROOTS", str(tmp_path_factory.getbasetemp()))
    at = app_test(monkeypatch)
    at.switch_page(PAGE).run()
    assert not at.exception, at.exception
    return at


def _map_figure(at) -> dict:
    """The theory map's plotly JSON (the first chart on the page)."""
    return json.loads(at.get("plotly_chart")[0].proto.spec)


def _array(values: list | dict) -> np.ndarray:
    """A plotly JSON array: a list, or {"dtype", "bdata"} (base64) since plotly 6."""
    if isinstance(values, dict):
        return np.frombuffer(base64.b64decode(values["bdata"]), dtype=values["dtype"])
    return np.asarray(values)


def _map_points(at) -> np.ndarray:
    fig = _map_figure(at)
    return np.concatenate([np.c_[_array(t["x"]), _array(t["y"])] for t in fig["data"]
                           if t.get("name") != "your events"])


def test_page_renders_map_table_and_formula(page) -> None:
    assert page.title[0].value.startswith("Theory map")
    assert any("max(0" in lx.value for lx in page.latex)
    assert len(page.get("plotly_chart")) == 3  # map, selection histograms, mass-plane echo
    fig = _map_figure(page)
    names = {t["name"] for t in fig["data"]}
    assert "unphysical (shuffled)" in names and "qcd" in names
    assert "m_g̃ = 1000 GeV" in fig["data"][0]["hovertemplate"]
    table = page.table[0].value  # a static table: its headers wrap, no column is hidden
    assert list(table.index) == ["autoencoder (MSE)", "Neural Embedding", "contrastive"]
    assert list(table.columns) == ["accuracy", "unphysical → itself", "mass-plane ρ"]
    assert not page.error


def test_changing_method_and_set_size_changes_the_map(page) -> None:
    before = _map_points(page)
    page.radio(key="theorymap_method").set_value("autoencoder").run()
    assert not page.exception
    after_method = _map_points(page)
    assert not np.array_equal(before, after_method)
    page.select_slider(key="theorymap_set_size").set_value(1).run()
    assert not page.exception
    after_size = _map_points(page)
    assert len(after_size) != len(after_method)  # single events: more points than sets of 4
    assert "N = 1" in _map_figure(page)["layout"]["title"]["text"]


def test_bad_csv_shows_error_and_the_map_stays(page, tmp_path: Path) -> None:
    before = _map_points(page)
    bad = tmp_path / "bad.csv"
    bad.write_text("1;ttbar;1.0;not-a-number;0.1;j,200000,150000,0.1,0.2;\n")
    page.text_input(key="theorymap_path").set_value(str(bad))
    page.button(key="theorymap_project").click().run()
    assert not page.exception
    assert any("MET" in e.value for e in page.error)
    np.testing.assert_array_equal(_map_points(page), before)
    missing = tmp_path / "nowhere.csv"
    page.text_input(key="theorymap_path").set_value(str(missing))
    page.button(key="theorymap_project").click().run()
    assert any("no such file" in e.value for e in page.error)
    np.testing.assert_array_equal(_map_points(page), before)


def test_too_few_events_for_the_set_size_is_an_error_and_good_events_are_projected(
        page, tmp_path: Path) -> None:
    few = tmp_path / "few.h5"
    write_events(few, make_events(60).subset(slice(0, 3)))  # 3 events, set size 4
    page.text_input(key="theorymap_path").set_value(str(few))
    page.button(key="theorymap_project").click().run()
    assert any("set size is 4" in e.value for e in page.error)
    assert "your events" not in {t["name"] for t in _map_figure(page)["data"]}
    good = tmp_path / "good.h5"
    write_events(good, make_events(60, seed=9))
    page.text_input(key="theorymap_path").set_value(str(good))
    page.button(key="theorymap_project").click().run()
    assert not page.error and not page.exception
    mine = [t for t in _map_figure(page)["data"] if t["name"] == "your events"]
    assert len(mine) == 1 and len(_array(mine[0]["x"])) == 4 * (60 // 4)


def test_uploaded_events_are_projected_from_memory_and_leave_no_file(
        page, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import tempfile

    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    good = tmp_path / "mine.h5"
    write_events(good, make_events(60, seed=9))
    page.get("file_uploader")[0].upload("mine.h5", good.read_bytes()).run()
    assert not page.exception and not page.error, [e.value for e in page.error]
    assert "your events" in {t["name"] for t in _map_figure(page)["data"]}
    assert list(scratch.iterdir()) == []  # parsed from memory: nothing written


def test_selected_rows_reads_customdata_as_plotly_sends_it() -> None:
    from types import SimpleNamespace

    from ui.theorymap import selected_rows

    points = [{"customdata": {"0": 42, "1": 2}},  # a typed-array row, as Chromium sends it
              {"customdata": [7, 0]},  # a list row
              {"customdata": {"0": -1, "1": -1}},  # the user's own point: ignored
              {"x": 0.0}]  # no customdata: ignored
    event = SimpleNamespace(selection=SimpleNamespace(points=points))
    assert selected_rows(event).tolist() == [7, 42]
    assert selected_rows(object()).size == 0


@pytest.fixture(scope="module")
def filed_theorymap(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A tiny theory map trained on events read from a file (so it can draw them)."""
    root = tmp_path_factory.mktemp("theorymap_filed")
    write_events(root / "events.h5", make_events(60))
    out = root / "theorymap"
    run_training(load_events(root / "events.h5"), out, (1, 4),
                 encoder=EncoderConfig(hidden=16), train=TrainConfig(steps=20, sets_per_theory=4),
                 progress=False, reduce=cheap_reduce)
    return root / "events.h5", out


def test_clicking_a_point_shows_its_events_and_five_latent_neighbours(
        monkeypatch: pytest.MonkeyPatch, filed_theorymap) -> None:
    events_path, out = filed_theorymap
    monkeypatch.setenv("JETVIZ_THEORYMAP_DIR", str(out))
    at = app_test(monkeypatch)
    at.switch_page(PAGE).run()
    at.radio(key="theorymap_method").set_value("contrastive")
    at.select_slider(key="theorymap_set_size").set_value(1).run()
    assert len(at.table) == 1  # nothing clicked: no neighbour table
    at.session_state["theorymap_point"] = 2  # what a click on point #2 stores (ui.clicks)
    at.run()
    assert not at.exception, at.exception
    tmap = load_map(out, "contrastive", 1)
    near, dist = nearest_in_latent(tmap.latent, 2, k=5)
    assert len(near) == 5 and 2 not in near and np.all(np.diff(dist) >= 0)
    table = at.table[1].value
    assert table["latent distance"].tolist() == [f"{d:.3f}" for d in dist]
    assert [int(p.split()[0][1:]) for p in table["point"]] == near.tolist()
    panels = chart(at, "theorymap_point_neighbours")
    titles = [a["text"] for a in panels["layout"]["annotations"]]
    assert len(titles) == 5 and titles[0].startswith(f"#{near[0]}: d = {dist[0]:.3f}<br>")
    # the clicked event's leading jet is an arrow of length pT along its φ
    event = load_events(events_path).features[tmap.event_index[2, 0]]
    arrow = chart(at, "theorymap_point_display")["data"][0]
    assert _array(arrow["x"])[1] == pytest.approx(event[0] * np.cos(event[2]), rel=1e-5)
    assert _array(arrow["y"])[1] == pytest.approx(event[0] * np.sin(event[2]), rel=1e-5)
    at.button(key=f"theorymap_open_{near[0]}").click().run()
    assert at.session_state["theorymap_point"] == near[0]
    at.select_slider(key="theorymap_set_size").set_value(4).run()  # another map: forgotten
    assert "theorymap_point" not in at.session_state and len(at.table) == 1
