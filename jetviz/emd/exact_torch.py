"""The exact EMD between batches of jets in torch, with its Lagrangian gradient:
``exact_emd_torch``, what training and the β slider use.

Vocabulary as in :mod:`jetviz.emd.balance`: weights ``w`` (B, P) in GeV, positions ``x``
(B, P, 2) = (eta, phi), masks (B, P); the EMD definition is in :mod:`jetviz.emd`. The
balanced problems are solved on the CPU in float64 by jetviz's transportation simplex
(:mod:`jetviz.emd.transport_batches`), the batch split over threads (:mod:`jetviz.emd.threads`).
"""

from __future__ import annotations

import numpy as np
import torch

from jetviz.emd import transport, transport_batches
from jetviz.emd.balance import augment, prepare, with_lagrangian_gradient
from jetviz.emd.threads import compiled_alone, row_chunks, run

__all__ = ["exact_emd_torch"]


def _exact_plans(
    w_a: np.ndarray, x_a: np.ndarray, w_b: np.ndarray, x_b: np.ndarray, R: float, n_jobs: int
) -> tuple[np.ndarray, ...]:
    """(EMD (B,), f (B, Pa+1), g (B, Pb+1), plan (B, Pa+1, Pb+1)) of a batch, on threads.

    Weights are float64 with 0 on padding; each pair's balanced problem is built and solved in
    numba (:func:`jetviz.emd.transport_batches.plans_of_batch`), the rows split over threads.
    """
    w_a, x_a, w_b, x_b = (np.ascontiguousarray(v, dtype=np.float64) for v in (w_a, x_a, w_b, x_b))
    size, pa, pb = len(w_a), w_a.shape[1], w_b.shape[1]
    value = np.zeros(size)
    f, g = np.zeros((size, pa + 1)), np.zeros((size, pb + 1))
    plan = np.zeros((size, pa + 1, pb + 1))
    status = np.zeros(size, np.int64)
    max_pivots = transport_batches.PIVOTS_PER_NODE * (pa + pb + 2)

    def part(lo: int, hi: int) -> None:
        with compiled_alone(transport_batches.plans_of_batch):
            transport_batches.plans_of_batch(w_a, x_a, w_b, x_b, float(R), lo, hi, max_pivots,
                                             value, f, g, plan, status)

    chunks = row_chunks([1] * size, n_jobs)
    run([lambda lo=lo, hi=hi: part(lo, hi) for lo, hi in chunks], n_jobs)
    if (status != transport.OPTIMAL).any():
        bad = int(np.flatnonzero(status != transport.OPTIMAL)[0])
        raise RuntimeError(f"exact_emd_torch: the transport simplex did not finish pair {bad} "
                           f"within {max_pivots} pivots; check the inputs for extreme values")
    return value, f, g, plan


def exact_emd_torch(
    w_a: torch.Tensor,
    x_a: torch.Tensor,
    w_b: torch.Tensor,
    x_b: torch.Tensor,
    *,
    R: float = 0.8,
    mask_a: torch.Tensor | None = None,
    mask_b: torch.Tensor | None = None,
    n_jobs: int = 1,
) -> torch.Tensor:
    """Batched, differentiable exact EMD (energyflow definition, see :mod:`jetviz.emd`).

    The **value** is the optimum of the EMD's linear program, found by jetviz's
    transportation simplex on the CPU (float64): exact (it equals POT's ``ot.emd2`` to
    float rounding), never negative, right at small distances. The **gradient** is that of
    the Lagrangian at the optimal primal-dual solution, as in :func:`sinkhorn_emd`: the
    optimal plan for the ground costs (hence the positions) and the dual potentials for the
    weights. Where the optimum is degenerate (e.g. identical jets) the EMD is not
    differentiable and this is one of its subgradients. Particles of zero weight count as
    padding. A drop-in for :func:`sinkhorn_emd` without ``eps``/``n_iter``; inputs on a GPU
    are solved on the CPU and the result returned on their device.

    Args:
        w_a: (B, Pa) non-negative weights (e.g. pT in GeV), 0 on padding.
        x_a: (B, Pa, 2) (eta, phi) positions.
        w_b: (B, Pb) weights of the second sets.
        x_b: (B, Pb, 2) positions of the second sets.
        R: jet radius dividing the angular distance.
        mask_a: (B, Pa) bool, True for a real particle; default ``w_a > 0``.
        mask_b: (B, Pb) bool; default ``w_b > 0``.
        n_jobs: CPU threads solving the batch's problems.

    Returns:
        (B,) EMD in the units of the weights.
    """
    inputs, mask_a, mask_b, wants_grad = prepare(w_a, x_a, w_b, x_b, mask_a, mask_b)
    with torch.autocast(w_a.device.type, enabled=False):
        w_a, x_a, w_b, x_b = inputs
        with torch.no_grad():
            # the solver's problem in float64 from the inputs, with exact costs (no
            # ground_cost 1e-20 floor, a gradient guard that would put 1e-10/R between
            # coincident particles), built and solved in numba
            solved = _exact_plans(
                *(v.detach().cpu().double().numpy() for v in (
                    torch.where(mask_a, w_a, 0.0), x_a, torch.where(mask_b, w_b, 0.0), x_b)),
                R, n_jobs)
            value = torch.from_numpy(solved[0]).to(w_a.device, w_a.dtype)
            if not wants_grad:
                return value  # no gradient wanted: the Lagrangian is not needed
            f, g, plan = (torch.from_numpy(v).to(w_a.device, w_a.dtype) for v in solved[1:])
        alpha, beta, _, _, cost, mass, imbalance = augment(w_a, x_a, w_b, x_b, mask_a, mask_b, R)
        return with_lagrangian_gradient(value, f, g, plan, alpha, beta, cost, mass,
                                        imbalance)[0]
