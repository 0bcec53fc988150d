"""Threads for the numba EMD solvers: one persistent pool per process, and work split evenly.

Vocabulary
----------
A **task** is a no-argument function solving a range of rows (pairs of events, or problems of
a batch); ``n_workers`` threads run the tasks of one call. numba's solvers release the GIL, so
threads run them in parallel; unlike processes they start in microseconds and share the
events without copying. ``n_workers(None, n_pairs)`` uses every available core from
``AUTO_MIN_PAIRS`` pairs on, one thread below.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from jetviz.errors import JetvizInputError

AUTO_MIN_PAIRS = 400  # n_jobs=None uses one thread below this many pairs

_EXECUTOR: dict[str, object] = {}
_EXECUTOR_LOCK = threading.Lock()
_COMPILE_LOCK = threading.Lock()


def executor(workers: int) -> ThreadPoolExecutor:
    """The process's pool of ``workers`` threads (made again after a fork or a new size)."""
    with _EXECUTOR_LOCK:
        if _EXECUTOR.get("size") != workers or _EXECUTOR.get("pid") != os.getpid():
            _EXECUTOR.update(pool=ThreadPoolExecutor(workers, "jetviz-emd"),
                             size=workers, pid=os.getpid())
        return _EXECUTOR["pool"]


def n_workers(n_jobs: int | None, n_pairs: int) -> int:
    """Threads for ``n_pairs`` problems: ``n_jobs`` (≥ 1), or, for None, every core."""
    if n_jobs is not None:
        if n_jobs < 1:
            raise JetvizInputError(f"n_jobs: expected a positive number of threads, got {n_jobs}")
        return n_jobs
    if n_pairs < AUTO_MIN_PAIRS:
        return 1
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def row_chunks(costs: Sequence[int], n_chunks: int) -> list[tuple[int, int]]:
    """Split rows into ≤ n_chunks contiguous ranges of about equal total cost."""
    bounds = np.searchsorted(np.cumsum(costs), np.linspace(0, sum(costs), n_chunks + 1)[1:-1])
    edges = np.unique(np.concatenate([[0], bounds + 1, [len(costs)]]).clip(0, len(costs)))
    return [(int(a), int(b)) for a, b in itertools.pairwise(edges) if b > a]


@contextlib.contextmanager
def compiled_alone(jitted) -> Iterator[None]:
    """Hold a process-wide lock around a call of the numba function ``jitted`` until it is
    compiled (or loaded from numba's cache) in this process; no lock afterwards.

    Two threads compiling one function at once fail with a numba TypingError ("Cannot unify
    Function(<ufunc 'sqrt'>) and Function(<ufunc 'sqrt'>)"): this call's worker threads, or two
    Streamlit sessions, on a fresh checkout whose numba cache is empty.
    """
    if jitted.signatures:
        yield
        return
    with _COMPILE_LOCK:
        yield


def run(tasks: Sequence[Callable[[], object]], workers: int) -> list:
    """Call each task (a no-argument function) serially or on ``workers`` threads."""
    if workers == 1 or len(tasks) <= 1:
        return [task() for task in tasks]
    return list(executor(workers).map(lambda task: task(), tasks))
