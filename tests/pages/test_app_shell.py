"""The app shell in Streamlit's AppTest: home and data pages on a small jet file made here,
the data-set picker, and bad files shown as errors while the data set in use stays."""

from __future__ import annotations

import base64
import dataclasses
import json
from pathlib import Path

import h5py
import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from jetviz.errors import JetvizInputError
from jetviz.readers import load_jets
from jetviz.readers.store import write_jets
from tests.conftest import make_jetset
from tests.support_apptest import app_test
from tests.support_readers import write_jetnet
from ui.data import DEFAULT_ENV, _read


def _write(path: Path, n: int, seed: int) -> dict[str, int]:
    jets = dataclasses.replace(
        make_jetset(n=n, p=12, seed=seed),
        attrs={"generator": "tests/conftest.py make_jetset", "seed": seed,
               "command": f"make_jetset(n={n}, p=12, seed={seed})"})
    write_jets(path, jets)
    return jets.counts()


@pytest.fixture
def default_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, dict[str, int]]:
    """A 60-jet file standing in for the embedded default (via $JETVIZ_DEFAULT_JETS)."""
    path = tmp_path / "default_jets.h5"
    counts = _write(path, 60, seed=1)
    monkeypatch.setenv(DEFAULT_ENV, str(path))
    monkeypatch.setenv("JETVIZ_DATA_ROOTS", str(tmp_path))  # typed paths may read tmp_path
    return path, counts


def _app(monkeypatch: pytest.MonkeyPatch) -> AppTest:
    at = app_test(monkeypatch)
    assert not at.exception, at.exception
    return at


def _class_table(at: AppTest) -> dict[str, int]:
    table = next(t for t in at.table if "jets" in t.value.columns)
    return dict(zip(table.value["class"], table.value["jets"].astype(int), strict=True))


def _charts(at: AppTest) -> dict[str, dict]:
    """Plotly figures on the page, by their widget key's suffix (data_event, ...)."""
    out = {}
    for chart in at.get("plotly_chart"):
        key = next((k for k in ("data_histograms", "data_event", "data_image",
                                "data_neighbours")
                    if k in chart.proto.id), chart.proto.id)
        out[key] = json.loads(chart.proto.spec)
    return out


def _array(values: list | dict) -> np.ndarray:
    """A figure's array as numpy (plotly stores numpy arrays as base64 'bdata')."""
    if isinstance(values, dict):
        return np.frombuffer(base64.b64decode(values["bdata"]), dtype=values["dtype"])
    return np.asarray(values)


def _in_use(at: AppTest) -> str:
    return " ".join(c.value for c in at.sidebar.caption if c.value.startswith("In use"))


def test_home_shows_intro_data_set_and_links(default_file, monkeypatch):
    _, counts = default_file
    at = _app(monkeypatch)
    assert "jetviz" in at.title[0].value
    assert any("A **jet**" in m.value for m in at.markdown)
    assert _class_table(at) == counts
    assert "60 jets" in _in_use(at)
    links = {link.proto.label.split(":")[0] for link in at.get("page_link")}
    assert {"Home", "Jets by class"} <= links
    assert any("make_jetset(n=60" in c.value for c in at.code)


def test_data_page_shows_histograms_event_and_image(default_file, monkeypatch):
    _, counts = default_file
    at = _app(monkeypatch)
    at.switch_page("views/data.py").run()
    assert not at.exception, at.exception
    assert at.title[0].value == "Jets by class"
    assert any(r"\tau_N" in latex.value for latex in at.latex)
    charts = _charts(at)
    assert set(charts) == {"data_histograms", "data_event", "data_image", "data_neighbours"}
    # one step line per class present in each of the six panels
    hist = charts["data_histograms"]["data"]
    assert len(hist) == 6 * sum(n > 0 for n in counts.values())
    # the event display draws the selected jet's real particles
    jet = load_jets(default_file[0]).of_class(at.selectbox(key="data_class").value)
    particles = charts["data_event"]["data"][-1]
    np.testing.assert_allclose(_array(particles["x"]), jet.particles[0, jet.mask[0], 1])
    np.testing.assert_allclose(_array(particles["y"]), jet.particles[0, jet.mask[0], 2])


