"""Energy Mover's Distance between jets: exact (POT network simplex) and Sinkhorn (torch).

Vocabulary
----------
An **event** (a jet, for EMD purposes) is an array (M, 3) of particles
(weight, eta, phi): the weight is an energy-like quantity in GeV (for jetviz jets,
ptrel × jet pT), eta and phi its position. jetviz jets are in relative coordinates
(etarel, phirel), so phi differences are used as given (no wrapping).

The **EMD** is the energyflow definition (Komiske, Metodiev, Thaler, arXiv:1902.02346)::

    EMD(E, E') = min_f Σ_ij f_ij θ_ij / R + |Σ_i E_i − Σ_j E'_j|
    f_ij ≥ 0,  Σ_j f_ij ≤ E_i,  Σ_i f_ij ≤ E'_j,  Σ_ij f_ij = min(ΣE, ΣE')

with θ_ij the Euclidean (eta, phi) distance. It is in the units of the weights (GeV).
Both solvers compute it the same way: the side with less energy gets a **dummy particle**
carrying the difference, at zero cost to every particle of the other side; the balanced
problem is solved and |ΣE − ΣE'| added.

Exact path: ``emd`` (one pair, POT's ``ot.emd2``), ``pairwise_emds`` and ``paired_emds``
(many pairs, in parallel over cores, POT's network simplex). Differentiable path:
``sinkhorn_emd`` (batched log-domain Sinkhorn, Cuturi arXiv:1306.0895, in torch).
"""

from __future__ import annotations

import math

import torch

__all__ = ["sinkhorn_emd", "sinkhorn_plan"]

# Sinkhorn defaults (see sinkhorn_emd for what they mean and how they were chosen).
DEFAULT_EPS = 0.01
DEFAULT_N_ITER = 60
_EPS_START = 1.0  # annealing starts at ε = the largest ground cost of the pair
_TINY = 1e-30


def _ground_cost(x_a: torch.Tensor, x_b: torch.Tensor, R: float) -> torch.Tensor:
    """θ_ij / R, the (eta, phi) distance over R.  (B, Pa, 2), (B, Pb, 2) -> (B, Pa, Pb)."""
    d2 = (x_a[:, :, None, :] - x_b[:, None, :, :]).square().sum(-1)  # (B, Pa, Pb)
    # sqrt has an infinite derivative at 0: clamping gives coincident particles a zero
    # gradient instead of NaN (the EMD's own subgradient there includes 0).
    return d2.clamp_min(1e-20).sqrt() / R


