"""Exact EMD between events: one pair, paired sets and pairwise matrices, on threads.

Vocabulary
----------
An **event** is an array (M, 3) of particles (weight [GeV], eta, phi); a batch of events is
(N, P, 3), zero-weight rows are padding. The **EMD** is the energyflow definition
(Komiske, Metodiev, Thaler, arXiv:1902.02346)::

    EMD(E, E') = min_f Σ_ij f_ij θ_ij / R + |Σ_i E_i − Σ_j E'_j|

solved as a balanced problem with a zero-cost **dummy particle** carrying |ΣE − ΣE'| on the
lighter side (see :mod:`jetviz.emd`).

Solver: jetviz's transportation simplex (:mod:`jetviz.emd.transport`, numba, no GIL), one
pair after another in each of ``n_jobs`` Python threads. It is exact: it agrees with POT's
network simplex (``emd_pot``, kept as the cross-check) to ≤ 1e-9 GeV on random and real
jets (tests/emd/test_emd.py), and its speed against EnergyFlow's ``wasserstein`` is printed by
``benchmarks/emd.py``. A pair the simplex cannot finish within its pivot limit is solved
again with POT.
"""

from __future__ import annotations

import warnings

import numpy as np
import ot
from scipy.spatial.distance import cdist

from jetviz.emd import transport, transport_batches
from jetviz.emd.threads import compiled_alone, n_workers, row_chunks, run
from jetviz.errors import JetvizInputError
from jetviz.jets import JetSet

_NUM_ITER_MAX = 1_000_000  # POT network-simplex iterations (the fallback and emd_pot)
_CHUNKS_PER_JOB = 2  # tasks per thread, so uneven chunks still balance

_RESULT_MESSAGES = {0: "the problem is infeasible", 2: "the problem is unbounded",
                    3: "the iteration limit was reached"}


def _check_event(ev: np.ndarray, name: str) -> np.ndarray:
    """An event as float64 (M, 3) (weight, eta, phi), or JetvizInputError."""
    ev = np.asarray(ev, dtype=np.float64)
    if ev.ndim != 2 or ev.shape[1] != 3:
        raise JetvizInputError(
            f"{name}: expected an event of shape (M, 3) = (weight, eta, phi), got {ev.shape}"
        )
    if not np.isfinite(ev).all():
        raise JetvizInputError(f"{name}: NaN/inf in the event; repair or drop it")
    if (ev[:, 0] < 0).any():
        raise JetvizInputError(f"{name}: negative weights; EMD needs weights ≥ 0 (e.g. pT)")
    return ev


def _check_events(events: np.ndarray | JetSet, name: str) -> np.ndarray:
    """A batch as float64 (N, P, 3) (weight, eta, phi), converting a JetSet to GeV weights."""
    if isinstance(events, JetSet):
        return events_from_jets(events)
    ev = np.asarray(events, dtype=np.float64)
    if ev.ndim != 3 or ev.shape[2] != 3:
        raise JetvizInputError(
            f"{name}: expected events of shape (N, P, 3) = (weight, eta, phi) or a JetSet, "
            f"got {ev.shape}"
        )
    if not np.isfinite(ev).all():
        bad = int(np.argwhere(~np.isfinite(ev))[0, 0])
        raise JetvizInputError(f"{name}: NaN/inf values (first in event {bad}); repair or drop")
    if (ev[..., 0] < 0).any():
        bad = int(np.argwhere(ev[..., 0] < 0)[0, 0])
        raise JetvizInputError(
            f"{name}: negative weights (first in event {bad}); EMD needs weights ≥ 0"
        )
    return ev


def events_from_jets(jets: JetSet) -> np.ndarray:
    """Events (N, P, 3) = (pT [GeV], etarel, phirel) from a JetSet; padded rows weigh 0.

    The weight of a particle is ptrel × jet pT, so EMDs come out in GeV.
    """
    weights = jets.particles[..., 0].astype(np.float64) * jets.jets[:, 0, None]  # (N, P)
    weights = np.where(jets.mask, weights, 0.0)
    return np.concatenate([weights[..., None], jets.particles[..., 1:].astype(np.float64)], -1)


