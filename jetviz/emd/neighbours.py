"""Nearest neighbours of a jet by the exact energy mover's distance.

Vocabulary
----------
A **query** is one jet of a JetSet; its **candidates** are other jets of the same set (a
pool, e.g. the first 2,000 of its class). The distance is the exact EMD of
:func:`jetviz.emd.pairwise_emds` between the jets as stored (particle weights ptrel × jet pT
in GeV, positions (etarel, phirel) about each jet's own axis), so two jets are near when the
same amount of pT sits at the same place around the axis:
EMD(E, E') = min_f Σ f_ij θ_ij / R + |ΣE − ΣE'| (Komiske, Metodiev, Thaler, arXiv:1902.02346).
"""

from __future__ import annotations

import numpy as np

from jetviz.emd import pairwise_emds
from jetviz.errors import JetvizInputError
from jetviz.jets import JetSet


def nearest_by_emd(jets: JetSet, query: int, candidates: np.ndarray, k: int = 5,
                   ) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` candidates nearest to jet ``query`` by exact EMD (the query itself excluded).

    Args:
        jets: the jets.
        query: the index of the query jet in ``jets``.
        candidates: (C,) indices of the jets to search.
        k: how many neighbours.

    Returns:
        (indices (k,), EMDs (k,) in GeV), nearest first; fewer if there are fewer candidates.
    """
    if not 0 <= query < len(jets):
        raise JetvizInputError(f"jet {query} does not exist; pick one of 0…{len(jets) - 1}")
    pool = np.asarray([c for c in np.asarray(candidates, dtype=np.int64) if c != query])
    if pool.size == 0:
        return np.zeros(0, np.int64), np.zeros(0)
    dist = pairwise_emds(jets.subset(np.array([query])), jets.subset(pool), R=jets.radius,
                         n_jobs=1)[0]
    order = np.argsort(dist, kind="stable")[:k]
    return pool[order], dist[order]
