"""One checkpoint format for every model jetviz trains, and one registry that finds them.

Layout of a checkpoint (a directory)::

    config.json           {"format": "jetviz", "version": 2, "kind": KIND,
                           "config": the model's (and training's) settings,
                           "record": what the run did (command, data, history, ...),
                           "optimizer": param groups (only beside optimizer.safetensors)}
    model.safetensors     the weights (safetensors; never pickle)
    <part>.safetensors    further named tensors a kind needs (optimizer, replay state,
                          negative samples, stored maps, slider EMDs, ...)
    <sub>/                a checkpoint of its own (e.g. a generator's flow prior), or
    last/                 the last epoch for ``--resume``, replaced as one unit (save_last)

``config.json`` is written last, so a directory with a valid config.json is complete.
Every file goes through :func:`jetviz.files.atomic_path`: an interrupted write leaves the
previous checkpoint intact. Kinds are listed in :data:`KINDS`; :func:`find` walks the shipped
``checkpoints/`` folder (and any other root) and returns every checkpoint of a kind.

Checkpoints written before this format (``"format": "jetviz-vae"`` and friends) are refused
with the command that converts them in place: ``jetviz checkpoints convert DIR``.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.numpy import load_file as load_numpy
from safetensors.numpy import save_file as save_numpy
from safetensors.torch import load_file, save_file

from jetviz.errors import JetvizInputError
from jetviz.files import atomic_path

FORMAT = "jetviz"
VERSION = 2
CONFIG = "config.json"
WEIGHTS = "model"
OPTIMIZER = "optimizer"
LAST = "last"

KINDS: dict[str, str] = {
    "vae": "β-conditioned VAE (or point VAE) with its per-β scan (jetviz train)",
    "flow-prior": "normalizing-flow prior over a VAE's latent space (jetviz gen prior)",
    "generator": "a VAE decoder fed by a flow prior in its flow/ folder (jetviz gen)",
    "theorymap-encoder": "theory-map event encoder with its stored map (jetviz theorymap)",
    "jetclr-encoder": "JetCLR contrastive encoder with its probe and map (jetviz jetclr)",
    "anomaly": "convolutional AE / normalized AE anomaly tagger (jetviz anomaly train)",
    "cinn": "conditional INN that unfolds detector events (jetviz unfold train)",
}


def json_ready(value):
    """``value`` with non-finite floats (not valid JSON) replaced by None, recursively."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): json_ready(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_ready(v) for v in value]
    return value


def write_json(path: str | os.PathLike, payload: dict) -> None:
    """Write ``payload`` as JSON atomically (non-finite floats become null)."""
    with atomic_path(path) as tmp:
        Path(tmp).write_text(json.dumps(json_ready(payload), indent=1, allow_nan=False))


def write_tensors(directory: str | os.PathLike, part: str,
                  tensors: dict[str, torch.Tensor | np.ndarray]) -> None:
    """Write ``<directory>/<part>.safetensors`` atomically (torch tensors or numpy arrays,
    not mixed)."""
    path = Path(directory) / f"{part}.safetensors"
    with atomic_path(path) as tmp:
        if tensors and all(isinstance(v, np.ndarray) for v in tensors.values()):
            save_numpy({k: np.ascontiguousarray(v) for k, v in tensors.items()}, str(tmp))
        else:
            save_file({k: torch.as_tensor(v).detach().cpu().contiguous()
                       for k, v in tensors.items()}, str(tmp))


def read_tensors(directory: str | os.PathLike, part: str, *, numpy: bool = False
                 ) -> dict[str, torch.Tensor] | dict[str, np.ndarray]:
    """The tensors of ``<directory>/<part>.safetensors`` (numpy arrays if ``numpy``)."""
    path = Path(directory) / f"{part}.safetensors"
    if not path.is_file():
        raise JetvizInputError(f"{path}: file missing; the checkpoint is incomplete — retrain "
                               "it or restore the file")
    try:
        return load_numpy(str(path)) if numpy else load_file(str(path))
    except (SafetensorError, OSError, ValueError, RuntimeError) as err:
        raise JetvizInputError(f"{path}: corrupt safetensors file ({err}); retrain or restore "
                               "the file") from err


