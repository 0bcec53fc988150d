"""Many EMD transport problems at a time, built and solved by the transportation simplex.

Vocabulary
----------
An **event** here is compact and padded: weights ``w`` (N, P) with the real particles first,
positions ``x`` (N, P, 2) = (eta, phi) and counts ``n`` (N,). The EMD of a pair is solved as
the balanced problem of :mod:`jetviz.emd` (a zero-cost **dummy particle** on the lighter side
carries |ΣE − ΣE'|, its cells filled last) by :func:`jetviz.emd.transport.solve`, in numba
without the GIL, so Python threads run these functions in parallel. A problem that needs
more than ``PIVOTS_PER_NODE`` pivots per particle gets a non-zero status (the caller falls
back to POT or raises).

numba's cache holds ``transport.solve``'s compiled code inside these functions and checks only
this file's age: after editing transport.py, touch this file too.
"""

from __future__ import annotations

import numba
import numpy as np

from jetviz.emd.transport import LAST, OPTIMAL, solve, workspace

PIVOTS_PER_NODE = 200  # pivot limit per particle of a problem; real jets need ≈ 2


@numba.njit(cache=True, nogil=True)
def _pair_problem(w_a, x_a, w_b, x_b, inv_r, a, b, cost, key):
    """The EMD's balanced problem in a, b, cost, key; returns (n, m, |ΣE − ΣE'|)."""
    na, nb = w_a.shape[0], w_b.shape[0]
    e_a, e_b = w_a.sum(), w_b.sum()
    n = na + (1 if e_b > e_a else 0)
    m = nb + (1 if e_a > e_b else 0)
    a[:na] = w_a
    b[:nb] = w_b
    if n > na:
        a[na] = e_b - e_a
    if m > nb:
        b[nb] = e_a - e_b
    for i in range(n):
        for j in range(m):
            q = i * m + j
            if i < na and j < nb:
                dx = x_a[i, 0] - x_b[j, 0]
                dy = x_a[i, 1] - x_b[j, 1]
                cost[q] = np.sqrt(dx * dx + dy * dy) * inv_r
                key[q] = cost[q]
            else:
                cost[q] = 0.0
                key[q] = LAST
    # equal totals to the last bit: rescale b by a ratio 1 ± 1e-16 (as POT wants)
    sa = a[:n].sum()
    sb = b[:m].sum()
    if sb > 0:
        b[:m] *= sa / sb
    return n, m, abs(e_a - e_b)


@numba.njit(cache=True, nogil=True)
def emds_of_pairs(w_a, x_a, n_a, w_b, x_b, n_b, index_a, index_b, inv_r, max_iter,
                  out, status):
    """EMD of the pairs (index_a[k], index_b[k]) of compact padded events.

    Args:
        w_a: (Na, P) weights, real particles first; x_a: (Na, P, 2); n_a: (Na,) counts.
        w_b, x_b, n_b: the second set (may be the same arrays).
        index_a, index_b: (K,) event indices of each pair.
        inv_r: 1/R. max_iter: pivot limit per pair.
        out: (K,) EMDs written here; status: (K,) solver status (0 = optimal).
    """
    p_max = max(w_a.shape[1], w_b.shape[1]) + 1
    ints, floats = workspace(p_max, p_max)
    a = np.empty(p_max)
    b = np.empty(p_max)
    cost = np.empty(p_max * p_max)
    key = np.empty(p_max * p_max)
    for k in range(index_a.shape[0]):
        ia, ib = index_a[k], index_b[k]
        ma, mb = n_a[ia], n_b[ib]
        if ma == 0 or mb == 0:
            out[k] = abs(w_a[ia, :ma].sum() - w_b[ib, :mb].sum())
            status[k] = OPTIMAL
            continue
        n, m, imbalance = _pair_problem(w_a[ia, :ma], x_a[ia, :ma], w_b[ib, :mb], x_b[ib, :mb],
                                        inv_r, a, b, cost, key)
        value, code, _ = solve(a, b, cost, key, n, m, ints, floats, max_iter)
        out[k] = value + imbalance
        status[k] = code


@numba.njit(cache=True, nogil=True)
def plans_of_batch(cost, alpha, beta, lo, hi, max_iter, f_out, g_out, plan_out, status):
    """Optimal plans and potentials of batched balanced problems (rows lo:hi of the batch).

    Args:
        cost: (B, n, m) costs; alpha (B, n), beta (B, m) marginals with equal sums, 0 where a
            particle is absent (those rows/columns are left out of the problem).
        lo, hi: batch rows to solve. max_iter: pivot limit.
        f_out (B, n), g_out (B, m): optimal potentials (0 on absent particles);
        plan_out (B, n, m): the optimal plan; status (B,): solver status.
    """
    n_all, m_all = alpha.shape[1], beta.shape[1]
    ints, floats = workspace(n_all, m_all)
    rows = np.empty(n_all, np.int64)
    cols = np.empty(m_all, np.int64)
    a = np.empty(n_all)
    b = np.empty(m_all)
    c = np.empty(n_all * m_all)
    for t in range(lo, hi):
        n = 0
        for i in range(n_all):
            if alpha[t, i] > 0:
                rows[n] = i
                a[n] = alpha[t, i]
                n += 1
        m = 0
        for j in range(m_all):
            if beta[t, j] > 0:
                cols[m] = j
                b[m] = beta[t, j]
                m += 1
        plan_out[t] = 0.0
        f_out[t] = 0.0
        g_out[t] = 0.0
        if n == 0 or m == 0:
            status[t] = OPTIMAL
            continue
        for i in range(n):
            for j in range(m):
                c[i * m + j] = cost[t, rows[i], cols[j]]
        b[:m] *= a[:n].sum() / b[:m].sum()
        _, code, _ = solve(a, b, c, c, n, m, ints, floats, max_iter)
        status[t] = code
        kk = n + m - 1
        for k in range(kk):
            plan_out[t, rows[ints[k]], cols[ints[kk + k]]] += floats[k]
        for i in range(n):
            f_out[t, rows[i]] = floats[kk + i]
        for j in range(m):
            g_out[t, cols[j]] = floats[kk + n + j]
