"""Exact optimal transport between small particle sets: a transportation simplex in numba.

Vocabulary
----------
A **transport problem** is supplies ``a`` (n,) and demands ``b`` (m,), both positive with
Σa = Σb, and a cost matrix ``C`` (n, m) stored row-major as a flat (n·m,) array. A **plan**
f (n, m) ≥ 0 has row sums a and column sums b; the solver finds the plan of least
Σ f_ij C_ij and **dual potentials** u (n,), v (m,) with u_i + v_j ≤ C_ij everywhere and
equality on the plan's support, so Σ a_i u_i + Σ b_j v_j equals the optimal cost.

Method (Dantzig's transportation simplex, as in any operations-research text; the network
simplex that POT and EnergyFlow's ``wasserstein`` use is the same algorithm on the same
graph). A basis is a spanning tree of n + m − 1 cells of the bipartite graph rows–columns:

1. **Start**: greedy least cost — cells in increasing cost (an O(n·m) counting sort into
   buckets, so only approximately in order), each given min(remaining supply, remaining
   demand); one row or column leaves per allocation, so the n + m − 1 cells form a tree.
   Cells marked ``last`` in the greedy key (the EMD's zero-cost dummy particle) come last,
   so the dummy takes the energy nobody nearby wants.
2. **Potentials** from the tree (u_i + v_j = C_ij on tree cells).
3. **Pricing** (block search, as LEMON's network simplex): scan cells cyclically in blocks of
   √(n·m) and take the most negative reduced cost C_ij − u_i − v_j of the first block that
   has one; stop when no cell is below −1e-13 × max C.
4. **Pivot**: the entering cell closes a cycle through the tree; flow θ moves around it,
   θ the least flow on the cycle's decreasing cells, whose cell leaves; the tree is re-hung
   (parent pointers reversed along the path) and the potentials of the moved subtree shifted.

Everything lives in preallocated integer/float workspaces, so a thread can solve thousands
of problems without allocating; functions are ``nogil`` so Python threads run in parallel.
A problem that does not finish within ``max_iter`` pivots returns status 1 (callers then
fall back to POT's solver). The EMD's problems are built and solved many at a time by
:mod:`jetviz.emd.transport_batches`.
"""

from __future__ import annotations

import numba
import numpy as np

OPTIMAL, MAX_ITER, BAD_TREE = 0, 1, 2
LAST = 1e300  # greedy key of cells that should be filled last (the dummy particle's)


@numba.njit(cache=True, nogil=True)
def workspace(n_max: int, m_max: int) -> tuple[np.ndarray, np.ndarray]:
    """(int64, float64) workspaces for problems up to n_max × m_max."""
    k, big = n_max + m_max - 1, n_max + m_max
    ints = np.empty(4 * k + 13 * big + 3 * n_max * m_max + 8, np.int64)
    return ints, np.empty(k + 2 * big, np.float64)


