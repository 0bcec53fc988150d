"""The β slider, latent walk and train pages in AppTest, on tiny real models trained here."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
import os
import re
import shutil
from pathlib import Path

import numpy as np
import pytest

from jetviz.readers.store import write_jets
from jetviz.vae.explore import LINE_STEPS, WALK_STEPS
from jetviz.vae.saving import ROOT_ENV
from tests.conftest import make_jetset
from tests.support_apptest import app_test
from tests.support_vae import FAST, N_PARTICLES, tiny_vae_root
from tests.vae.test_slider_emd import STORED_EMD
from ui.data import DEFAULT_ENV

TIMEOUT = 240


@pytest.fixture(scope="module")
def tiny_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """vae_tiny (jets), vae_banana (toy) and their jets, trained once for this module."""
    return tiny_vae_root(tmp_path_factory.mktemp("vae_root"))


@pytest.fixture
def root(tiny_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private copy of the tiny root (tests may add models), wired into the pages."""
    copy = tmp_path / "root"
    shutil.copytree(tiny_root, copy)
    monkeypatch.setenv(ROOT_ENV, str(copy))
    monkeypatch.setenv(DEFAULT_ENV, str(copy / "jets.h5"))
    return copy


def _open(monkeypatch, page: str, model: str | None = None):
    at = app_test(monkeypatch, timeout=TIMEOUT)
    at.switch_page(page).run()
    if model is not None:
        where = Path(page).stem
        root = Path(os.environ[ROOT_ENV])
        at.selectbox(key=f"vae_model_{where}").set_value(str(root / model)).run()
    assert not at.exception, at.exception
    return at


def _figures(at) -> dict[str, dict]:
    """Plotly figures on the page by widget key (the part after the last '-')."""
    return {c.proto.id.rsplit("-", 1)[-1]: json.loads(c.proto.spec)
            for c in at.get("plotly_chart")}


def _pictures(at) -> dict[str, str]:
    """The page's pictures (st.image of SVG text) by their alt text: the SVG text."""
    pictures = {}
    for element in at.get("image"):
        for img in element.proto.imgs:
            head, data = img.url.split(",", 1)
            assert head == "data:image/svg+xml;base64", head
            pictures[img.alt] = base64.b64decode(data).decode()
    return pictures


def _trace(fig: dict, name: str) -> dict:
    return next(t for t in fig["data"] if t.get("name") == name)


def test_beta_page_renders_every_figure(root, monkeypatch):
    at = _open(monkeypatch, "views/beta.py", "vae_tiny")
    assert not at.error, [e.value for e in at.error]
    figs = _figures(at)
    assert set(figs) >= {"beta_step", "beta_kl_curves", "beta_dimensionality"}
    # the KL bars and the EMD histogram of the slider's β: one figure, two labelled panels
    step = figs["beta_step"]
    assert [t["type"] for t in step["data"]][:2] == ["bar", "bar"]
    assert step["data"][1]["xaxis"] == "x2" and "EMD" in step["layout"]["xaxis2"]["title"]["text"]
    assert "latent dimension" in step["layout"]["xaxis"]["title"]["text"]
    assert step["layout"]["yaxis"]["type"] == "log"
    at.toggle(key="beta_sweep_on").set_value(True).run()
    sweep = _figures(at)["beta_sweep"]
    assert len(sweep["frames"]) == FAST.scan_points  # one frame per β of the stored scan
    curves = figs["beta_kl_curves"]
    assert curves["layout"]["xaxis"]["type"] == "log"
    assert "GeV" in curves["layout"]["xaxis"]["title"]["text"]
    assert len(at.latex) >= 2  # the loss and D1, D2
    # 4 jets above their 4 reconstructions: two pictures of 4 panels each, alt text = title
    jets, rebuilt = _pictures(at).items()
    assert jets[0].startswith("The first 4 jets") and rebuilt[0].startswith(
        "Their reconstructions at β = ")
    for alt, svg in (jets, rebuilt):
        assert alt in svg and svg.count("<svg ") == 1 + 4  # the row and its 4 panels
    assert "rebuilt: EMD" in rebuilt[1] and "rebuilt" not in jets[1]
    # D1 with its bootstrap band and the distinct directions; the floor stated in GeV
    dims = [t.get("name", "") for t in figs["beta_dimensionality"]["data"]]
    assert any("16–84 %" in n for n in dims) and any("distinct" in n for n in dims)
    floor = next(c.value for c in at.caption if "reconstruction floor" in c.value)
    assert re.search(r"δ = [0-9.]+ GeV", floor) and "distinct directions" in floor


