"""Serving jetviz to many users: which server files a page may read, and shared limits.

Vocabulary
----------
data root
    A folder whose files the app may read when a user types a path: the shipped
    ``checkpoints/`` and the folders named in ``$JETVIZ_DATA_ROOTS`` (``os.pathsep``-separated,
    ``:`` on Linux). A typed path is expanded (``~``), made absolute (relative paths are taken
    from the project folder, where ``checkpoints/`` lives), and resolved with every symlink
    followed (``os.path.realpath``) before it is compared, so ``..`` and links cannot leave a
    root.
path entry
    The "path on the server" text boxes. ``JETVIZ_ALLOW_PATHS=0`` removes them altogether
    (for a public deployment: uploads only).
training slot
    One of ``JETVIZ_MAX_TRAINING_RUNS`` (default 1) concurrent training runs of the whole
    server; further runs wait in a first-come queue whose position is shown. One session holds
    at most one slot or queue place.
data file
    A jet file the pages read, identified by its resolved path, modification time and size
    (:class:`DataFile`: what a cached read is keyed on); the embedded default is
    ``checkpoints/jets_default.h5`` unless ``$JETVIZ_DEFAULT_JETS`` names another file.
training budget
    ``JETVIZ_TRAIN_BUDGET``: the largest jets × epochs one run may ask for (default 500,000,
    e.g. 10,000 jets × 50 epochs).

Everything here is pure Python (no streamlit) so the CLI, the pages and tests share it.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from jetviz.errors import JetvizInputError

ROOTS_ENV = "JETVIZ_DATA_ROOTS"
ALLOW_PATHS_ENV = "JETVIZ_ALLOW_PATHS"
DEFAULT_JETS_ENV = "JETVIZ_DEFAULT_JETS"  # overrides jetviz.paths.DEFAULT_JETS (tests, other sets)
MAX_RUNS_ENV = "JETVIZ_MAX_TRAINING_RUNS"
BUDGET_ENV = "JETVIZ_TRAIN_BUDGET"
DEFAULT_MAX_RUNS = 1
DEFAULT_BUDGET = 500_000  # jets × epochs per training run

OUTSIDE_ROOTS = (
    "This path is outside the folders this server allows reading from. An administrator "
    f"can allow a folder by adding it to the environment variable {ROOTS_ENV} "
    "(folders separated by ':') before starting the app; see README, 'Serving a class'.")


class PathNotAllowedError(JetvizInputError):
    """A typed path lies outside every data root (or path entry is switched off)."""


def _env(env: Mapping[str, str] | None) -> Mapping[str, str]:
    return os.environ if env is None else env


def path_entry_allowed(env: Mapping[str, str] | None = None) -> bool:
    """False when ``JETVIZ_ALLOW_PATHS`` is 0/false/no/off: the pages show no path box."""
    value = _env(env).get(ALLOW_PATHS_ENV, "1").strip().lower()
    return value not in ("0", "false", "no", "off")


def data_roots(env: Mapping[str, str] | None = None) -> tuple[Path, ...]:
    """The resolved data roots: ``checkpoints/`` and every folder in ``$JETVIZ_DATA_ROOTS``."""
    from jetviz.paths import CHECKPOINTS

    named = [p for p in _env(env).get(ROOTS_ENV, "").split(os.pathsep) if p.strip()]
    roots = []
    for folder in [str(CHECKPOINTS), *named]:
        real = Path(os.path.realpath(os.path.expanduser(folder.strip())))
        if real not in roots:
            roots.append(real)
    return tuple(roots)


def _inside(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def resolve_data_path(text: str, env: Mapping[str, str] | None = None) -> Path:
    """The real path of a typed path if it lies inside a data root.

    Args:
        text: what the user typed (absolute, relative to the project folder, or ``~/…``).
        env: the environment to read the settings from (default ``os.environ``).

    Returns:
        The resolved path (symlinks followed). It may not exist: inside a root, saying so is
        fine.

    Raises:
        PathNotAllowedError: path entry is off, or the path resolves outside every root. The
            message is the same whether or not the file exists, and quotes nothing of it.
    """
    from jetviz.paths import ROOT

    if not path_entry_allowed(env):
        raise PathNotAllowedError(
            "Reading files by path is switched off on this server; upload the file instead.")
    expanded = os.path.expanduser(text.strip())
    if not expanded or "\x00" in expanded:
        raise PathNotAllowedError(OUTSIDE_ROOTS)
    absolute = expanded if os.path.isabs(expanded) else os.path.join(ROOT, expanded)
    real = Path(os.path.realpath(absolute))
    if not any(_inside(real, root) for root in data_roots(env)):
        raise PathNotAllowedError(OUTSIDE_ROOTS)
    return real


def default_jets_path(env: Mapping[str, str] | None = None) -> Path:
    """The embedded default jet file, or the file named by ``$JETVIZ_DEFAULT_JETS``."""
    override = _env(env).get(DEFAULT_JETS_ENV)
    if override:
        return Path(override)
    from jetviz.paths import DEFAULT_JETS

    return DEFAULT_JETS


@dataclass(frozen=True)
class DataFile:
    """A jet file as chosen: its resolved path, modification time [ns] and size [bytes]."""

    path: str
    mtime_ns: int
    size: int


def data_file(path: str | os.PathLike, kind: str,
              env: Mapping[str, str] | None = None) -> DataFile:
    """The jet file at ``path``, checked to be a file the pages may read.

    Args:
        path: the file.
        kind: "default" (the embedded default set), "path" (typed by a user: only inside the
            data roots, see :func:`resolve_data_path`) or any other word for a file the app
            chose itself.
        env: the environment to read the settings from (default ``os.environ``).

    Raises:
        JetvizInputError: a folder, or no such file (saying what to do); PathNotAllowedError
            for a typed path outside the roots.
    """
    if kind == "path":
        path = resolve_data_path(str(path), env)
    path = Path(path).expanduser()
    if path.is_dir():
        raise JetvizInputError(f"{path}: is a folder; give the path of one jet file inside it")
    if not path.is_file():
        what = "the embedded default data set" if kind == "default" else "a jet file"
        hint = ("make it with `jetviz generate` (see README) or load your own file"
                if kind == "default" else "check the path (it is read on the server)")
        raise JetvizInputError(f"{path}: expected {what} here, found no such file; {hint}")
    stat = path.stat()
    return DataFile(str(path.resolve()), stat.st_mtime_ns, stat.st_size)


def _int_setting(name: str, default: int, env: Mapping[str, str] | None) -> int:
    raw = _env(env).get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw.replace("_", ""))
    except ValueError:
        raise JetvizInputError(f"{name}={raw!r}: expected a whole number") from None
    if value < 1:
        raise JetvizInputError(f"{name}={raw!r}: expected a number ≥ 1")
    return value


def max_training_runs(env: Mapping[str, str] | None = None) -> int:
    """How many training runs the server runs at once (``JETVIZ_MAX_TRAINING_RUNS``)."""
    return _int_setting(MAX_RUNS_ENV, DEFAULT_MAX_RUNS, env)


def training_budget(env: Mapping[str, str] | None = None) -> int:
    """The largest jets × epochs of one run (``JETVIZ_TRAIN_BUDGET``)."""
    return _int_setting(BUDGET_ENV, DEFAULT_BUDGET, env)


def check_budget(n_jets: int, epochs: int, env: Mapping[str, str] | None = None) -> None:
    """Raise JetvizInputError when ``n_jets × epochs`` exceeds the per-run budget."""
    budget = training_budget(env)
    if n_jets * epochs > budget:
        raise JetvizInputError(
            f"{n_jets:,} jets × {epochs} epochs = {n_jets * epochs:,} exceeds this server's "
            f"budget of {budget:,} jets × epochs per run; use fewer jets or epochs "
            f"(an administrator sets the budget with {BUDGET_ENV})")


class TrainingSlots:
    """A first-come queue in front of ``capacity`` concurrent training runs.

    ``hold(owner)`` waits for a slot (calling ``on_wait(position)`` about every
    ``poll_seconds`` with the 1-based queue position) and keeps it for the ``with`` block.
    An owner (a session) may hold or wait for only one slot at a time.
    """

    def __init__(self, capacity: int) -> None:
        if capacity < 1:
            raise ValueError(f"capacity must be ≥ 1, got {capacity}")
        self.capacity = capacity
        self._cond = threading.Condition()
        self._queue: deque[str] = deque()
        self._running: set[str] = set()

    def position(self, owner: str) -> int:
        """0 while ``owner`` runs, its 1-based place in the queue, or -1 if absent."""
        with self._cond:
            if owner in self._running:
                return 0
            return self._queue.index(owner) + 1 if owner in self._queue else -1

    @property
    def running(self) -> int:
        """Runs holding a slot now."""
        with self._cond:
            return len(self._running)

    @contextlib.contextmanager
    def hold(self, owner: str, on_wait: Callable[[int], None] | None = None,
             poll_seconds: float = 0.5) -> Iterator[None]:
        """Wait for a slot, hold it for the block, release it however the block ends.

        Raises:
            JetvizInputError: ``owner`` already runs or waits (one run per session).
        """
        with self._cond:
            if owner in self._running or owner in self._queue:
                raise JetvizInputError(
                    "this session already has a training run going or queued; wait for it "
                    "to end (or stop it) before starting another")
            self._queue.append(owner)
        try:
            while True:
                with self._cond:
                    if self._queue[0] == owner and len(self._running) < self.capacity:
                        self._queue.popleft()
                        self._running.add(owner)
                        break
                    place = self._queue.index(owner) + 1
                    self._cond.wait(poll_seconds)
                if on_wait is not None:
                    on_wait(place)  # may raise (the page stopped): the finally clears us
        except BaseException:
            with self._cond:
                if owner in self._queue:
                    self._queue.remove(owner)
                self._cond.notify_all()
            raise
        try:
            yield
        finally:
            with self._cond:
                self._running.discard(owner)
                self._cond.notify_all()


_SLOTS: TrainingSlots | None = None
_SLOTS_LOCK = threading.Lock()


def training_slots() -> TrainingSlots:
    """The server's one TrainingSlots (capacity from ``JETVIZ_MAX_TRAINING_RUNS``)."""
    global _SLOTS
    with _SLOTS_LOCK:
        if _SLOTS is None:
            _SLOTS = TrainingSlots(max_training_runs())
        return _SLOTS
