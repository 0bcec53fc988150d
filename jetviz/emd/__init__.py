"""Energy Mover's Distance between jets: exact (transportation simplex) and Sinkhorn (torch).

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

Exact path (:mod:`jetviz.emd.exact`): ``emd`` (one pair),
``pairwise_emds`` and ``paired_emds`` (many pairs, on threads: :mod:`jetviz.emd.threads`),
jetviz's transportation simplex (:mod:`jetviz.emd.transport`, driven many problems at a time
by :mod:`jetviz.emd.transport_batches`), with ``emd_pot`` (POT's ``ot.emd2``) as the
cross-check. Differentiable paths, batched in torch, share the balanced problem and the
Lagrangian gradient of :mod:`jetviz.emd.balance`:

* ``exact_emd_torch`` (:mod:`jetviz.emd.exact_torch`): the exact EMD (its value is the
  optimum, never negative) with the gradient of the Lagrangian at the exact primal-dual
  solution (plan for the positions, dual potentials for the weights). What training and the
  β slider use.
* ``sinkhorn_emd`` (log-stabilised Sinkhorn, Cuturi arXiv:1306.0895) and ``sinkhorn_plan``
  (the same, with its transport plan), in :mod:`jetviz.emd.sinkhorn`: an entropic
  approximation whose value is a lower bound (clipped at 0). ``benchmarks/emd.py`` prints
  both against exact POT on real and on slightly perturbed jets.
"""

from jetviz.emd.exact import emd, emd_pot, events_from_jets, paired_emds, pairwise_emds
from jetviz.emd.exact_torch import exact_emd_torch
from jetviz.emd.sinkhorn import sinkhorn_emd, sinkhorn_plan

__all__ = [
    "emd",
    "emd_pot",
    "events_from_jets",
    "exact_emd_torch",
    "paired_emds",
    "pairwise_emds",
    "sinkhorn_emd",
    "sinkhorn_plan",
]