def test_moving_the_beta_slider_changes_the_figures(root, monkeypatch):
    at = _open(monkeypatch, "views/beta.py", "vae_tiny")
    at.toggle(key="beta_sweep_on").set_value(True).run()
    before, pictures_before = _figures(at), _pictures(at)
    slider = at.select_slider(key="beta_slider:vae_tiny")  # one slider per model
    slider.set_value(0).run()
    assert not at.exception, at.exception
    after = _figures(at)
    marker_before = _trace(before["beta_step"], "current β")["x"][0]
    marker_after = _trace(after["beta_step"], "current β")["x"][0]
    assert marker_after < marker_before  # moved to the smallest β of the grid
    # the scan's curves carry no marker: the same figures, which the browser keeps; a caption
    # reads them at the slider's β
    for key in ("beta_kl_curves", "beta_dimensionality"):
        assert before[key] == after[key]
        assert all(t.get("name") != "current β" for t in after[key]["data"])
    reading = next(c.value for c in at.caption if c.value.startswith("At the slider's β"))
    assert f"{marker_after:.3g} GeV" in reading and "D1 = " in reading
    assert before["beta_step"]["data"][0]["y"] != after["beta_step"]["data"][0]["y"]  # KL bars
    assert before["beta_step"]["data"][1]["x"] != after["beta_step"]["data"][1]["x"]  # EMDs
    (jets_before, rebuilt_before), (jets_after, rebuilt_after) = (
        list(p.values()) for p in (pictures_before, _pictures(at)))
    assert rebuilt_before != rebuilt_after
    # the jets do not depend on β: the same picture, which the browser keeps as it is
    assert jets_before == jets_after
    # the sweep animation comes from the stored scan alone: unchanged by the slider
    assert before["beta_sweep"] == after["beta_sweep"]


def test_banana_page_marks_thickness_and_size(root, monkeypatch):
    at = _open(monkeypatch, "views/beta.py", "vae_banana")
    figs = _figures(at)
    names = [t.get("name", "") for t in figs["beta_dimensionality"]["data"]]
    assert any(n.startswith("thickness") for n in names)
    assert any(n.startswith("size") for n in names)
    recon = figs["beta_reconstructions"]
    assert {t["name"] for t in recon["data"]} >= {"data", "reconstruction"}


def test_walk_slider_changes_the_decoded_jet(root, monkeypatch):
    at = _open(monkeypatch, "views/walk.py", "vae_tiny")
    assert not at.error, [e.value for e in at.error]
    before = _figures(at)
    slider = at.select_slider(key="walk_t_dimension")
    slider.set_value(0).run()  # the far end of the walk, −3 prior σ
    assert not at.exception, at.exception
    after = _figures(at)
    # the decoded jet (drawn last) moves; the start jet stays under it as grey rings
    assert before["walk_event"]["data"][-1] != after["walk_event"]["data"][-1]
    rings = [t for t in after["walk_event"]["data"] if t["name"].startswith("start jet")]
    assert len(rings) == 1 and rings[0] in before["walk_event"]["data"]
    pos_before = _trace(before["walk_observables"], "current position")["x"][0]
    pos_after = _trace(after["walk_observables"], "current position")["x"][0]
    assert pos_before == pytest.approx(0.0) and pos_after == pytest.approx(-3.0)
    # the path itself was decoded once: the observable curves are the same arrays
    assert before["walk_observables"]["data"][0] == after["walk_observables"]["data"][0]
    assert len(at.metric) == 3 and at.metric[0].label == "mass"


@pytest.mark.parametrize("kind", ["principal", "line"])
def test_walk_other_directions(root, monkeypatch, kind):
    at = _open(monkeypatch, "views/walk.py", "vae_tiny")
    at.radio(key="walk_kind").set_value(kind).run()
    assert not at.exception, at.exception
    figs = _figures(at)
    assert {"walk_event", "walk_observables"} <= set(figs)
    at.toggle(key="walk_animation_on").set_value(True).run()
    steps = LINE_STEPS if kind == "line" else WALK_STEPS
    assert len(_figures(at)["walk_animation"]["frames"]) == steps
    title = figs["walk_observables"]["layout"]["xaxis3"]["title"]["text"]
    assert ("line" in title) == (kind == "line")


def test_broken_checkpoint_shows_an_error(tmp_path, monkeypatch, root):
    broken = root / "vae_broken"  # a valid record over damaged weights
    shutil.copytree(root / "vae_tiny", broken)
    (broken / "model.safetensors").write_bytes(b"\x00" * 40)
    at = _open(monkeypatch, "views/beta.py", "vae_broken")
    assert any("Could not load the model" in e.value for e in at.error)
    assert not at.get("plotly_chart")


def test_wrong_particle_count_shows_an_error(root, tmp_path, monkeypatch):
    few = dataclasses.replace(make_jetset(n=30, p=N_PARTICLES - 4, seed=9), attrs={})
    write_jets(tmp_path / "few.h5", few)
    monkeypatch.setenv(DEFAULT_ENV, str(tmp_path / "few.h5"))
    at = _open(monkeypatch, "views/beta.py", "vae_tiny")
    assert any(f"trained on {N_PARTICLES}" in e.value for e in at.error)


def _digest(directory: Path) -> str:
    h = hashlib.sha256()
    for f in sorted(directory.rglob("*")):
        if f.is_file():
            h.update(f.name.encode() + f.read_bytes())
    return h.hexdigest()


