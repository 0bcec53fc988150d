"""The balanced transport problem behind the differentiable EMDs, and their gradient.

Vocabulary
----------
Particle sets come in batches: weights ``w`` (B, P) ≥ 0 (e.g. pT in GeV, 0 on padding) and
positions ``x`` (B, P, 2) = (eta, phi); ``mask`` (B, P) is True for a real particle. The EMD
(energyflow definition, see :mod:`jetviz.emd`) of a pair is solved as a **balanced** problem:
the lighter side gets a **dummy** slot carrying the energy difference at zero cost to
everything, the weights are normalised by ``mass`` = max(ΣE, ΣE') into marginals α, β that
each sum to 1, and EMD = mass · <P, θ/R> + |ΣE − ΣE'| for the optimal plan P.

The gradient of both solvers (:mod:`jetviz.emd.sinkhorn`, :mod:`jetviz.emd.exact_torch`) is
that of the Lagrangian at their primal-dual solution (:func:`with_lagrangian_gradient`).
"""

from __future__ import annotations

import torch


def ground_cost(x_a: torch.Tensor, x_b: torch.Tensor, R: float,
                floor: float = 1e-20) -> torch.Tensor:
    """θ_ij / R, the (eta, phi) distance over R.  (B, Pa, 2), (B, Pb, 2) -> (B, Pa, Pb).

    ``floor`` bounds the squared distance from below: sqrt has an infinite derivative at 0,
    and the floor gives coincident particles a zero gradient instead of NaN (the EMD's own
    subgradient there includes 0). A solver that wants exact costs passes 0.
    """
    # the two coordinates added by hand: a sum over a last axis of length 2 is several
    # times slower on the CPU than this, forward and backward
    d_eta = x_a[:, :, None, 0] - x_b[:, None, :, 0]
    d_phi = x_a[:, :, None, 1] - x_b[:, None, :, 1]
    d2 = d_eta.square() + d_phi.square()  # (B, Pa, Pb)
    return d2.clamp_min(floor).sqrt() / R


def check_inputs(
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


def prepare(
    w_a: torch.Tensor, x_a: torch.Tensor, w_b: torch.Tensor, x_b: torch.Tensor,
    mask_a: torch.Tensor | None, mask_b: torch.Tensor | None,
) -> tuple[tuple[torch.Tensor, ...], torch.Tensor, torch.Tensor, bool]:
    """Checked inputs in the solvers' precision, boolean masks, and whether a gradient is wanted.

    A particle of zero weight carries nothing: it is treated as padding. The precision is at
    least float32 (half precision turns the distance floor into 0, and a NaN gradient).
    Returns ((w_a, x_a, w_b, x_b), mask_a (B, Pa), mask_b (B, Pb), wants_grad).
    """
    check_inputs(w_a, x_a, w_b, x_b)
    mask_a = w_a > 0 if mask_a is None else mask_a.bool() & (w_a > 0)
    mask_b = w_b > 0 if mask_b is None else mask_b.bool() & (w_b > 0)
    dtype = torch.promote_types(torch.promote_types(w_a.dtype, x_a.dtype), torch.float32)
    inputs = (w_a, x_a, w_b, x_b)
    wants_grad = torch.is_grad_enabled() and any(t.requires_grad for t in inputs)
    return tuple(t.to(dtype) for t in inputs), mask_a, mask_b, wants_grad


def augment(
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
    cost = torch.nn.functional.pad(ground_cost(x_a, x_b, R), (0, 1, 0, 1))  # dummy: 0
    return alpha, beta, m_a, m_b, cost, mass, (e_a - e_b).abs()


def with_lagrangian_gradient(
    value: torch.Tensor, f: torch.Tensor, g: torch.Tensor, plan: torch.Tensor,
    alpha: torch.Tensor, beta: torch.Tensor, cost: torch.Tensor, mass: torch.Tensor,
    imbalance: torch.Tensor,
) -> tuple[torch.Tensor, torch.Tensor]:
    """``value`` (B,) carrying the gradient of the Lagrangian at (f, g, plan), and the plan.

    The Lagrangian <P, C> + <f, α − P1> + <g, β − Pᵀ1> at a primal-dual solution has
    d/dC = P (hence the positions' gradient), d/dα = f, d/dβ = g (the weights'): the EMD's
    gradient when the solution is optimal. Inputs are those of ``augment`` plus the
    solution (no grad); returns (EMD (B,), plan (B, Pa, Pb) in GeV without the dummy).
    """
    lagrangian = (f * alpha).sum(1) + (g * beta).sum(1)
    lagrangian = lagrangian + (plan * (cost - f[:, :, None] - g[:, None, :])).sum((1, 2))
    surrogate = mass * lagrangian + imbalance
    emd = value + (surrogate - surrogate.detach())
    return emd, mass.detach()[:, None, None] * plan[:, :-1, :-1]
