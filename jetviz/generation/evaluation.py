"""What the generation and jet-image pages compute: true vs generated jets, scored.

Vocabulary
----------
* **truth** (:class:`Truth`) of a generator: the real jets of its classes, prepared in its
  VAE's frame (:func:`~jetviz.generation.generators.prepared_truth`), split once (seed
  ``SPLIT_SEED``) into a **reference** half, which generated jets are compared with, and a
  **baseline** half, which gives the truth-vs-truth score of the same batch size.
* **chunks**: n generated jets are drawn as chunks of ``CHUNK`` jets, chunk i of seed s with
  the seed s·100003 + i, so asking for more jets only adds chunks (the pages cache each one).
* **verdict** of an observable: "as good as real data" when the generated W1 lies within two
  standard deviations of the truth-vs-truth W1 (over the JetNet batches), "distinguishable"
  otherwise; observables the frame fixes for true jets
  (:func:`~jetviz.generation.metrics.fixed_by_frame`) are not judged.

Everything here takes and returns arrays and dataclasses; the pages' ``ui/generation.py``
only caches these calls.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from jetviz.generation.generators import Generator, prepared_truth, select_classes
from jetviz.generation.jetnet_metrics import NAMES, SCALES, JetNetScores
from jetviz.generation.metrics import (
    LABELS,
    UNITS,
    FeatureSet,
    Score,
    concatenated,
    feature_set,
    split_real,
    truth_baseline,
    w1_protocol,
)
from jetviz.jets import JetSet

PAGE_OBSERVABLES = ("mass", "pt", "eta", "phi", "multiplicity", "tau21", "tau32",
                    "ptrel", "etarel", "phirel")
TABLE_OBSERVABLES = (*PAGE_OBSERVABLES[:7], "mass_rel", *PAGE_OBSERVABLES[7:])
CHUNK = 5000  # generated jets per chunk
SPLIT_SEED = 7  # which real jets form the reference and the baseline half
METRIC_SEED = 11  # draws the W1 batches
CHUNK_SEED_STRIDE = 100_003  # chunk i of seed s is drawn with s · stride + i
IMAGE_BETAS = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000)  # β [GeV] the image page offers
AS_GOOD, DISTINGUISHABLE, NOT_JUDGED = ("as good as real data", "distinguishable",
                                        "not judged (see below)")


@dataclass(frozen=True)
class Truth:
    """Real jets of the generator's classes in the VAE frame, split in two halves.

    Attributes:
        reference: the half generated jets are compared with (histograms, W1).
        baseline: the other half (truth-vs-truth W1 of the same batch size).
        jet_pt: (N_ref,) jet pT [GeV] of the reference jets.
    """

    reference: FeatureSet
    baseline: FeatureSet
    jet_pt: np.ndarray


def truth_halves(jets: JetSet, classes: Sequence[str], n_particles: int,
                 radius: float) -> Truth:
    """The :class:`Truth` of ``classes`` from ``jets``, with P = ``n_particles``, radius R."""
    chosen = select_classes(jets, tuple(classes))
    particles, mask, jet_pt = prepared_truth(chosen, n_particles)
    ia, ib = split_real(len(chosen), np.random.default_rng(SPLIT_SEED))
    return Truth(feature_set(particles[ia], mask[ia], jet_pt[ia], radius),
                 feature_set(particles[ib], mask[ib], jet_pt[ib], radius), jet_pt[ia])


def chunk_sizes(n: int) -> list[int]:
    """Sizes of the chunks that make n generated jets (all ``CHUNK`` but the last)."""
    return [min(CHUNK, n - i * CHUNK) for i in range(math.ceil(n / CHUNK))]


@dataclass(frozen=True)
class GeneratedChunk:
    """One chunk of generated jets: their feature set and jet pT [GeV] (n,)."""

    features: FeatureSet
    jet_pt: np.ndarray


def generated_chunk(gen: Generator, seed: int, index: int, size: int,
                    beta: float | None = None) -> GeneratedChunk:
    """Chunk ``index`` (``size`` jets) of the jets generated with ``seed`` at β."""
    sample = gen.sample(size, seed=seed * CHUNK_SEED_STRIDE + index, beta=beta)
    return GeneratedChunk(feature_set(sample.particles, sample.mask, sample.jet_pt, gen.radius),
                          sample.jet_pt)


def joined(chunks: Sequence[GeneratedChunk]) -> tuple[FeatureSet, np.ndarray]:
    """The chunks as one feature set, and their jet pT."""
    return (concatenated([c.features for c in chunks]),
            np.concatenate([c.jet_pt for c in chunks]))


def batch_size_for(requested: int, truth: Truth, n_generated: int) -> int:
    """The W1 batch size: as requested, but no larger than either truth half or the
    generated sample."""
    return min(requested, len(truth.reference), len(truth.baseline), n_generated)


def generated_scores(reference: FeatureSet, generated: FeatureSet, batch_size: int,
                     n_batches: int) -> dict[str, dict[str, Score]]:
    """W1 and MMD² of every table observable, generated vs reference (batches seeded)."""
    return w1_protocol(reference, generated, TABLE_OBSERVABLES, n_batches=n_batches,
                       batch_size=batch_size, rng=np.random.default_rng(METRIC_SEED),
                       with_mmd=True)


def baseline_scores(reference: FeatureSet, baseline: FeatureSet, batch_size: int,
                    n_batches: int) -> dict[str, dict[str, Score]]:
    """The same scores truth vs truth (the two halves)."""
    return truth_baseline(reference, baseline, TABLE_OBSERVABLES, n_batches=n_batches,
                          batch_size=batch_size, rng=np.random.default_rng(METRIC_SEED + 1),
                          with_mmd=True)


def verdict(generated: Score, truth: Score) -> str:
    """"as good as real data" when the generated W1 is within 2σ of truth vs truth."""
    return AS_GOOD if generated.mean <= truth.mean + 2 * truth.std else DISTINGUISHABLE


def w1_ratio(generated: Score, truth: Score) -> float:
    """Generated W1 over truth-vs-truth W1 (inf when the latter is 0)."""
    return generated.mean / truth.mean if truth.mean > 0 else float("inf")


def score_rows(generated: Mapping[str, Mapping[str, Score]],
               truth: Mapping[str, Mapping[str, Score]], fixed: Mapping[str, str],
               names: Sequence[str] = TABLE_OBSERVABLES) -> list[dict[str, str]]:
    """The W1 table: per observable W1 (mean ± std) generated and truth vs truth, their
    ratio, the verdict, and MMD² — formatted for display."""
    rows = []
    for name in names:
        g, t = generated[name], truth[name]
        unit = UNITS.get(name, "")
        rows.append({
            "observable": LABELS.get(name, name) + (f" [{unit}]" if unit else ""),
            "W1 generated": f"{g['w1'].mean:.3g} ± {g['w1'].std:.2g}",
            "W1 truth vs truth": f"{t['w1'].mean:.3g} ± {t['w1'].std:.2g}",
            "ratio": "—" if name in fixed else f"{w1_ratio(g['w1'], t['w1']):.2f}",
            "verdict": NOT_JUDGED if name in fixed else verdict(g["w1"], t["w1"]),
            "MMD² generated": f"{g['mmd2'].mean:.2e}",
            "MMD² truth vs truth": f"{t['mmd2'].mean:.2e}",
        })
    return rows


def histogram_values(features: FeatureSet, names: Sequence[str] = PAGE_OBSERVABLES
                     ) -> dict[str, np.ndarray]:
    """name → 1-D values (one per jet, or per real particle) for the histograms."""
    return {name: features.values(name) for name in names}


def beta_grid(beta_min: float, beta_max: float, beta: float) -> list[float]:
    """The values of ``IMAGE_BETAS`` in [beta_min, beta_max], with ``beta`` added, sorted."""
    return sorted({b for b in IMAGE_BETAS if beta_min <= b <= beta_max} | {beta})


def jetnet_column(key: str) -> str:
    """A table column's name with its reported unit: "FPD ×10³"."""
    exponent = str(round(np.log10(SCALES[key])))
    return f"{NAMES[key]} ×10{exponent.translate(str.maketrans('0123456789', '⁰¹²³⁴⁵⁶⁷⁸⁹'))}"


def jetnet_rows(generated: JetNetScores, truth: JetNetScores) -> list[dict[str, str]]:
    """The page's table: a row for generated vs real and one for truth vs truth, each metric
    as "value ± error" in the reported units (column names carry the factor)."""
    rows = []
    for label, s in (("generated vs real", generated), ("truth vs truth", truth)):
        row = {"sample": label, "jets (real / other)": f"{s.n_real:,} / {s.n_other:,}"}
        for key, factor in SCALES.items():
            row[jetnet_column(key)] = getattr(s, key).scaled(factor)
        rows.append(row)
    return rows