def test_train_page_trains_a_toy_model_that_the_other_pages_list(root, monkeypatch):
    at = _open(monkeypatch, "views/train.py")
    assert "cpu" in " ".join(c.value for c in at.caption)
    at.radio(key="train_source").set_value("2-D toy banana").run()
    at.number_input(key="train_toy_n").set_value(500)
    at.number_input(key="train_epochs").set_value(1)
    at.text_input(key="train_name").set_value("toy_run")
    at.button(key="train_start").click().run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    assert any("toy_run" in s.value for s in at.success)
    # live curves: one quantity and one unit per axis
    y_titles = {json.loads(c.proto.spec)["layout"]["yaxis"]["title"]["text"]
                for c in at.get("plotly_chart")}
    assert any("[nats]" in t for t in y_titles), y_titles
    assert any("data units" in t for t in y_titles), y_titles
    saved = root / "user" / "toy_run"
    assert (saved / "model.safetensors").is_file()
    assert not [p for p in (root / "user").iterdir() if p.name.startswith(".")]
    at.switch_page("views/beta.py").run()
    assert at.selectbox(key="vae_model_beta").value == str(saved)
    assert not at.exception, at.exception


def test_a_jet_model_trained_on_the_page_gets_exact_slider_emds(root, monkeypatch):
    from jetviz.vae.slider_emd import load_grid

    at = _open(monkeypatch, "views/train.py")
    at.number_input(key="train_epochs").set_value(1)
    at.number_input(key="train_max_jets").set_value(100)
    at.text_input(key="train_name").set_value("jet_run")
    at.button(key="train_start").click().run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    grid = load_grid(root / "user" / "jet_run")
    assert grid is not None and (grid.emd >= 0).all() and np.isfinite(grid.emd).all()
    at.switch_page("views/beta.py").run()
    assert at.selectbox(key="vae_model_beta").value == str(root / "user" / "jet_run")
    assert STORED_EMD in " ".join(c.value for c in at.caption)


def test_diverging_run_keeps_the_earlier_model(root, monkeypatch):
    keep = root / "user" / "keep"
    shutil.copytree(root / "vae_tiny", keep)
    payload = json.loads((keep / "config.json").read_text())
    payload["record"]["owner"] = "this-session"  # the session's own model: it may overwrite
    (keep / "config.json").write_text(json.dumps(payload))
    digest = _digest(keep)
    at = _open(monkeypatch, "views/train.py")
    at.session_state["jetviz_owner"] = "this-session"
    at.number_input(key="train_epochs").set_value(2)
    at.select_slider(key="train_batch").set_value(32)
    at.number_input(key="train_lr").set_value(1000.0)  # Adam at lr 1e3 blows up at once
    at.text_input(key="train_name").set_value("keep")
    at.checkbox(key="train_overwrite").check()
    at.button(key="train_start").click().run()
    assert not at.exception, at.exception
    assert any("diverged" in e.value and "Earlier checkpoints are untouched" in e.value
               for e in at.error), [e.value for e in at.error]
    assert _digest(keep) == digest
    assert not [p for p in (root / "user").iterdir() if p.name.startswith(".")]


def test_existing_name_without_overwrite_is_refused(root, monkeypatch):
    shutil.copytree(root / "vae_tiny", root / "user" / "mine")
    at = _open(monkeypatch, "views/train.py")
    at.text_input(key="train_name").set_value("mine")
    at.button(key="train_start").click().run()
    assert any("already exists" in e.value for e in at.error)


def test_checkpoint_without_scan_says_so(root, monkeypatch):
    unfinished = root / "vae_unfinished"
    shutil.copytree(root / "vae_tiny", unfinished)
    payload = json.loads((unfinished / "config.json").read_text())
    payload["record"].pop("scan")
    payload["record"].pop("stopped")
    (unfinished / "config.json").write_text(json.dumps(payload))
    at = _open(monkeypatch, "views/beta.py", "vae_unfinished")
    assert any("no β scan" in e.value and "still in training" in e.value for e in at.error)
    assert not at.get("plotly_chart")


def test_a_jet_family_model_reconstructs_jets_of_its_own_family(root, monkeypatch):
    """vae_family (3-particle jets) must not reconstruct the sidebar's jets cut to 3 particles."""
    from jetviz.paths import CHECKPOINTS
    from jetviz.simulation.jet_families import FAMILY_PT

    shutil.copytree(CHECKPOINTS / "vae_family", root / "vae_family")
    at = _open(monkeypatch, "views/beta.py", "vae_family")
    assert any("jets of the model's jet family" in c.value for c in at.caption)
    figs = _figures(at)
    names = [t.get("name", "") for t in figs["beta_dimensionality"]["data"]]
    assert {"separation = 150 GeV", "split = 3 GeV", "sharing = 0.1 GeV"} <= set(names)
    median = next(t for t in figs["beta_step"]["data"] if t.get("name", "").startswith("median"))
    assert 0 <= median["x"][0] < 0.05 * FAMILY_PT  # 3-particle cuts of 30-particle jets: ≈ 1e5