def legacy_json(path: str | os.PathLike, keys: Iterable[str]) -> dict | None:
    """The JSON object at ``path`` if it holds every one of ``keys``, else None: how a
    converter recognises a file of an old layout (see ``jetviz checkpoints convert``)."""
    try:
        payload = json.loads(Path(path).read_text())
    except (OSError, json.JSONDecodeError, UnicodeDecodeError):
        return None
    return payload if isinstance(payload, dict) and set(payload) >= set(keys) else None


def has_part(directory: str | os.PathLike, part: str) -> bool:
    return (Path(directory) / f"{part}.safetensors").is_file()


def optimizer_to_tensors(optimizer: torch.optim.Optimizer) -> tuple[dict[str, torch.Tensor], dict]:
    """An Adam-style optimizer's state as flat tensors plus JSON metadata (param groups)."""
    sd = optimizer.state_dict()
    tensors = {}
    for pid, st in sd["state"].items():
        for key, value in st.items():
            t = value if torch.is_tensor(value) else torch.tensor(float(value))
            tensors[f"{pid}.{key}"] = t
    return tensors, {"param_groups": [dict(g) for g in sd["param_groups"]]}


def save(directory: str | os.PathLike, kind: str, *, config: dict, record: dict,
         model: torch.nn.Module | None = None,
         parts: dict[str, dict[str, torch.Tensor | np.ndarray]] | None = None,
         optimizer: torch.optim.Optimizer | None = None) -> Path:
    """Write a checkpoint of ``kind`` into ``directory`` (created if missing); config.json last.

    Args:
        directory: the checkpoint directory.
        kind: one of :data:`KINDS`.
        config: JSON-ready settings the kind's loader rebuilds the model from.
        record: JSON-ready account of the run (command, data, history, ...).
        model: saved as ``model.safetensors`` (its ``state_dict``; a DDP wrapper is unwrapped).
        parts: further named tensor files.
        optimizer: saved as ``optimizer.safetensors`` with its param groups in config.json.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown checkpoint kind {kind!r}; known: {', '.join(KINDS)}")
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    if model is not None:
        module = model.module if hasattr(model, "module") else model
        write_tensors(directory, WEIGHTS, module.state_dict())
    for part, tensors in (parts or {}).items():
        write_tensors(directory, part, tensors)
    extra = {}
    if optimizer is not None:
        tensors, extra["optimizer"] = optimizer_to_tensors(optimizer)
        write_tensors(directory, OPTIMIZER, tensors)
    write_json(directory / CONFIG, {"format": FORMAT, "version": VERSION, "kind": kind,
                                    "config": config, "record": record, **extra})
    return directory


def config_from_dict(cls: type, values: dict):
    """The config dataclass ``cls`` from a checkpoint's "config" section; unknown keys are an
    error (a checkpoint written by a newer or different model)."""
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise JetvizInputError(f"unknown {cls.__name__} fields {unknown}; known: {sorted(known)}")
    return cls(**values)


def read_config(directory: str | os.PathLike, kind: str | None = None) -> dict:
    """The parsed config.json of a checkpoint, checked for format, version and ``kind``."""
    path = Path(directory) / CONFIG
    wanted = f"a {kind!r} checkpoint" if kind else "a jetviz checkpoint"
    if not path.is_file():
        raise JetvizInputError(f"{directory}: not {wanted} (no {CONFIG}); pick a folder under "
                               "checkpoints/ or train one (see README)")
    try:
        payload = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise JetvizInputError(f"{path}: corrupt checkpoint config, not valid JSON ({err}); "
                               "retrain or restore the file") from err
    found = payload.get("format") if isinstance(payload, dict) else type(payload).__name__
    if isinstance(found, str) and found.startswith("jetviz-"):
        raise JetvizInputError(f"{directory}: a checkpoint in the old {found!r} layout; convert "
                               f"it in place with `jetviz checkpoints convert {directory}`")
    if found != FORMAT:
        raise JetvizInputError(f"{path}: expected a jetviz checkpoint, found format {found!r}")
    if payload.get("version") != VERSION:
        raise JetvizInputError(f"{path}: checkpoint version {payload.get('version')} is not the "
                               f"supported version {VERSION}")
    if kind is not None and payload.get("kind") != kind:
        raise JetvizInputError(f"{directory}: this is a {payload.get('kind')!r} checkpoint, "
                               f"not {wanted}")
    return payload


def load_weights(directory: str | os.PathLike, model: torch.nn.Module,
                 part: str = WEIGHTS) -> torch.nn.Module:
    """Load ``<part>.safetensors`` into ``model``; refuse mismatched shapes and NaN/inf."""
    state = read_tensors(directory, part)
    path = Path(directory) / f"{part}.safetensors"
    try:
        model.load_state_dict(state)
    except RuntimeError as err:
        raise JetvizInputError(f"{path}: weights do not match the config "
                               f"({str(err).splitlines()[0]})") from err
    if not all(torch.isfinite(v).all() for v in state.values() if v.is_floating_point()):
        raise JetvizInputError(f"{path}: weights contain NaN/inf; this run diverged — use an "
                               "earlier checkpoint or retrain")
    return model


def load_optimizer(directory: str | os.PathLike, optimizer: torch.optim.Optimizer) -> None:
    """Restore the optimizer state :func:`save` stored in ``directory``."""
    payload = read_config(directory)
    if "optimizer" not in payload:
        raise JetvizInputError(f"{directory}: no optimizer state stored; cannot resume from it")
    state: dict[int, dict[str, torch.Tensor]] = {}
    for name, value in read_tensors(directory, OPTIMIZER).items():
        pid, key = name.split(".", 1)
        state.setdefault(int(pid), {})[key] = value
    optimizer.load_state_dict({"state": state,
                               "param_groups": payload["optimizer"]["param_groups"]})


_NEW, _OLD = ".last-new-", ".last-old-"  # prefixes of the swap's hidden folders


def _swap_hook(stage: str) -> None:
    """Called between the steps of :func:`save_last` (tests replace it to simulate a kill)."""


swap_hook: Callable[[str], None] = _swap_hook


def save_last(out_dir: str | os.PathLike, kind: str, **checkpoint) -> Path:
    """Replace ``<out_dir>/last`` by this epoch's checkpoint as one unit.

    The checkpoint (``checkpoint`` = the keyword arguments of :func:`save`) is written into
    ``.last-new-<uuid>/``, then ``last`` is renamed to ``.last-old-<uuid>``, the new folder to
    ``last``, and the old one removed. A kill at any instant leaves either the previous
    ``last`` intact or a complete new folder that :func:`recover_last` puts in place.
    """
    out_dir = Path(out_dir)
    tag = uuid.uuid4().hex[:12]
    new, old, last = out_dir / f"{_NEW}{tag}", out_dir / f"{_OLD}{tag}", out_dir / LAST
    save(new, kind, **checkpoint)
    swap_hook("written")
    if last.exists():
        last.rename(old)
    swap_hook("old_moved")
    new.rename(last)
    swap_hook("new_in_place")
    shutil.rmtree(old, ignore_errors=True)
    return last


def recover_last(out_dir: str | os.PathLike) -> None:
    """Finish or undo an interrupted :func:`save_last` and remove its leftovers.

    With ``last`` present, the hidden folders are leftovers. Without it, a complete new
    folder (config.json written, which happens last) becomes ``last``; failing that, the
    previous one is put back.
    """
    out_dir = Path(out_dir)
    if not out_dir.is_dir():
        return
    last = out_dir / LAST
    news = sorted(out_dir.glob(f"{_NEW}*"), key=lambda p: p.stat().st_mtime_ns)
    olds = sorted(out_dir.glob(f"{_OLD}*"), key=lambda p: p.stat().st_mtime_ns)
    if not last.exists():
        complete = [p for p in news if (p / CONFIG).is_file()]
        if complete:
            complete[-1].rename(last)
        elif olds:
            olds[-1].rename(last)
    for leftover in [*news, *olds]:
        if leftover.exists():
            shutil.rmtree(leftover, ignore_errors=True)


@dataclass(frozen=True)
class Entry:
    """One checkpoint the registry found.

    Attributes:
        path: its directory.
        kind: its kind (a key of :data:`KINDS`).
        name: the directory's path relative to the root it was found under ("vae_w",
            "theorymap/contrastive_n16", "user/my_run").
        shipped: True under the shipped ``checkpoints/`` folder outside ``user/``.
        mtime_ns: newest modification time of its files (part of every cache key).
    """

    path: Path
    kind: str
    name: str
    shipped: bool
    mtime_ns: int

    @property
    def label(self) -> str:
        """What a picker shows: "vae_w (shipped)", "my_run (yours)"."""
        return f"{Path(self.name).name} ({'shipped' if self.shipped else 'yours'})"


USER = "user"  # the folder under a root where the app saves models users train


def _mtime(directory: Path) -> int:
    times = [f.stat().st_mtime_ns for f in directory.iterdir() if f.is_file()]
    return max(times, default=directory.stat().st_mtime_ns)


def _kind_of(directory: Path) -> str | None:
    try:
        payload = json.loads((directory / CONFIG).read_text())
    except (OSError, json.JSONDecodeError, UnicodeDecodeError):
        return None
    if isinstance(payload, dict) and payload.get("format") == FORMAT:
        return payload.get("kind")
    return None


def find(kind: str | None = None, roots: Iterable[str | os.PathLike] | None = None,
         max_depth: int = 3) -> list[Entry]:
    """Every checkpoint of ``kind`` (all kinds if None) under ``roots`` (default: the shipped
    ``checkpoints/``), shipped ones first, each group sorted by name.

    A checkpoint's own sub-checkpoints (a generator's ``flow/``) and ``last/`` folders are
    not listed separately; hidden folders are skipped.
    """
    if roots is None:
        from jetviz.paths import CHECKPOINTS

        roots = [CHECKPOINTS]
    found: list[Entry] = []
    for root in map(Path, roots):
        stack = [(root, 0)]
        while stack:
            directory, depth = stack.pop()
            if not directory.is_dir():
                continue
            this = _kind_of(directory) if depth else None
            if this is not None:
                if kind is None or this == kind:
                    name = directory.relative_to(root).as_posix()
                    shipped = not name.startswith(f"{USER}/")
                    found.append(Entry(directory, this, name, shipped, _mtime(directory)))
                continue
            if depth < max_depth:
                stack.extend((d, depth + 1) for d in directory.iterdir()
                             if d.is_dir() and not d.name.startswith(".") and d.name != LAST)
    return sorted(found, key=lambda e: (not e.shipped, e.name))


def relabel_legacy(directory: str | os.PathLike, legacy_format: str, kind: str) -> list[Path]:
    """Convert, in place, every checkpoint under ``directory`` (itself and ``last/``
    included) whose config.json says ``"format": legacy_format`` and whose files already
    follow this layout: only config.json's header changes (its config, record and
    optimizer entries are kept). Returns the converted directories."""
    done = []
    for path in sorted(Path(directory).rglob(CONFIG)):
        try:
            payload = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError, UnicodeDecodeError):
            continue
        if not isinstance(payload, dict) or payload.get("format") != legacy_format:
            continue
        kept = {k: payload[k] for k in ("config", "record", "optimizer") if k in payload}
        write_json(path, {"format": FORMAT, "version": VERSION, "kind": kind, **kept})
        done.append(path.parent)
    return done
