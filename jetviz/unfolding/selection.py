"""Choosing the training epoch by the unfolded marginals on validation events.

The cINN's validation NLL keeps falling long after its unfolded distributions stop improving:
the last epochs of a cosine schedule fit the training events' posteriors ever more sharply
(training NLL 0.37 against validation 1.09 after 40 epochs) while the validation events'
unfolded p_T,j1 drifts away from their truth (W1 ratio 1.64 at epoch 23, 2.32 at 40). The
issue's goals are on the marginals, so the epoch kept is the one whose marginals are best
on the validation events — never the test events the benchmark reports.

:class:`MarginalScore` is built once per training from the validation events and the rest of
the training part. Each epoch it draws ``samples`` posterior samples per validation event
(the same noise every epoch) and unfolds them exactly as the benchmark unfolds the test
sample (:func:`jetviz.unfolding.analysis.unfold_all`: every observable, inclusive and under
each of the talk's cuts), and divides each W1 to the validation truth by the truth-vs-truth
W1 at the same size and by the row's goal (``W1_GOALS``). The score is the worst row:
≤ 1 means every goal is met on the validation events.
"""

from __future__ import annotations

import numpy as np
import torch

from jetviz.unfolding.analysis import Observed, unfold_all, w1_goal, w1_table
from jetviz.unfolding.data import (
    CUTS,
    OBSERVABLES,
    PairedEvents,
    detector_observables,
    parton_observables,
)
from jetviz.unfolding.flow import ConditionalINN
from jetviz.unfolding.summary import posterior_observables


class MarginalScore:
    """Worst (cINN W1 / truth-vs-truth W1) / goal over observables and cuts, on validation."""

    def __init__(self, validation: PairedEvents, y: np.ndarray, phi_ref: np.ndarray,
                 reference: PairedEvents, samples: int = 4, seed: int = 1,
                 baseline_draws: int = 4):
        """
        Args:
            validation: the validation events; y, phi_ref: their detector features and
                reference azimuths (``model_inputs``).
            reference: training events (response and prior of IBU, truth-vs-truth draws).
            samples: posterior samples per validation event; seed: fixes their noise and
                the truth-vs-truth draws.
        """
        self.y, self.phi_ref = y, phi_ref
        self.samples, self.seed, self.draws = samples, seed, baseline_draws
        self.validation = Observed(detector_observables(validation),
                                   parton_observables(validation.parton.astype(np.float64)))
        self.reference = Observed(detector_observables(reference),
                                  parton_observables(reference.parton.astype(np.float64)))

    def rows(self, model: ConditionalINN, batch: int = 2000) -> list[dict]:
        """The benchmark's W1 table (:func:`w1_table`) of ``model`` on the validation events."""
        gen = torch.Generator().manual_seed(self.seed)
        parts = [posterior_observables(model, self.y[i:i + batch], self.phi_ref[i:i + batch],
                                       self.samples, gen)
                 for i in range(0, len(self.y), batch)]
        samples = np.stack([np.concatenate([p[name] for p in parts], axis=1)
                            for name in OBSERVABLES], axis=-1)  # (samples, N, 5)
        results = {cut: unfold_all(self.validation, samples, self.reference, cut,
                                   np.random.default_rng(self.seed), baseline_draws=self.draws)
                   for cut in CUTS}
        return w1_table(results)

    def __call__(self, model: ConditionalINN) -> tuple[float, dict[str, float]]:
        """(score, {"cut | observable": ratio to truth-vs-truth}) of ``model`` (eval mode)."""
        rows = self.rows(model)
        ratios = {f"{r['cut']} | {r['observable']}": r["cINN / baseline"] for r in rows}
        score = max(r["cINN / baseline"] / w1_goal(r["cut"]) for r in rows)
        return score, ratios