@numba.njit(cache=True, nogil=True)
def solve(a, b, cost, key, n, m, ints, floats, max_iter):
    """Solve one transport problem in the workspaces; see the module docstring.

    Args:
        a: (n,) supplies > 0; b: (m,) demands > 0, Σb = Σa (to rounding).
        cost: (n·m,) row-major costs ≥ 0; key: (n·m,) greedy order (cost, or LAST).
        n, m: problem size; ints, floats: from :func:`workspace`.
        max_iter: pivot limit.

    Returns:
        (total cost, status, pivots). The tree is left in the workspaces for
        :func:`extract`: cells ``ints[0:K]`` (rows), ``ints[K:2K]`` (columns), flows
        ``floats[0:K]`` and potentials ``floats[K:K+n+m]`` (u then v), K = n + m − 1.
    """
    nn = n + m
    kk = nn - 1
    nm = n * m
    arc_r = ints[0:kk]
    arc_c = ints[kk:2 * kk]
    o = 2 * kk
    parent = ints[o:o + nn]
    parc = ints[o + nn:o + 2 * nn]
    first = ints[o + 2 * nn:o + 3 * nn]
    nxt = ints[o + 3 * nn:o + 4 * nn]
    prv = ints[o + 4 * nn:o + 5 * nn]
    depth = ints[o + 5 * nn:o + 6 * nn]
    stack = ints[o + 6 * nn:o + 7 * nn]
    fill = ints[o + 7 * nn:o + 8 * nn]
    o += 8 * nn
    basic = ints[o:o + nm]
    bid = ints[o + nm:o + 2 * nm]
    order = ints[o + 2 * nm:o + 3 * nm]
    o += 3 * nm
    nb = 4 * nn
    cnt = ints[o:o + nb + 2]
    off = ints[o + nb + 2:o + nb + 3 + nn]
    adj = ints[o + nb + 3 + nn:o + nb + 3 + nn + 2 * kk]
    flow = floats[0:kk]
    pot = floats[kk:kk + nn]
    rem = floats[kk + nn:kk + 2 * nn]

    # 1. greedy start in approximate key order (counting sort into nb buckets)
    kmax = 0.0
    cmax = 0.0
    for q in range(nm):
        basic[q] = -1
        if key[q] < LAST and key[q] > kmax:
            kmax = key[q]
        if cost[q] > cmax:
            cmax = cost[q]
    scale = (nb - 1.0) / (kmax + 1e-300)
    for t in range(nb + 2):
        cnt[t] = 0
    for q in range(nm):
        bq = nb if key[q] >= LAST else int(key[q] * scale)
        bid[q] = bq
        cnt[bq + 1] += 1
    for t in range(1, nb + 2):
        cnt[t] += cnt[t - 1]
    for q in range(nm):
        order[cnt[bid[q]]] = q
        cnt[bid[q]] += 1
    for i in range(n):
        rem[i] = a[i]
    for j in range(m):
        rem[n + j] = b[j]
    done = stack  # 1 once a row/column has left; reused as the BFS queue below
    for v in range(nn):
        done[v] = 0
    rows_left, cols_left, k = n, m, 0
    for t in range(nm):
        q = order[t]
        i = q // m
        j = q - i * m
        if done[i] or done[n + j]:
            continue
        f = min(rem[i], rem[n + j])
        arc_r[k], arc_c[k], flow[k] = i, j, f
        basic[q] = k
        k += 1
        rem[i] -= f
        rem[n + j] -= f
        if k == kk:
            break
        if (rem[i] <= rem[n + j] and rows_left > 1) or cols_left == 1:
            done[i] = 1
            rows_left -= 1
        else:
            done[n + j] = 1
            cols_left -= 1
    if k != kk:
        return 0.0, BAD_TREE, 0

    # 2. root the tree at row 0 (adjacency lists in CSR form, breadth first) and set potentials
    for v in range(nn + 1):
        off[v] = 0
    for k in range(kk):
        off[arc_r[k] + 1] += 1
        off[n + arc_c[k] + 1] += 1
    for v in range(nn):
        off[v + 1] += off[v]
        fill[v] = off[v]
    for k in range(kk):
        r, c = arc_r[k], n + arc_c[k]
        adj[fill[r]] = k
        fill[r] += 1
        adj[fill[c]] = k
        fill[c] += 1
    for v in range(nn):
        first[v], parent[v], nxt[v], prv[v] = -1, -2, -1, -1
    parent[0], parc[0], depth[0], pot[0] = -1, -1, 0, 0.0
    head, tail = 0, 1
    stack[0] = 0
    while head < tail:
        pa = stack[head]
        head += 1
        for e in range(off[pa], off[pa + 1]):
            k = adj[e]
            ch = arc_r[k] if pa >= n else n + arc_c[k]
            if parent[ch] != -2:
                continue
            parent[ch], parc[ch], depth[ch] = pa, k, depth[pa] + 1
            nxt[ch] = first[pa]
            if first[pa] >= 0:
                prv[first[pa]] = ch
            first[pa] = ch
            pot[ch] = cost[arc_r[k] * m + arc_c[k]] - pot[pa]
            stack[tail] = ch
            tail += 1
    if tail != nn:
        return 0.0, BAD_TREE, 0

    # 3.–4. pricing by block search, then pivots
    tol = -1e-13 * (cmax + 1e-300)
    block = max(int(np.sqrt(nm)), 10)
    pivots = 0
    qi, qj = 0, 0  # the pricing cursor, cell (qi, qj) = qi·m + qj (no division per cell)
    while True:
        best, bq, seen = tol, -1, 0
        q = qi * m + qj
        u = pot[qi]
        for _ in range(nm):
            if basic[q] < 0:
                rc = cost[q] - u - pot[n + qj]
                if rc < best:
                    best, bq = rc, q
            seen += 1
            q += 1
            qj += 1
            if qj == m:
                qj = 0
                qi += 1
                if qi == n:
                    qi, q = 0, 0
                u = pot[qi]
            if seen >= block:
                if bq >= 0:
                    break
                seen = 0
        if bq < 0:
            break
        if pivots >= max_iter:
            return 0.0, MAX_ITER, pivots
        pivots += 1
        ei = bq // m
        ej = bq - ei * m
        x, y = ei, n + ej
        # the cycle: x and y up to their common ancestor; odd steps lose θ
        theta, leave = np.inf, -1
        xi, yj, px, py = x, y, 0, 0
        while depth[xi] > depth[yj]:
            px += 1
            if px % 2 == 1 and flow[parc[xi]] < theta:
                theta, leave = flow[parc[xi]], xi
            xi = parent[xi]
        while depth[yj] > depth[xi]:
            py += 1
            if py % 2 == 1 and flow[parc[yj]] < theta:
                theta, leave = flow[parc[yj]], yj
            yj = parent[yj]
        while xi != yj:
            px += 1
            if px % 2 == 1 and flow[parc[xi]] < theta:
                theta, leave = flow[parc[xi]], xi
            xi = parent[xi]
            py += 1
            if py % 2 == 1 and flow[parc[yj]] < theta:
                theta, leave = flow[parc[yj]], yj
            yj = parent[yj]
        lca = xi
        on_x = False
        for side in range(2):
            v = x if side == 0 else y
            p = 0
            while v != lca:
                if v == leave:
                    on_x = side == 0 or on_x
                p += 1
                flow[parc[v]] += -theta if p % 2 == 1 else theta
                v = parent[v]
        src, other = (x, y) if on_x else (y, x)  # src: in the subtree cut off by `leave`
        kl = parc[leave]
        pa = parent[leave]
        if prv[leave] >= 0:
            nxt[prv[leave]] = nxt[leave]
        else:
            first[pa] = nxt[leave]
        if nxt[leave] >= 0:
            prv[nxt[leave]] = prv[leave]
        basic[arc_r[kl] * m + arc_c[kl]] = -1
        arc_r[kl], arc_c[kl], flow[kl] = ei, ej, theta
        basic[bq] = kl
        # re-hang: reverse parent pointers from src up to `leave`, then hang src on `other`
        node, prev, arc = src, other, kl
        while True:
            op, oa = parent[node], parc[node]
            if node != leave:
                if prv[node] >= 0:
                    nxt[prv[node]] = nxt[node]
                else:
                    first[op] = nxt[node]
                if nxt[node] >= 0:
                    prv[nxt[node]] = prv[node]
            parent[node], parc[node] = prev, arc
            nxt[node], prv[node] = first[prev], -1
            if first[prev] >= 0:
                prv[first[prev]] = node
            first[prev] = node
            if node == leave:
                break
            prev, arc, node = node, oa, op
        # the moved subtree's potentials: u_x + v_y = C_xy for the new cell
        shift_row = best if src < n else -best
        top = 0
        stack[0] = src
        depth[src] = depth[other] + 1
        while top >= 0:
            v = stack[top]
            top -= 1
            pot[v] += shift_row if v < n else -shift_row
            c = first[v]
            while c >= 0:
                depth[c] = depth[v] + 1
                top += 1
                stack[top] = c
                c = nxt[c]
    total = 0.0
    for k in range(kk):
        total += flow[k] * cost[arc_r[k] * m + arc_c[k]]
    return total, OPTIMAL, pivots
