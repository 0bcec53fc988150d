"""jetviz.vae.saving: the model list (registry + user/ folder) and the atomic saves."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from jetviz.errors import JetvizInputError
from jetviz.vae import saving


def _model(directory: Path, owner: str | None = None, fmt: str = "jetviz") -> Path:
    """A checkpoint folder with just its config.json (new format, or the old "jetviz-vae")."""
    directory.mkdir(parents=True)
    payload = ({"format": "jetviz", "version": 2, "kind": "vae", "config": {}}
               if fmt == "jetviz" else {"format": "jetviz-vae", "version": 1, "config": {}})
    payload["record"] = {"owner": owner} if owner else {}
    (directory / "config.json").write_text(json.dumps(payload))
    (directory / "model.safetensors").write_bytes(b"")
    return directory


@pytest.fixture
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv(saving.ROOT_ENV, str(tmp_path))
    return tmp_path


def test_shipped_models_come_first_then_yours(root):
    _model(root / "vae_w")
    _model(root / "vae_banana", fmt="jetviz-vae")  # old layout: `jetviz checkpoints convert`
    _model(root / "user" / "alpha", owner="me")
    _model(root / "user" / ".staging-123")  # a run in progress is never listed
    (root / "notes").mkdir()
    models = saving.list_models()
    assert [m.label for m in models] == ["vae_w (shipped)", "alpha (yours)"]
    assert all(m.kind == "vae" for m in models)
    assert saving.user_root() == root / "user"


def test_model_names_are_checked():
    for bad in ("", "../x", ".hidden", "a b", "x" * 65):
        with pytest.raises(JetvizInputError, match="model name"):
            saving.user_model_dir(bad)
    assert saving.user_model_dir("run-1.b").name == "run-1.b"


def test_install_replaces_only_your_own_model_and_leaves_nothing_behind(root):
    target = _model(root / "user" / "mine", owner="me")
    staging = _model(root / "user" / ".staging-a", owner="me")
    with pytest.raises(JetvizInputError, match="overwrite"):
        saving.check_may_replace(target, "me", overwrite=False)
    assert saving.install(staging, target, "me", overwrite=True) == target
    assert not staging.exists() and saving.model_owner(target) == "me"
    # someone else's name: this run is kept beside it, under a suffixed name
    staging = _model(root / "user" / ".staging-b", owner="you")
    kept = saving.install(staging, target, "you", overwrite=True)
    assert kept != target and kept.name.startswith("mine-")
    assert saving.model_owner(target) == "me" and saving.model_owner(kept) == "you"
    assert sorted(p.name for p in (root / "user").iterdir()) == sorted(["mine", kept.name])


def test_install_keeps_both_when_another_replica_saves_the_name_after_the_check(root, monkeypatch):
    # replicas share user/ but not the lock: the other one's rename lands between our check
    # and our rename, which then fails; ours is kept beside it
    theirs = root / "user" / "mine"
    monkeypatch.setattr(saving, "check_may_replace", lambda *args: _model(theirs, owner="you"))
    staging = _model(root / "user" / ".staging-c", owner="me")
    kept = saving.install(staging, theirs, "me", overwrite=True)
    assert kept.name.startswith("mine-") and not staging.exists()
    assert saving.model_owner(theirs) == "you" and saving.model_owner(kept) == "me"


def test_an_old_layout_or_unreadable_model_has_no_owner(root):
    # nobody may replace it until `jetviz checkpoints convert` has rewritten it
    assert saving.model_owner(_model(root / "user" / "old", "me", fmt="jetviz-vae")) is None
    broken = root / "user" / "broken"
    broken.mkdir()
    (broken / "config.json").write_text("{not json")
    assert saving.model_owner(broken) is None


def test_save_new_model_never_overwrites_and_cleans_up(root):
    def write(directory: Path) -> None:
        _model(directory, owner="me")

    path = saving.save_new_model("fresh", write)
    assert path == root / "user" / "fresh" and saving.model_owner(path) == "me"
    with pytest.raises(JetvizInputError, match="already exists"):
        saving.save_new_model("fresh", write)

    def fail(directory: Path) -> None:
        directory.mkdir()
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        saving.save_new_model("other", fail)
    assert sorted(p.name for p in (root / "user").iterdir()) == ["fresh"]
