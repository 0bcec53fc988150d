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
def plans_of_batch(w_a, x_a, w_b, x_b, radius, lo, hi, max_iter, value, f_out, g_out,
                   plan_out, status):
    """The EMDs, optimal plans and potentials of a batch of pairs (rows lo:hi), each built
    as :func:`jetviz.emd.balance.augment`'s balanced problem and solved.

    Args:
        w_a: (B, Pa) float64 weights, 0 on padding (and on any particle to leave out);
            x_a: (B, Pa, 2) positions. w_b, x_b: the second sets.
        radius: R, the ground distance is θ/R.
        lo, hi: batch rows to solve. max_iter: pivot limit.
        value (B,): the EMDs, mass · max(⟨f, α⟩ + ⟨g, β⟩, 0) + |ΣE − ΣE'|;
        f_out (B, Pa+1), g_out (B, Pb+1): optimal potentials of the marginals α, β (the last
        slot the dummy; 0 on absent particles); plan_out (B, Pa+1, Pb+1): the optimal plan of
        α, β (summing to 1); status (B,): solver status.
    """
    pa, pb = w_a.shape[1], w_b.shape[1]
    n_all, m_all = pa + 1, pb + 1
    ints, floats = workspace(n_all, m_all)
    rows = np.empty(n_all, np.int64)
    cols = np.empty(m_all, np.int64)
    alpha = np.empty(n_all)
    beta = np.empty(m_all)
    a = np.empty(n_all)
    b = np.empty(m_all)
    c = np.empty(n_all * m_all)
    for t in range(lo, hi):
        e_a = 0.0
        for i in range(pa):
            e_a += w_a[t, i]
        e_b = 0.0
        for j in range(pb):
            e_b += w_b[t, j]
        dummy_a, dummy_b = max(e_b - e_a, 0.0), max(e_a - e_b, 0.0)
        mass = max(e_a, e_b)
        norm = mass
        if e_a <= 0 and e_b <= 0:  # two empty sets: unit dummies keep the problem posed
            dummy_a, dummy_b, norm = 1.0, 1.0, 1.0
        for i in range(pa):
            alpha[i] = w_a[t, i] / norm
        alpha[pa] = dummy_a / norm
        for j in range(pb):
            beta[j] = w_b[t, j] / norm
        beta[pb] = dummy_b / norm
        n = 0
        for i in range(n_all):
            if alpha[i] > 0:
                rows[n] = i
                a[n] = alpha[i]
                n += 1
        m = 0
        for j in range(m_all):
            if beta[j] > 0:
                cols[m] = j
                b[m] = beta[j]
                m += 1
        plan_out[t] = 0.0
        f_out[t] = 0.0
        g_out[t] = 0.0
        imbalance = abs(e_a - e_b)
        if n == 0 or m == 0:
            value[t] = imbalance
            status[t] = OPTIMAL
            continue
        for i in range(n):
            ri = rows[i]
            for j in range(m):
                cj = cols[j]
                if ri == pa or cj == pb:
                    c[i * m + j] = 0.0  # the dummy: zero cost to everything
                else:
                    dx = x_a[t, ri, 0] - x_b[t, cj, 0]
                    dy = x_a[t, ri, 1] - x_b[t, cj, 1]
                    c[i * m + j] = np.sqrt(dx * dx + dy * dy) / radius
        b[:m] *= a[:n].sum() / b[:m].sum()
        _, code, _ = solve(a, b, c, c, n, m, ints, floats, max_iter)
        status[t] = code
        kk = n + m - 1
        for k in range(kk):
            plan_out[t, rows[ints[k]], cols[ints[kk + k]]] += floats[k]
        lower = 0.0
        for i in range(n):
            f_out[t, rows[i]] = floats[kk + i]
            lower += floats[kk + i] * alpha[rows[i]]
        for j in range(m):
            g_out[t, cols[j]] = floats[kk + n + j]
            lower += floats[kk + n + j] * beta[cols[j]]
        value[t] = mass * max(lower, 0.0) + imbalance
