"""The jet-representations page in Streamlit's AppTest, on a tiny JetCLR run made here by the
real pipeline (``run_ablation`` with a few steps on synthetic jets)."""

from __future__ import annotations

import base64
import dataclasses
from pathlib import Path

import numpy as np
import pytest

from jetviz.emd.neighbours import nearest_by_emd
from jetviz.figures.contrastive import clicked_map_row
from jetviz.jetclr.ablation import run_ablation
from jetviz.jetclr.checkpoint import load_map, load_results
from jetviz.jetclr.model import EncoderConfig
from jetviz.jetclr.train import TrainConfig
from jetviz.readers import load_jets
from jetviz.readers.store import write_jets
from tests.conftest import make_jetset
from tests.support_apptest import app_test, chart, charts
from ui.data import DEFAULT_ENV
from ui.jetclr import JETCLR_ENV

PAGE = "views/representations.py"


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A 300-jet file and a JetCLR directory made from it with 4 steps per model."""
    root = tmp_path_factory.mktemp("jetclr")
    jets_path = root / "jets.h5"
    write_jets(jets_path, dataclasses.replace(make_jetset(n=300, p=12, seed=11),
                                              attrs={"generator": "make_jetset"}))
    base = TrainConfig(steps=4, batch_size=32, encoder=EncoderConfig(
        width=16, layers=1, heads=2, rep_dim=12, proj_dim=8, pair_bias=True))
    out = root / "jetclr"
    run_ablation(str(jets_path), str(out), base, supervised_steps=4, map_per_class=8,
                 command="test", with_umap=False)
    return jets_path, out


def _page(monkeypatch, jets_path: Path, jetclr: Path):
    monkeypatch.setenv(DEFAULT_ENV, str(jets_path))
    monkeypatch.setenv(JETCLR_ENV, str(jetclr))
    at = app_test(monkeypatch)
    at.switch_page(PAGE).run()
    assert not at.exception, at.exception
    return at


def test_ablation_writes_every_entry_and_the_shipped_files(tiny_run):
    _, out = tiny_run
    table = load_results(out / "ablation.json")
    assert list(table["runs"]) == ["none", "translations", "rotations", "soft + collinear",
                                   "all"]
    for entry in [*table["runs"].values(), table["supervised"]]:
        assert 0.0 <= entry["auc"] <= 1.0 and len(entry["eff_s"]) == len(entry["eff_b"])
    assert table["probe_over_ceiling"] == pytest.approx(
        table["runs"]["all"]["auc"] / table["supervised"]["auc"])
    assert {p.name for p in out.iterdir()} == {"none", "translations", "rotations",
                                               "soft_collinear", "all", "ablation.json"}
    arrays = load_map(out / "all")
    assert arrays["class_names"].tolist() == ["g", "q", "t", "w", "z"]
    assert len(arrays["pca"]) == len(arrays["labels"]) == 5 * 8


def test_page_shows_map_augmentations_roc_and_table(tiny_run, monkeypatch):
    at = _page(monkeypatch, *tiny_run)
    assert "JetCLR" in at.title[0].value
    assert any("NT-Xent" in c.value for c in at.caption)
    figs = charts(at)
    assert any("clr_map" in k for k in figs) and any("clr_roc" in k for k in figs)
    assert sum("clr_aug_" in k for k in figs) == 6  # original + 5 augmentations
    the_map = chart(at, "clr_map")
    assert {t["name"].split(" ")[0] for t in the_map["data"]} == {"g", "q", "t", "w", "z"}
    roc = chart(at, "clr_roc")
    assert roc["layout"]["yaxis"]["type"] == "log"
    table = at.dataframe[0].value
    assert len(table) == 6 and table["AUC talk"].iloc[4] == "0.98"
    assert table["AUC talk"].iloc[5] == "—"  # the supervised row has no talk number
    assert not table.isna().any().any()  # no "None" cells
    assert len(at.metric) == 3


def test_choosing_another_jet_changes_the_augmentation_figure(tiny_run, monkeypatch):
    at = _page(monkeypatch, *tiny_run)
    before = chart(at, "clr_aug_all")
    at.number_input(key="clr_index").set_value(3).run()
    assert not at.exception, at.exception
    after = chart(at, "clr_aug_all")
    assert after["data"][0] != before["data"][0]  # another original jet
    assert "#3" in after["layout"]["title"]["text"]
    at.number_input(key="clr_seed").set_value(7).run()
    reseeded = chart(at, "clr_aug_all")
    assert reseeded["data"][0] == after["data"][0] and reseeded["data"][1] != after["data"][1]


def test_without_a_trained_model_the_page_says_how_to_make_one(tiny_run, monkeypatch,
                                                                tmp_path):
    at = _page(monkeypatch, tiny_run[0], tmp_path / "empty")
    assert any("jetviz jetclr ablation" in i.value for i in at.info)
    assert sum("clr_aug_" in k for k in charts(at)) == 6  # the augmentations still show
    assert not any("clr_roc" in k for k in charts(at))
    assert len(at.metric) == 0


def test_ordering_note_reads_the_table():
    from jetviz.jetclr.report import ordering_note

    ref = {n: {"auc": 0.9, "inv_eb": 10.0} for n in ("none", "translations", "all")}
    rising = {"reference": ref, "runs": {"none": {"auc": 0.80}, "translations": {"auc": 0.85},
                                         "all": {"auc": 0.93}}}
    assert "rise in the talk's order" in ordering_note(rising)
    swapped = {**rising, "runs": {**rising["runs"], "translations": {"auc": 0.70}}}
    note = ordering_note(swapped)
    assert note.startswith("Unlike the talk: none (0.800) above translations (0.700).")
    assert "jet axis" in note  # the reason given for this swap


def test_clicking_a_map_jet_shows_it_and_its_five_nearest_by_exact_emd(tiny_run, monkeypatch):
    jets_path, out = tiny_run
    at = _page(monkeypatch, jets_path, out)
    assert not any("clr_point_display" in k for k in charts(at))  # nothing clicked yet
    arrays = load_map(out / "all")
    at.session_state["clr_point"] = 3  # what a click on map jet #3 stores (ui.clicks)
    at.run()
    assert not at.exception, at.exception
    mine = load_jets(jets_path).subset(arrays["index"])
    near, dist = nearest_by_emd(mine, 3, np.arange(len(mine)), k=5)
    assert len(near) == 5 and 3 not in near and np.all(np.diff(dist) >= 0)
    shown = at.table[0].value
    assert shown["EMD [GeV]"].tolist() == [f"{d:.1f}" for d in dist]
    assert [int(name.split()[0][1:]) for name in shown["jet"]] == near.tolist()
    panels = chart(at, "clr_point_neighbours")
    titles = [a["text"] for a in panels["layout"]["annotations"]]
    assert titles == [f"#{j} {arrays['class_names'][arrays['labels'][j]]}: EMD {d:.1f} GeV"
                      for j, d in zip(near, dist, strict=True)]
    assert "#3" in chart(at, "clr_point_display")["layout"]["title"]["text"]
    # "Open" follows a neighbour: it becomes the clicked jet
    at.button(key=f"clr_open_{near[0]}").click().run()
    assert at.session_state["clr_point"] == near[0]
    assert at.table[0].value["jet"].iloc[0] != shown["jet"].iloc[0]


def test_the_map_points_carry_their_row_for_clicks(tiny_run, monkeypatch):
    at = _page(monkeypatch, *tiny_run)
    rows = sorted(int(c[0]) for t in chart(at, "clr_map")["data"] for c in _custom(t))
    assert rows == list(range(len(load_map(tiny_run[1] / "all")["labels"])))
    assert clicked_map_row([{"customdata": {"0": 7, "1": 80.0, "2": 900.0}}]) == 7
    assert clicked_map_row([{"customdata": [1]}, {"customdata": [2]}]) is None  # a box


def _custom(trace: dict) -> np.ndarray:
    """A trace's customdata as an (n, 3) array (plotly 6 sends typed arrays as base64)."""
    custom = trace["customdata"]
    if isinstance(custom, dict):
        flat = np.frombuffer(base64.b64decode(custom["bdata"]), dtype=custom["dtype"])
        return flat.reshape(-1, 3)
    return np.asarray(custom)
