"""Where the app's β-VAE models live and how the app saves the ones users train (no streamlit).

Vocabulary:
  root        the checkpoint root: ``$JETVIZ_VAE_ROOT`` if set (tests, other model
              folders), else the shipped ``checkpoints/`` (``jetviz.paths.CHECKPOINTS``)
  user root   ``<root>/user``: models trained on the train and playground pages
  owner       a random token of the browser session that trained a model, stored in its
              record: a session may replace only its own models
  staging     ``<user root>/.staging-<run id>``: a run writes here; only a finished run is
              renamed to ``<user root>/<name>`` (so the picker never lists half a model)
"""

from __future__ import annotations

import os
import re
import shutil
import threading
import uuid
from collections.abc import Callable
from pathlib import Path

from jetviz.checkpoints import USER, Entry, find
from jetviz.errors import JetvizInputError

ROOT_ENV = "JETVIZ_VAE_ROOT"  # overrides the checkpoint root (tests, other model folders)
NAME_PATTERN = r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}"
_SAVE_LOCK = threading.Lock()  # one final rename into user/ at a time (checks stay true)


def checkpoint_root() -> Path:
    """Where the β-VAE checkpoints live: $JETVIZ_VAE_ROOT, else the shipped checkpoints/."""
    override = os.environ.get(ROOT_ENV)
    if override:
        return Path(override)
    from jetviz.paths import CHECKPOINTS

    return CHECKPOINTS


def user_root() -> Path:
    """Where the train and playground pages save new models (they then appear in the list)."""
    return checkpoint_root() / USER


def list_models() -> list[Entry]:
    """Every β-VAE under the root: shipped models first, then the user's, each by name."""
    return sorted(find("vae", [checkpoint_root()]), key=lambda e: (not e.shipped, e.name))


def user_model_dir(name: str) -> Path:
    """``user/<name>`` for a valid model name; raises JetvizInputError otherwise."""
    if not re.fullmatch(NAME_PATTERN, name or ""):
        raise JetvizInputError(
            f"model name {name!r}: use 1–64 letters, digits, '_', '-' or '.', starting with a "
            "letter or digit")
    return user_root() / name


def model_owner(directory: Path) -> str | None:
    """The owner token recorded in a user model, or None (none recorded, or unreadable)."""
    from jetviz.checkpoints import read_config

    try:
        payload = read_config(directory)
    except JetvizInputError:
        return None
    return (payload.get("record") or {}).get("owner")


def check_may_replace(target: Path, owner: str, overwrite: bool) -> None:
    """Raise JetvizInputError unless ``owner`` may save a model at ``target``."""
    if not target.exists():
        return
    if model_owner(target) != owner:
        raise JetvizInputError(
            f"a model called {target.name!r} already exists and was made by another session "
            "(or installed on the server); choose another name")
    if not overwrite:
        raise JetvizInputError(
            f"a model called {target.name!r} already exists (yours); choose another name "
            "or tick 'overwrite'")


def install(staging: Path, target: Path, owner: str, overwrite: bool) -> Path:
    """Move a finished run from ``staging`` to ``target`` as one rename; returns where it went.

    If ``target`` may not be replaced any more (another session saved that name while this
    run trained, here or in another replica sharing ``user/``, whose save makes our rename
    fail), the run is kept as ``<name>-<6 hex>`` instead. An own model replaced with
    ``overwrite`` is renamed aside first and removed after the swap, so ``target`` is never
    half written.
    """
    with _SAVE_LOCK:
        existed = target.exists()  # looked at first: set aside only a model checked as ours
        try:
            check_may_replace(target, owner, overwrite)
        except JetvizInputError:  # someone saved this name while we trained: keep both
            target, existed = target.with_name(f"{target.name}-{uuid.uuid4().hex[:6]}"), False
        old = target.parent / f".old-{uuid.uuid4().hex}"
        if existed:
            target.rename(old)
        try:
            staging.rename(target)
        except OSError:  # another replica sharing user/ (not our lock) saved it just now
            target = target.with_name(f"{target.name}-{uuid.uuid4().hex[:6]}")
            staging.rename(target)
        shutil.rmtree(old, ignore_errors=True)
    return target


def train_user_model(name: str, config, data, train_config, callback, overwrite: bool,
                     provenance: dict, owner: str,
                     on_wait: Callable[[int], None] | None = None,
                     on_scan: Callable[[int, int], None] | None = None) -> tuple[Path, dict]:
    """Train a model into ``user/<name>`` without ever leaving a broken checkpoint there.

    The run takes one of the server's training slots (``jetviz.serving.training_slots``;
    ``on_wait(position)`` is called while it queues), within the per-run budget. Training
    writes into a staging directory unique to the run; only a run that finishes moves into
    ``user/<name>`` (:func:`install`). ``owner`` is stored in the record; ``on_scan(done,
    total)`` reports the β-scan after the last epoch. A run that
    diverges, fails, or is interrupted (the page reruns) removes its staging directory.

    Returns:
        (the checkpoint directory, the training record).

    Raises:
        JetvizInputError: bad name, a model of that name that is not ours (or ours without
            ``overwrite``), over budget, one run per session, bad data, or a diverged run
            (``jetviz.vae.train.TrainingDivergedError``).
    """
    from jetviz.serving import check_budget, training_slots
    from jetviz.vae.train import train

    target = user_model_dir(name)
    check_may_replace(target, owner, overwrite)
    check_budget(len(data) if hasattr(data, "__len__") else 0, train_config.epochs)
    staging = target.parent / f".staging-{uuid.uuid4().hex}"
    try:
        with training_slots().hold(owner, on_wait):
            _, record = train(config, data, train_config, out_dir=staging, callback=callback,
                              provenance={**provenance, "owner": owner}, on_scan=on_scan)
        if not (staging / "model.safetensors").exists():
            raise JetvizInputError("training ended before any epoch finished; nothing saved")
        target = install(staging, target, owner, overwrite)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target, record


def save_new_model(name: str, write: Callable[[Path], None]) -> Path:
    """Save a model as ``user/<name>``, never over an existing model (whoever made it).

    ``write(directory)`` writes the checkpoint into a fresh staging directory, which is then
    renamed to ``user/<name>`` in one step (a rename fails if another session took the name
    meanwhile; the staging directory is then removed).
    """
    target = user_model_dir(name)
    if target.exists():
        raise JetvizInputError(f"a model called {name!r} already exists; choose another name")
    staging = target.parent / f".staging-{uuid.uuid4().hex}"
    try:
        write(staging)
        try:
            staging.rename(target)
        except OSError:
            raise JetvizInputError(f"a model called {name!r} was just saved by another "
                                   "session; choose another name") from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target