def test_event_display_follows_class_and_index(default_file, monkeypatch):
    at = _app(monkeypatch)
    at.switch_page("views/data.py").run()
    first = _charts(at)["data_event"]
    at.number_input(key="data_index").set_value(3).run()
    assert not at.exception, at.exception
    third = _charts(at)["data_event"]
    assert "#3" in third["layout"]["title"]["text"]
    assert not np.array_equal(_array(third["data"][-1]["x"]), _array(first["data"][-1]["x"]))
    assert "top" in first["layout"]["title"]["text"]  # a 3-prong top jet first
    at.selectbox(key="data_class").set_value("w").run()
    w_jet = _charts(at)
    assert "W boson" in w_jet["data_event"]["layout"]["title"]["text"]
    assert "W boson" in w_jet["data_image"]["layout"]["title"]["text"]


def test_random_jet_button_picks_a_valid_index(default_file, monkeypatch):
    _, counts = default_file
    at = _app(monkeypatch)
    at.switch_page("views/data.py").run()
    at.button[0].click().run()
    assert not at.exception, at.exception
    assert 0 <= at.number_input(key="data_index").value < counts["t"]


def test_bad_upload_shows_reader_message_and_keeps_data_set(default_file, monkeypatch, tmp_path):
    _, counts = default_file
    at = _app(monkeypatch)
    at.sidebar.radio(key="jetviz_data_source").set_value("Upload a file").run()
    bad = b"this is not an HDF5 file"
    at.sidebar.get("file_uploader")[0].upload("bad_jets.h5", bad).run()
    assert not at.exception, at.exception
    (tmp_path / "bad_jets.h5").write_bytes(bad)
    with pytest.raises(JetvizInputError) as err:
        load_jets(tmp_path / "bad_jets.h5", name="bad_jets.h5")
    assert len(at.error) == 1
    assert str(err.value) in at.error[0].value  # the reader's own message, in full
    assert "bad_jets.h5" in at.error[0].value
    assert "Still using: embedded default" in at.error[0].value
    assert _class_table(at) == counts
    assert "60 jets" in _in_use(at)


def test_bad_path_shows_error_and_good_path_switches(default_file, monkeypatch, tmp_path):
    _, counts = default_file
    at = _app(monkeypatch)
    at.sidebar.radio(key="jetviz_data_source").set_value("File path").run()
    wrong = tmp_path / "not_jets.h5"
    with h5py.File(wrong, "w") as h5:
        h5["numbers"] = np.arange(5)
    at.sidebar.text_input(key="jetviz_data_path").input(str(wrong)).run()
    assert not at.exception, at.exception
    assert len(at.error) == 1 and "not_jets.h5" in at.error[0].value
    assert _class_table(at) == counts

    missing = tmp_path / "missing.h5"
    at.sidebar.text_input(key="jetviz_data_path").input(str(missing)).run()
    assert "no such file" in at.error[0].value
    at.sidebar.text_input(key="jetviz_data_path").input(str(tmp_path)).run()
    assert "is a folder" in at.error[0].value

    other = tmp_path / "other_jets.h5"
    other_counts = _write(other, 35, seed=7)
    at.sidebar.text_input(key="jetviz_data_path").input(str(other)).run()
    assert not at.exception and not at.error
    assert _class_table(at) == other_counts
    assert "other_jets.h5" in _in_use(at)
    at.switch_page("views/data.py").run()  # the choice holds on every page
    assert not at.exception, at.exception
    assert "other_jets.h5" in _in_use(at)


def test_missing_default_explains_what_to_do(monkeypatch, tmp_path):
    monkeypatch.setenv(DEFAULT_ENV, str(tmp_path / "nowhere.h5"))
    at = _app(monkeypatch)
    assert "nowhere.h5" in at.error[0].value
    assert "jetviz generate" in at.error[0].value
    assert any("No jet data set is loaded" in i.value for i in at.info)


def test_aligned_toggle_changes_the_average_image(default_file, monkeypatch):
    at = _app(monkeypatch)
    at.switch_page("views/data.py").run()
    aligned = _charts(at)["data_image"]
    assert "aligned" in aligned["layout"]["title"]["text"]
    at.toggle(key="data_aligned").set_value(False).run()
    assert not at.exception, at.exception
    stored = _charts(at)["data_image"]
    assert "as stored" in stored["layout"]["title"]["text"]
    assert stored["data"][0]["z"] != aligned["data"][0]["z"]


