"""The anomalies page in Streamlit's AppTest, on four tiny models trained here by the real
pipeline (``jetviz.anomaly.train.train``) on a synthetic jet file."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import torch

from jetviz.anomaly.model import AEConfig
from jetviz.anomaly.nae import SamplerConfig
from jetviz.anomaly.train import TrainConfig, train
from jetviz.readers.store import write_jets
from tests.conftest import make_jetset
from tests.support_apptest import app_test, chart, charts
from ui.anomaly import ANOMALY_ENV
from ui.data import DEFAULT_ENV

PAGE = "views/anomalies.py"
TINY = AEConfig(n_pixels=8, latent_dim=2, channels=(2, 3), hidden=5)


@pytest.fixture(scope="module")
def tiny_models(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A 400-jet file and AE / NAE models on QCD and on top, 1 epoch + 2 NAE steps each, on
    sharp images (anomaly/) and on blurred ones (anomaly_blur/)."""
    root = tmp_path_factory.mktemp("anomaly_page")
    jets = dataclasses.replace(make_jetset(n=400, p=10, seed=8),
                               attrs={"generator": "make_jetset"})
    jets_path = root / "jets.h5"
    write_jets(jets_path, jets)
    from jetviz.readers import load_jets

    jets = load_jets(str(jets_path))
    models = root / "anomaly"
    for folder, model_config in ((models, TINY),
                                 (root / "anomaly_blur", dataclasses.replace(TINY, smooth=1.0))):
        for background in ("qcd", "top"):
            torch.manual_seed(0)
            cfg = TrainConfig(background=background, method="ae", n_train=40, n_val=10,
                              n_select=15, ae_epochs=1, batch_size=16, seed=1)
            train(jets, folder / f"ae_{background}", cfg, model_config, command="test",
                  progress=False)
            nae = dataclasses.replace(cfg, method="nae", init=str(folder / f"ae_{background}"),
                                      nae_steps=2, negatives=6, n_samples_kept=6,
                                      monitor_every=1, sampler=SamplerConfig(z_steps=2, x_steps=2))
            train(jets, folder / f"nae_{background}", nae, command="test", progress=False)
    return jets_path, models


def _page(monkeypatch, jets_path: Path, models: Path):
    monkeypatch.setenv(DEFAULT_ENV, str(jets_path))
    monkeypatch.setenv(ANOMALY_ENV, str(models))
    at = app_test(monkeypatch)
    at.switch_page(PAGE).run()
    assert not at.exception, at.exception
    return at


def test_page_teaches_and_shows_scores_roc_images_and_table(tiny_models, monkeypatch):
    at = _page(monkeypatch, *tiny_models)
    assert "normalized autoencoder" in at.title[0].value
    assert len(at.get("latex")) == 2
    hist = chart(at, "anom_hist")
    assert "reconstruction error per jet" in hist["layout"]["title"]["text"]
    names = {t["name"].split(" ")[0].rstrip(":") for t in hist["data"]}
    assert names == {"QCD", "top", "W", "Z"}
    assert any(t.get("customdata") for t in hist["data"])  # clickable jets
    roc = chart(at, "anom_roc")
    assert roc["layout"]["yaxis"]["type"] == "log"
    assert "Jet #" in chart(at, "anom_jet")["layout"]["title"]["text"]
    assert "anom_avg" in " ".join(charts(at)) and "anom_neg" in " ".join(charts(at))
    table = at.dataframe[0].value
    assert len(table) == 24  # 2 image sets × 4 models × 3 signals
    assert set(table["trained on"]) == {"QCD", "top"} and set(table["method"]) == {"AE", "NAE"}
    assert set(table["images"]) == {"sharp (binned pT)", "blurred (σ = 1 pixel)"}
    assert len(at.metric) == 3  # top, W, Z against QCD
    assert any("test jets (never trained on" in c.value for c in at.caption)


def test_top_trained_nae_scores_qcd_as_the_signal(tiny_models, monkeypatch):
    at = _page(monkeypatch, *tiny_models)
    at.radio(key="anom_background").set_value("top").run()
    at.radio(key="anom_method").set_value("nae").run()
    assert not at.exception, at.exception
    labels = [m.label for m in at.metric]
    assert labels[0].startswith("QCD vs top")
    assert "NAE" in chart(at, "anom_roc")["layout"]["title"]["text"]


def test_blurred_models_score_blurred_images(tiny_models, monkeypatch):
    at = _page(monkeypatch, *tiny_models)
    sharp_roc = chart(at, "anom_roc")
    at.radio(key="anom_images").set_value("blurred").run()
    assert not at.exception, at.exception
    assert any("smoothed by a Gaussian of σ = 1 pixel" in c.value for c in at.caption)
    assert chart(at, "anom_roc")["data"] != sharp_roc["data"]  # another model, other scores


def test_a_missing_blurred_set_says_how_to_make_it(tiny_models, monkeypatch, tmp_path):
    import shutil

    sharp_only = tmp_path / "anomaly"
    shutil.copytree(tiny_models[1], sharp_only)
    at = _page(monkeypatch, tiny_models[0], sharp_only)
    at.radio(key="anom_images").set_value("blurred").run()
    assert any("cannot be used" in e.value for e in at.error)
    assert any("--smooth 1" in i.value and "anomaly_blur" in i.value for i in at.info)


def test_a_bad_checkpoint_gives_a_clear_message(tiny_models, monkeypatch, tmp_path):
    jets_path = tiny_models[0]
    bad = tmp_path / "anomaly"
    bad.mkdir()
    (bad / "ae_qcd").mkdir()
    (bad / "ae_qcd" / "config.json").write_text("{broken")
    at = _page(monkeypatch, jets_path, bad)
    assert any("cannot be used" in e.value and "corrupt" in e.value for e in at.error)
    assert any("jetviz anomaly train --background qcd --method ae" in i.value for i in at.info)
    assert not charts(at)