def _packed(events: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(weights (N, P), positions (N, P, 2), counts (N,)) with real particles first."""
    real = events[..., 0] > 0  # (N, P)
    order = np.argsort(~real, axis=1, kind="stable")
    packed = np.take_along_axis(events, order[..., None], axis=1)
    return (np.ascontiguousarray(packed[..., 0]), np.ascontiguousarray(packed[..., 1:]),
            real.sum(1).astype(np.int64))


def _balanced(
    w_a: np.ndarray, w_b: np.ndarray, dist: np.ndarray, R: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """The balanced problem for POT: a zero-cost dummy on the lighter side.

    Returns (a, b, cost = θ/R with the dummy's zero row or column, |ΣE − ΣE'|), float64,
    with Σa = Σb exactly (b rescaled by a ratio 1 ± 1e-16).
    """
    e_a, e_b = float(w_a.sum()), float(w_b.sum())
    na, nb = dist.shape
    extra_a, extra_b = int(e_b > e_a), int(e_a > e_b)
    a, b = np.empty(na + extra_a), np.empty(nb + extra_b)
    cost = np.zeros((na + extra_a, nb + extra_b))
    a[:na], b[:nb] = w_a, w_b
    a[na:], b[nb:] = e_b - e_a, e_a - e_b  # an empty slice on the heavier side
    np.divide(dist, R, out=cost[:na, :nb])
    b *= a.sum() / b.sum()
    return a, b, cost, abs(e_a - e_b)


def emd_pot(ev_a: np.ndarray, ev_b: np.ndarray, R: float = 0.8) -> float:
    """Exact EMD of two events with POT's network simplex (``ot.emd2``): the cross-check.

    Same definition and arguments as :func:`emd`. POT's "numItermax reached" result is
    retried with 10× the limit and otherwise raised as an error, never left as a warning.
    """
    ev_a, ev_b = _check_event(ev_a, "ev_a"), _check_event(ev_b, "ev_b")
    ev_a, ev_b = ev_a[ev_a[:, 0] > 0], ev_b[ev_b[:, 0] > 0]
    if len(ev_a) == 0 or len(ev_b) == 0:
        return abs(float(ev_a[:, 0].sum()) - float(ev_b[:, 0].sum()))
    a, b, cost, imbalance = _balanced(ev_a[:, 0], ev_b[:, 0], cdist(ev_a[:, 1:], ev_b[:, 1:]), R)
    max_iter = _NUM_ITER_MAX
    for _ in range(2):
        with warnings.catch_warnings():
            # the result code below says the same thing as POT's warning, with more context
            warnings.simplefilter("ignore", UserWarning)
            value, log = ot.emd2(a, b, cost, numItermax=max_iter, log=True)
        code = log["result_code"]
        if code == 1:
            return float(value) + imbalance
        if code != 3:
            break
        max_iter *= 10
    raise RuntimeError(
        f"exact EMD: ot.emd2 stopped because {_RESULT_MESSAGES.get(code, code)} "
        f"(events of {len(ev_a)} and {len(ev_b)} particles); check the events"
    )


class _Pairs:
    """Solves lists of pairs between two packed event sets, with the POT fallback."""

    def __init__(self, ev_a: np.ndarray, ev_b: np.ndarray, R: float) -> None:
        if R <= 0:
            raise JetvizInputError(f"R: the jet radius must be positive, got {R}")
        self.ev_a, self.ev_b, self.R = ev_a, ev_b, R
        self.a = _packed(ev_a)
        self.b = self.a if ev_b is ev_a else _packed(ev_b)
        self.max_pivots = transport_batches.PIVOTS_PER_NODE * (ev_a.shape[1] + ev_b.shape[1] + 2)

    def __call__(self, index_a: np.ndarray, index_b: np.ndarray) -> np.ndarray:
        out = np.empty(len(index_a))
        status = np.empty(len(index_a), np.int64)
        with compiled_alone(transport_batches.emds_of_pairs):
            transport_batches.emds_of_pairs(*self.a, *self.b, index_a.astype(np.int64),
                                            index_b.astype(np.int64), 1.0 / self.R,
                                            self.max_pivots, out, status)
        for k in np.flatnonzero(status != transport.OPTIMAL):  # rare: POT takes over
            out[k] = emd_pot(self.ev_a[index_a[k]], self.ev_b[index_b[k]], self.R)
        return out


def emd(ev_a: np.ndarray, ev_b: np.ndarray, R: float = 0.8) -> float:
    """Exact EMD between two events (energyflow definition, arXiv:1902.02346).

    EMD(E, E') = min_f Σ f_ij θ_ij / R + |ΣE − ΣE'|, solved exactly by jetviz's
    transportation simplex (POT's network simplex if it ever runs out of pivots).

    Args:
        ev_a: (Ma, 3) particles (weight, eta, phi); weight in GeV (e.g. pT), ≥ 0.
        ev_b: (Mb, 3) particles of the second event.
        R: jet radius dividing the angular distance θ_ij.

    Returns:
        The EMD in the units of the weights.
    """
    ev_a, ev_b = _check_event(ev_a, "ev_a"), _check_event(ev_b, "ev_b")
    solver = _Pairs(ev_a[None], ev_b[None], R)
    return float(solver(np.zeros(1, np.int64), np.zeros(1, np.int64))[0])


def pairwise_emds(
    jets_a: np.ndarray | JetSet,
    jets_b: np.ndarray | JetSet | None = None,
    *,
    R: float = 0.8,
    n_jobs: int | None = None,
) -> np.ndarray:
    """Exact EMD between every jet of one set and every jet of another, on threads.

    Rows are split into chunks of about equal work, solved on ``n_jobs`` threads of a
    persistent pool. With ``jets_b`` omitted the matrix is symmetric and only its upper
    triangle is solved.

    Args:
        jets_a: (Na, P, 3) events (weight [GeV], eta, phi), padded rows of weight 0, or a
            JetSet (weights = ptrel × jet pT).
        jets_b: (Nb, P', 3) events or a JetSet; ``None`` for the distances within ``jets_a``.
        R: jet radius dividing the angular distance.
        n_jobs: threads; ``None`` uses every core available (one thread below 400 pairs).

    Returns:
        (Na, Nb) EMDs in GeV (symmetric with a zero diagonal when ``jets_b`` is None).
    """
    ev_a = _check_events(jets_a, "jets_a")
    if jets_b is None:
        n = len(ev_a)
        solver = _Pairs(ev_a, ev_a, R)
        workers = n_workers(n_jobs, n * (n - 1) // 2)
        out = np.zeros((n, n))

        def upper(i0: int, i1: int) -> None:
            first = np.arange(i0, i1)
            counts = n - 1 - first  # pairs (i, j > i) of each row
            rows = np.repeat(first, counts)
            cols = np.arange(len(rows)) - np.repeat(np.cumsum(counts) - counts - first - 1, counts)
            out[rows, cols] = solver(rows, cols)

        chunks = row_chunks(list(range(n - 1, -1, -1)), workers * _CHUNKS_PER_JOB)
        run([lambda i0=i0, i1=i1: upper(i0, i1) for i0, i1 in chunks], workers)
        return out + out.T
    ev_b = _check_events(jets_b, "jets_b")
    solver = _Pairs(ev_a, ev_b, R)
    workers = n_workers(n_jobs, len(ev_a) * len(ev_b))
    out = np.empty((len(ev_a), len(ev_b)))

    def rows_of(i0: int, i1: int) -> None:
        ia, ib = np.divmod(np.arange(i0 * len(ev_b), i1 * len(ev_b)), len(ev_b))
        out[i0:i1] = solver(ia, ib).reshape(i1 - i0, len(ev_b))

    chunks = row_chunks([1] * len(ev_a), workers * _CHUNKS_PER_JOB)
    run([lambda i0=i0, i1=i1: rows_of(i0, i1) for i0, i1 in chunks], workers)
    return out


def paired_emds(
    jets_a: np.ndarray | JetSet,
    jets_b: np.ndarray | JetSet,
    *,
    R: float = 0.8,
    n_jobs: int | None = None,
) -> np.ndarray:
    """Exact EMD of each jet to its partner, EMD(a_i, b_i), on threads.

    For example a reconstruction's EMD to its input, in GeV. Same solver and threads as
    ``pairwise_emds``.

    Args:
        jets_a: (N, P, 3) events (weight [GeV], eta, phi) or a JetSet.
        jets_b: (N, P', 3) events or a JetSet, the same number N of jets.
        R: jet radius dividing the angular distance.
        n_jobs: threads; ``None`` uses every core for 400 pairs or more.

    Returns:
        (N,) EMDs in GeV.
    """
    ev_a = _check_events(jets_a, "jets_a")
    ev_b = _check_events(jets_b, "jets_b")
    if len(ev_a) != len(ev_b):
        raise JetvizInputError(
            f"paired_emds: jets_a has {len(ev_a)} jets but jets_b has {len(ev_b)}; "
            "pass two sets of the same length (or use pairwise_emds for all pairs)"
        )
    solver = _Pairs(ev_a, ev_b, R)
    workers = n_workers(n_jobs, len(ev_a))
    out = np.empty(len(ev_a))

    def part(i0: int, i1: int) -> None:
        index = np.arange(i0, i1)
        out[i0:i1] = solver(index, index)

    chunks = row_chunks([1] * len(ev_a), workers * _CHUNKS_PER_JOB)
    run([lambda i0=i0, i1=i1: part(i0, i1) for i0, i1 in chunks], workers)
    return out