def _masked_log(w: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """log w where mask, −inf elsewhere, with no NaN gradient from log(0)."""
    safe = torch.where(mask, w, torch.ones_like(w)).clamp_min(_TINY)
    return torch.where(mask, safe.log(), torch.full_like(w, -math.inf))


def _check_inputs(
    w_a: torch.Tensor, x_a: torch.Tensor, w_b: torch.Tensor, x_b: torch.Tensor
) -> None:
    for name, w, x in (("a", w_a, x_a), ("b", w_b, x_b)):
        if w.ndim != 2 or x.shape != (*w.shape, 2):
            raise ValueError(
                f"sinkhorn_emd: expected w_{name} (B, P) and x_{name} (B, P, 2), "
                f"got {tuple(w.shape)} and {tuple(x.shape)}"
            )
    if w_a.shape[0] != w_b.shape[0]:
        raise ValueError(
            f"sinkhorn_emd: batch sizes differ: w_a has {w_a.shape[0]}, w_b has {w_b.shape[0]}"
        )


def _augment(
    w_a: torch.Tensor,
    x_a: torch.Tensor,
    w_b: torch.Tensor,
    x_b: torch.Tensor,
    mask_a: torch.Tensor,
    mask_b: torch.Tensor,
    R: float,
) -> tuple[torch.Tensor, ...]:
    """The balanced problem: normalised marginals with a dummy slot on each side.

    Returns (alpha (B, Pa+1), beta (B, Pb+1), mask_a (B, Pa+1), mask_b (B, Pb+1),
    cost (B, Pa+1, Pb+1), mass (B,), imbalance (B,)), where alpha, beta sum to 1, the last
    slot of each side is its dummy (cost 0 to everything), ``mass`` = max(ΣE, ΣE') and
    ``imbalance`` = |ΣE − ΣE'|.
    """
    w_a = torch.where(mask_a, w_a, torch.zeros_like(w_a))
    w_b = torch.where(mask_b, w_b, torch.zeros_like(w_b))
    e_a, e_b = w_a.sum(1), w_b.sum(1)  # (B,)
    dummy_a = (e_b - e_a).clamp_min(0.0)  # energy the a side lacks
    dummy_b = (e_a - e_b).clamp_min(0.0)
    both_empty = (e_a <= 0) & (e_b <= 0)
    # Two empty jets: a unit dummy on each side (cost 0) keeps the problem well posed.
    dummy_a = torch.where(both_empty, torch.ones_like(dummy_a), dummy_a)
    dummy_b = torch.where(both_empty, torch.ones_like(dummy_b), dummy_b)
    mass = torch.maximum(e_a, e_b)
    norm = torch.where(both_empty, torch.ones_like(mass), mass)[:, None]
    alpha = torch.cat([w_a, dummy_a[:, None]], 1) / norm  # (B, Pa+1)
    beta = torch.cat([w_b, dummy_b[:, None]], 1) / norm  # (B, Pb+1)
    m_a = torch.cat([mask_a, (dummy_a > 0)[:, None]], 1)
    m_b = torch.cat([mask_b, (dummy_b > 0)[:, None]], 1)
    cost = torch.nn.functional.pad(_ground_cost(x_a, x_b, R), (0, 1, 0, 1))  # dummy: 0
    return alpha, beta, m_a, m_b, cost, mass, (e_a - e_b).abs()


def _log_sinkhorn(
    cost: torch.Tensor,
    log_a: torch.Tensor,
    log_b: torch.Tensor,
    eps: float,
    n_iter: int,
    scale: torch.Tensor,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Log-domain Sinkhorn with ε annealing; returns potentials f, g and the final ε.

    Solves min_P <P, C> + ε KL(P | a⊗b) with P 1 = a, Pᵀ1 = b through its dual
    potentials (Cuturi arXiv:1306.0895; log-domain as in Schmitzer arXiv:1610.06519):

        g_j ← −ε log Σ_i a_i exp((f_i − C_ij)/ε),   f_i ← −ε log Σ_j b_j exp((g_j − C_ij)/ε)

    ε is annealed geometrically from ``_EPS_START`` to ``eps`` (both times ``scale``, the
    pair's cost scale) over the first half of the iterations, then held.

    Args:
        cost: (B, n, m) ground cost, no gradient needed.
        log_a, log_b: (B, n), (B, m) log marginals, −inf on padding.
        eps: target ε relative to ``scale``.
        n_iter: number of (g, f) update pairs.
        scale: (B,) cost scale of each pair.

    Returns:
        f (B, n), g (B, m), eps_abs (B,) — the last update is f's, so rows are exact.
    """
    b, n, m = cost.shape
    f = cost.new_zeros(b, n)
    g = cost.new_zeros(b, m)
    n_anneal = max(1, n_iter // 2)
    ratio = (eps / _EPS_START) ** (1.0 / n_anneal)
    for k in range(n_iter):
        eps_k = scale * max(eps, _EPS_START * ratio ** (k + 1))  # (B,)
        e = eps_k[:, None, None]
        g = -eps_k[:, None] * torch.logsumexp((f[:, :, None] - cost) / e + log_a[:, :, None], 1)
        f = -eps_k[:, None] * torch.logsumexp((g[:, None, :] - cost) / e + log_b[:, None, :], 2)
    return f, g, scale * eps


def _solve(
    w_a: torch.Tensor,
    x_a: torch.Tensor,
    w_b: torch.Tensor,
    x_b: torch.Tensor,
    R: float,
    eps: float,
    n_iter: int,
    mask_a: torch.Tensor | None,
    mask_b: torch.Tensor | None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """EMD (B,) with its surrogate gradient, and the transport plan (B, Pa, Pb) in GeV."""
    _check_inputs(w_a, x_a, w_b, x_b)
    if eps <= 0 or n_iter < 1:
        raise ValueError(f"sinkhorn_emd: need eps > 0 and n_iter ≥ 1, got {eps=}, {n_iter=}")
    mask_a = w_a > 0 if mask_a is None else mask_a.bool()
    mask_b = w_b > 0 if mask_b is None else mask_b.bool()
    alpha, beta, m_a, m_b, cost, mass, imbalance = _augment(
        w_a, x_a, w_b, x_b, mask_a, mask_b, R
    )
    log_a, log_b = _masked_log(alpha, m_a), _masked_log(beta, m_b)
    pair = m_a[:, :, None] & m_b[:, None, :]
    with torch.no_grad():
        c0 = cost.detach()
        scale = torch.where(pair, c0, torch.zeros_like(c0)).amax((1, 2)).clamp_min(1e-6)
        f, g, eps_abs = _log_sinkhorn(c0, log_a.detach(), log_b.detach(), eps, n_iter, scale)
        e = eps_abs[:, None, None]
        plan = torch.exp((f[:, :, None] + g[:, None, :] - c0) / e
                         + log_a.detach()[:, :, None] + log_b.detach()[:, None, :])
        plan = _round_to_marginals(plan, alpha.detach(), beta.detach())
        value = mass.detach() * (plan * c0).sum((1, 2)) + imbalance.detach()
        f = torch.where(m_a, f, torch.zeros_like(f))
        g = torch.where(m_b, g, torch.zeros_like(g))
    # Surrogate with the envelope-theorem gradient of the entropic problem: for converged
    # potentials, d/dC = plan and d/d(weights) = the dual potentials (Cuturi arXiv:1306.0895;
    # Peyré & Cuturi arXiv:1803.00567 §9.1). Its value is replaced by the sharp cost above.
    log_plan = (f[:, :, None] + g[:, None, :] - cost) / e + log_a[:, :, None] + log_b[:, None, :]
    dual = ((f * alpha).sum(1) + (g * beta).sum(1)
            - e[:, 0, 0] * torch.exp(log_plan).sum((1, 2)))
    surrogate = mass * dual + imbalance
    emd = value + (surrogate - surrogate.detach())
    return emd, mass.detach()[:, None, None] * plan[:, :-1, :-1]


def _round_to_marginals(plan: torch.Tensor, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Project a near-feasible plan onto the exact marginals (Altschuler et al. arXiv:1705.09634).

    Scales rows then columns down to their targets and spreads the leftover mass as a rank-one
    plan; the result has row sums a and column sums b exactly (to float precision).
    """
    rows = plan.sum(2)
    plan = plan * torch.where(rows > a, a / rows.clamp_min(_TINY), torch.ones_like(a))[:, :, None]
    cols = plan.sum(1)
    plan = plan * torch.where(cols > b, b / cols.clamp_min(_TINY), torch.ones_like(b))[:, None, :]
    err_a = (a - plan.sum(2)).clamp_min(0)
    err_b = (b - plan.sum(1)).clamp_min(0)
    total = err_a.sum(1).clamp_min(_TINY)[:, None, None]
    return plan + err_a[:, :, None] * err_b[:, None, :] / total


def sinkhorn_emd(
    w_a: torch.Tensor,
    x_a: torch.Tensor,
    w_b: torch.Tensor,
    x_b: torch.Tensor,
    *,
    R: float = 0.8,
    eps: float = DEFAULT_EPS,
    n_iter: int = DEFAULT_N_ITER,
    mask_a: torch.Tensor | None = None,
    mask_b: torch.Tensor | None = None,
) -> torch.Tensor:
    """Batched, differentiable EMD between particle sets by log-domain Sinkhorn.

    Approximates the energyflow EMD (arXiv:1902.02346; see the module docstring) with
    entropic optimal transport (Cuturi arXiv:1306.0895) solved in the log domain, so small
    ε is stable. The smaller side gets a zero-cost dummy particle carrying the energy
    difference, the balanced problem is solved on normalised weights, and
    EMD = max(ΣE, ΣE') · <P, θ/R> + |ΣE − ΣE'|.

    ε is **relative to the cost scale**: the absolute ε of each pair is ``eps`` times the
    largest θ_ij/R between its real particles. It is annealed from 1 to ``eps`` over the first
    half of ``n_iter`` iterations. The returned value is the transport cost of the final plan
    after rounding it onto the exact marginals, so it is an upper bound of the exact EMD up to
    float error; the gradient is the envelope-theorem gradient of the entropic problem (plan
    for positions, dual potentials for weights), which tends to the exact EMD's gradient as
    ε → 0.

    Runs on the device of the inputs; gradients flow to ``w_a``, ``x_a``, ``w_b``, ``x_b``.

    Args:
        w_a: (B, Pa) non-negative weights (e.g. pT in GeV), 0 on padding.
        x_a: (B, Pa, 2) (eta, phi) positions.
        w_b: (B, Pb) weights of the second sets.
        x_b: (B, Pb, 2) positions of the second sets.
        R: jet radius dividing the angular distance.
        eps: entropic regularisation relative to the pair's largest ground cost.
        n_iter: Sinkhorn iterations (each updates both potentials).
        mask_a: (B, Pa) bool, True for a real particle; default ``w_a > 0``.
        mask_b: (B, Pb) bool; default ``w_b > 0``.

    Returns:
        (B,) EMD in the units of the weights.
    """
    return _solve(w_a, x_a, w_b, x_b, R, eps, n_iter, mask_a, mask_b)[0]


def sinkhorn_plan(
    w_a: torch.Tensor,
    x_a: torch.Tensor,
    w_b: torch.Tensor,
    x_b: torch.Tensor,
    *,
    R: float = 0.8,
    eps: float = DEFAULT_EPS,
    n_iter: int = DEFAULT_N_ITER,
    mask_a: torch.Tensor | None = None,
    mask_b: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """``sinkhorn_emd`` plus its transport plan, for debugging and display.

    Returns:
        (emd (B,), plan (B, Pa, Pb)) — the plan is in the weights' units, excludes the dummy
        particle, has no gradient, and its row (column) sums equal the weights of the side
        with more (less) energy... precisely: row sums ≤ w_a and column sums ≤ w_b, with
        equality on the side with less total energy and on both sides when balanced.
    """
    return _solve(w_a, x_a, w_b, x_b, R, eps, n_iter, mask_a, mask_b)
