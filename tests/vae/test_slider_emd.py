"""Stored exact reconstruction EMDs for the β slider: the CLI, the lookup, the page caption."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from jetviz.cli import main
from jetviz.emd import emd_pot
from jetviz.readers import load_jets
from jetviz.vae.checkpoint import load_checkpoint
from jetviz.vae.explore import COMPUTED_EMD, STORED_EMD
from jetviz.vae.saving import ROOT_ENV
from jetviz.vae.scan import BetaScan, prepare, reconstruct
from jetviz.vae.slider_emd import ALL_CLASSES, FILE_NAME, fingerprint, load_grid, slider_sample
from tests.support_apptest import app_test
from tests.support_vae import tiny_vae_root
from ui.data import DEFAULT_ENV
from ui.vae import SAMPLE_SEED, SAMPLE_SIZE


@pytest.fixture(scope="module")
def tiny_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_vae_root(tmp_path_factory.mktemp("slider_root"))


@pytest.fixture
def stored(tiny_root: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> Path:
    """A copy of the tiny root whose jet model has its slider EMDs stored by the CLI."""
    root = tmp_path / "root"
    shutil.copytree(tiny_root, root)
    assert main(["slider-emd", "--model", str(root / "vae_tiny"), "--jets",
                 str(root / "jets.h5"), "--threads", "2"]) == 0
    assert json.loads(capsys.readouterr().out)["jets"] > 0
    return root


def test_the_page_sample_is_drawn_as_the_page_draws_it() -> None:
    assert (SAMPLE_SEED, SAMPLE_SIZE) == (20251122, 1000)  # same constants as ui.vae


def test_stored_grid_is_the_exact_emd_of_every_beta(stored: Path) -> None:
    model, _, record = load_checkpoint(stored / "vae_tiny")
    grid = load_grid(stored / "vae_tiny")
    betas = BetaScan.from_dict(record["scan"]).betas
    sample = slider_sample(load_jets(str(stored / "jets.h5")), ALL_CLASSES)
    assert grid.emd.shape == (len(betas), len(sample))
    np.testing.assert_allclose(grid.betas, betas)
    assert (grid.emd >= 0).all()
    for k in (0, len(betas) - 1):
        looked_up = grid.lookup(float(betas[k]), fingerprint(sample))
        recon, _, _, computed = reconstruct(model, sample, float(betas[k]))
        np.testing.assert_allclose(looked_up, computed, rtol=1e-9, atol=1e-9)
        # and against POT, independently, on a few jets (in the frame the model sees)
        inputs = prepare(model, sample)
        x, mask, pt = inputs.x.numpy(), inputs.mask.numpy(), inputs.jet_pt.numpy()
        for j in range(3):
            ev_a = np.c_[x[j, mask[j], 0] * pt[j], x[j, mask[j], 1:]]
            ev_b = np.c_[recon[j, :, 0] * pt[j], recon[j, :, 1:]]
            assert emd_pot(ev_a, ev_b) == pytest.approx(computed[j], rel=1e-6, abs=1e-6)
    # other jets or a β off the grid: no lookup
    assert grid.lookup(float(betas[0]), "another sample") is None
    assert grid.lookup(float(betas[0]) * 1.01, fingerprint(sample)) is None
    assert (stored / "vae_tiny" / FILE_NAME).is_file()
    described = load_checkpoint(stored / "vae_tiny")[2]["slider_emd"]
    assert described["command"].startswith("jetviz slider-emd --model")
    assert described["fingerprint"] == fingerprint(sample)


def test_toy_models_have_nothing_to_store(stored: Path, capsys) -> None:
    assert main(["slider-emd", "--model", str(stored / "vae_banana")]) == 2
    assert "Euclidean" in capsys.readouterr().err


def _caption(monkeypatch: pytest.MonkeyPatch, root: Path) -> str:
    monkeypatch.setenv(ROOT_ENV, str(root))
    monkeypatch.setenv(DEFAULT_ENV, str(root / "jets.h5"))
    at = app_test(monkeypatch, timeout=240)
    at.switch_page("views/beta.py").run()
    at.selectbox(key="vae_model_beta").set_value(str(root / "vae_tiny")).run()
    assert not at.exception, at.exception
    return " ".join(c.value for c in at.caption)


def test_beta_page_says_which_emd_it_shows(stored: Path, tiny_root: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    assert STORED_EMD in _caption(monkeypatch, stored)
    assert COMPUTED_EMD in _caption(monkeypatch, tiny_root)  # no stored grid: computed now