def test_size_limit_reads_the_first_jets_and_says_so(default_file, monkeypatch):
    monkeypatch.setattr("ui.data.MAX_JETS_DEFAULT", 25)
    at = _app(monkeypatch)
    assert sum(_class_table(at).values()) == 25
    assert any("first 25 jets of the 60 in the file" in i.value for i in at.info)


def test_uploaded_jetnet_file_becomes_the_data_set_on_every_page(default_file, monkeypatch,
                                                                 tmp_path):
    jets = make_jetset(n=30, p=12, seed=5)
    path = tmp_path / "t.hdf5"  # JetNet names its files by class
    write_jetnet(path, jets.particles, jets.mask, jets.jets)
    at = _app(monkeypatch)
    at.sidebar.radio(key="jetviz_data_source").set_value("Upload a file").run()
    at.sidebar.get("file_uploader")[0].upload("t.hdf5", path.read_bytes()).run()
    assert not at.exception and not at.error
    counts = _class_table(at)
    assert sum(counts.values()) == 30 and counts.get("t") == 30
    assert "t.hdf5" in _in_use(at)
    at.switch_page("views/data.py").run()
    assert not at.exception, at.exception
    assert "t.hdf5" in _in_use(at)
    assert "top" in _charts(at)["data_event"]["layout"]["title"]["text"]


def test_data_set_whose_file_vanished_is_reported_not_a_traceback(default_file, monkeypatch,
                                                                 tmp_path):
    other = tmp_path / "soon_gone.h5"
    _write(other, 20, seed=3)
    at = _app(monkeypatch)
    at.sidebar.radio(key="jetviz_data_source").set_value("File path").run()
    at.sidebar.text_input(key="jetviz_data_path").input(str(other)).run()
    assert "soon_gone.h5" in _in_use(at)
    other.unlink()
    _read.clear()  # as if the cache had dropped it
    at.switch_page("views/data.py").run()
    assert not at.exception, at.exception
    assert "soon_gone.h5" in at.error[0].value
    assert any("No jet data set is loaded" in i.value for i in at.info)


def test_renamed_jetnet_upload_is_read_with_the_picked_class(default_file, monkeypatch,
                                                             tmp_path):
    jets = make_jetset(n=30, p=12, seed=6)
    path = tmp_path / "my_jets.h5"  # a valid JetNet file whose name does not say the class
    write_jetnet(path, jets.particles, jets.mask, jets.jets)
    at = _app(monkeypatch)
    at.sidebar.radio(key="jetviz_data_source").set_value("Upload a file").run()
    at.sidebar.get("file_uploader")[0].upload("my_jets.h5", path.read_bytes()).run()
    assert not at.exception, at.exception
    assert len(at.error) == 1 and "Pick its class under **JetNet class**" in at.error[0].value
    assert "60 jets" in _in_use(at)  # the default stays in use

    at.sidebar.selectbox(key="jetviz_data_jet_class").set_value("w").run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert _class_table(at) == {"w": 30}
    assert "my_jets.h5" in _in_use(at) and "30 jets" in _in_use(at)
    assert "1 class: w" in _in_use(at) and "5 classes" not in _in_use(at)


def test_a_jets_nearest_neighbours_by_emd_open_with_a_click(default_file, monkeypatch):
    at = _app(monkeypatch)
    at.switch_page("views/data.py").run()
    panels = _charts(at)["data_neighbours"]
    titles = [a["text"] for a in panels["layout"]["annotations"]]
    assert len(titles) == 5 and all("EMD" in t and "GeV" in t for t in titles)
    emds = [float(t.split("EMD ")[1].split(" GeV")[0]) for t in titles]
    assert emds == sorted(emds) and emds[0] > 0  # nearest first, never the jet itself
    first = int(titles[0].split(":")[0].lstrip("#"))
    at.button(key=f"data_open_{first}").click().run()
    assert not at.exception, at.exception
    assert at.number_input(key="data_index").value == first
    assert f"#{first}" in _charts(at)["data_event"]["layout"]["title"]["text"]
