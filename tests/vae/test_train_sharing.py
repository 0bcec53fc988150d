"""The Train page as a shared resource: small or degenerate data get a message (not a
traceback), two sessions training one name both keep their model, nobody overwrites another
session's model, runs queue for the server's slots and stay within the budget."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest

from jetviz import serving
from jetviz.errors import JetvizInputError
from jetviz.jets import JetSet
from jetviz.readers.store import write_jets
from jetviz.vae.checkpoint import read_config
from jetviz.vae.model import VAEConfig
from jetviz.vae.saving import ROOT_ENV, train_user_model
from jetviz.vae.train import TrainConfig
from tests.conftest import make_jetset
from tests.support_apptest import app_test
from ui.data import DEFAULT_ENV

PAGE = "views/train.py"
TOY = VAEConfig(data="banana", loss="euclidean", latent_dim=2, hidden=8, depth=2, cond_dim=4,
                beta_min=1e-2, beta_max=1.0)
FAST = TrainConfig(epochs=1, batch_size=64, kl_warmup_epochs=1, scan_points=3, scan_examples=40)


@pytest.fixture
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv(ROOT_ENV, str(tmp_path / "models"))
    monkeypatch.setattr(serving, "_SLOTS", None)  # a fresh server-wide queue for each test
    return tmp_path / "models"


def _points(n: int = 200) -> np.ndarray:
    return np.random.default_rng(0).normal(size=(n, 2)).astype(np.float32)


def _one_slot_jets(n: int) -> JetSet:
    rng = np.random.default_rng(0)
    particles = np.zeros((n, 1, 3), np.float32)
    particles[:, 0, 0] = 1.0
    jets = np.c_[rng.uniform(900, 1100, n), np.zeros((n, 3)), np.ones(n)].astype(np.float32)
    return JetSet(particles, np.ones((n, 1), bool), jets, rng.integers(0, 5, n),
                  source="one slot")


def _train_page(monkeypatch, path: Path, jets: JetSet):
    write_jets(path, jets)
    monkeypatch.setenv(DEFAULT_ENV, str(path))
    at = app_test(monkeypatch)
    at.switch_page(PAGE).run()
    assert not at.exception, at.exception
    return at


def test_one_particle_slot_is_a_message_not_a_traceback(root, monkeypatch, tmp_path):
    at = _train_page(monkeypatch, tmp_path / "one.h5", _one_slot_jets(300))
    assert any("1 particle slot" in e.value and "at least 2" in e.value for e in at.error)
    assert at.button(key="train_start").disabled


def test_fifty_jets_can_be_trained_on(root, monkeypatch, tmp_path):
    at = _train_page(monkeypatch, tmp_path / "fifty.h5", make_jetset(50, 8, seed=1))
    assert not at.error, [e.value for e in at.error]
    assert at.number_input(key="train_max_jets").value == 50
    at.number_input(key="train_epochs").set_value(1)
    at.number_input(key="train_particles").set_value(8)
    at.text_input(key="train_name").set_value("fifty")
    at.button(key="train_start").click().run()
    assert not at.exception, at.exception


def test_too_few_jets_of_a_class_say_so(root, monkeypatch, tmp_path):
    at = _train_page(monkeypatch, tmp_path / "few.h5", make_jetset(12, 8, seed=1))
    assert any("too few to train" in e.value for e in at.error)


def test_a_run_over_the_budget_is_refused_with_the_setting_named(root, monkeypatch):
    monkeypatch.setenv(serving.BUDGET_ENV, "100")
    with pytest.raises(JetvizInputError, match=r"budget of 100 .*JETVIZ_TRAIN_BUDGET"):
        train_user_model("big", TOY, _points(200), FAST, None, False, {}, owner="a")
    assert not (root / "user" / "big").exists()


def test_two_sessions_training_one_name_both_keep_their_model(root):
    results, errors = {}, []

    def session(owner: str) -> None:
        try:
            results[owner] = train_user_model("same", TOY, _points(), FAST, None, False, {},
                                              owner=owner)
        except Exception as err:  # a failure must show in the assertion below
            errors.append(err)

    threads = [threading.Thread(target=session, args=(o,)) for o in ("alice", "bob")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors
    paths = {owner: path for owner, (path, _) in results.items()}
    assert len(set(paths.values())) == 2  # two folders: nobody's model was lost
    for owner, path in paths.items():
        assert path.parent == root / "user" and path.name.startswith("same")
        assert read_config(path)["record"]["owner"] == owner
        assert (path / "model.safetensors").is_file() and (path / "last" / "config.json").is_file()
    assert not [p for p in (root / "user").iterdir() if p.name.startswith(".")]


def test_overwrite_replaces_only_your_own_model(root):
    path, _ = train_user_model("mine", TOY, _points(), FAST, None, False, {}, owner="alice")
    before = (path / "model.safetensors").read_bytes()
    with pytest.raises(JetvizInputError, match="made by another session"):
        train_user_model("mine", TOY, _points(), FAST, None, True, {}, owner="bob")
    assert (path / "model.safetensors").read_bytes() == before
    again, _ = train_user_model("mine", TOY, _points(), FAST, None, True, {}, owner="alice")
    assert again == path and read_config(path)["record"]["owner"] == "alice"


def test_a_second_run_waits_in_the_queue_and_sees_its_position(root):
    slots = serving.training_slots()
    holding, release = threading.Event(), threading.Event()

    def other_session() -> None:
        with slots.hold("other"):
            holding.set()
            release.wait(30)

    thread = threading.Thread(target=other_session)
    thread.start()
    holding.wait(10)
    positions = []

    def on_wait(position: int) -> None:
        positions.append(position)
        release.set()  # the other run ends once we have seen our place

    path, _ = train_user_model("queued", TOY, _points(), FAST, None, False, {}, owner="me",
                               on_wait=on_wait)
    thread.join(10)
    assert positions and positions[0] == 1 and path.is_dir()
