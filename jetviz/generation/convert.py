"""Convert generators written before the one checkpoint format, in place (no retraining).

Old layout (``"format": "jetviz-vae"`` and ``"jetviz-flow-prior"``)::

    gen_x/config.json          {"format": "jetviz-vae", "version": 1, "config", "record"}
    gen_x/model.safetensors
    gen_x/flow/prior.json      {"format": "jetviz-flow-prior", "version": 1, "config", "record"}
    gen_x/flow/prior.safetensors

New layout (:mod:`jetviz.generation.checkpoint`): ``gen_x/config.json`` of kind "generator"
and ``gen_x/flow/`` a "flow-prior" checkpoint (``config.json`` + ``model.safetensors``).
Weights are renamed, never rewritten; config and record are carried over unchanged. A
generator whose VAE config another converter already turned into a "vae" checkpoint is
relabelled "generator".
"""

from __future__ import annotations

import json
from pathlib import Path

from jetviz import checkpoints
from jetviz.errors import JetvizInputError
from jetviz.generation.checkpoint import FLOW_DIR, KIND, PRIOR_KIND

OLD_VAE, OLD_PRIOR = "jetviz-vae", "jetviz-flow-prior"
OLD_CONFIG, OLD_WEIGHTS = "prior.json", "prior.safetensors"


def _payload(path: Path) -> dict:
    try:
        payload = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError, UnicodeDecodeError) as err:
        raise JetvizInputError(f"{path}: unreadable ({err}); restore the file") from err
    if not isinstance(payload, dict) or "config" not in payload:
        raise JetvizInputError(f"{path}: no config section; restore the file")
    return payload


def _convert_prior(flow: Path) -> None:
    """flow/prior.json + prior.safetensors → a "flow-prior" checkpoint (config.json last)."""
    payload = _payload(flow / OLD_CONFIG)
    if payload.get("format") != OLD_PRIOR or payload.get("version") != 1:
        raise JetvizInputError(f"{flow / OLD_CONFIG}: not a version-1 {OLD_PRIOR!r} file")
    weights = flow / f"{checkpoints.WEIGHTS}.safetensors"
    if (flow / OLD_WEIGHTS).is_file():
        (flow / OLD_WEIGHTS).rename(weights)
    elif not weights.is_file():
        raise JetvizInputError(f"{flow}: the prior's weights are missing; restore them")
    checkpoints.write_json(flow / checkpoints.CONFIG, {
        "format": checkpoints.FORMAT, "version": checkpoints.VERSION, "kind": PRIOR_KIND,
        "config": payload["config"], "record": payload.get("record") or {}})
    (flow / OLD_CONFIG).unlink()


def _convert_vae(directory: Path) -> None:
    """The generator's own config.json → kind "generator" (weights untouched)."""
    payload = _payload(directory / checkpoints.CONFIG)
    if payload.get("format") == checkpoints.FORMAT:  # already converted as a "vae"
        if payload.get("kind") not in ("vae", KIND):
            raise JetvizInputError(f"{directory}: a {payload.get('kind')!r} checkpoint with a "
                                   "flow prior; expected a VAE")
        payload["kind"] = KIND
    elif payload.get("format") == OLD_VAE and payload.get("version") == 1:
        payload = {"format": checkpoints.FORMAT, "version": checkpoints.VERSION, "kind": KIND,
                   **{k: v for k, v in payload.items() if k not in ("format", "version")}}
    else:
        raise JetvizInputError(f"{directory / checkpoints.CONFIG}: format "
                               f"{payload.get('format')!r} is not a VAE's")
    checkpoints.write_json(directory / checkpoints.CONFIG, payload)


def _old_generators(directory: Path) -> list[Path]:
    """Generator folders under ``directory`` (itself included) still in the old layout."""
    found = []
    for prior_json in directory.rglob(f"{FLOW_DIR}/{OLD_CONFIG}"):
        gen = prior_json.parent.parent
        if (gen / checkpoints.CONFIG).is_file() and not any(
                part.startswith(".") for part in gen.relative_to(directory).parts):
            found.append(gen)
    return sorted(set(found))


def convert_legacy(directory: str | Path) -> list[Path]:
    """Convert every old-layout generator under ``directory`` (itself included) in place.

    Returns:
        The converted generator folders.
    """
    done = []
    for gen in _old_generators(Path(directory)):
        _convert_vae(gen)  # first: a rerun after a kill finds the old prior.json and finishes
        _convert_prior(gen / FLOW_DIR)
        done.append(gen)
    return done
