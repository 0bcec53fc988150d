"""The Unfolding page under AppTest, on a tiny synthetic bundle made by the real pipeline
(tests/support_unfolding.py): it opens with its formulas, shows one event's posterior, the
unfolded distributions under each of the talk's cuts with a W1 table, the calibration
curves, and tells the user what to run when the files are missing."""

from __future__ import annotations

import json

import pytest

from jetviz.unfolding.data import CUTS
from tests.support_apptest import app_test
from tests.support_unfolding import tiny_unfolding_dir
from ui.unfolding import UNFOLD_ENV

PAGE = "views/unfolding.py"


@pytest.fixture(scope="module")
def tiny_bundle(tmp_path_factory):
    return tiny_unfolding_dir(tmp_path_factory.mktemp("unfolding"))


def _open(monkeypatch, directory):
    monkeypatch.setenv(UNFOLD_ENV, str(directory))
    at = app_test(monkeypatch, timeout=120)
    at.switch_page(PAGE).run()
    assert not at.exception, at.exception
    return at


def test_page_shows_posterior_unfolding_and_calibration(monkeypatch, tiny_bundle):
    at = _open(monkeypatch, tiny_bundle)
    assert at.title[0].value == "Unfolding with a conditional INN"
    assert len(at.latex) >= 2
    headers = [h.value for h in at.header]
    assert any("posterior" in h for h in headers)
    assert any("calibrated" in h for h in headers)
    charts = at.get("plotly_chart")
    assert len(charts) == 4  # picker, posterior, unfolded, calibration
    table = at.dataframe[1].value
    assert {"cINN", "IBU", "truth vs truth"} <= set(table.columns)
    assert (table["truth vs truth"] >= 0).all()
    for widget in (*at.number_input, *at.radio, *at.slider):
        assert widget.help, f"{widget.label} has no help text"


def test_each_cut_and_another_event_rerun_without_error(monkeypatch, tiny_bundle):
    at = _open(monkeypatch, tiny_bundle)
    first = at.dataframe[0].value["true partons"].tolist()
    at.number_input(key="unf_event").set_value(3).run()
    assert not at.exception, at.exception
    assert at.dataframe[0].value["true partons"].tolist() != first
    for cut in list(CUTS)[1:]:
        at.radio(key="unf_cut").set_value(cut).run()
        assert not at.exception, at.exception
        title = json.loads(at.get("plotly_chart")[2].proto.spec)["layout"]["title"]["text"]
        assert title.startswith(cut)
        assert len(at.dataframe[1].value) == 5


def test_missing_files_tell_the_user_what_to_run(monkeypatch, tmp_path):
    at = _open(monkeypatch, tmp_path / "nothing")
    assert any("jetviz unfold train" in i.value for i in at.info)
