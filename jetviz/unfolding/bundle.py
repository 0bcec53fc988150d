"""The three files the Unfolding page reads, as one bundle, and what it computes from them.

A bundle directory (shipped: checkpoints/unfolding/) holds

  zw_events.h5   paired events (``jetviz unfold generate``; :mod:`jetviz.unfolding.data`)
  cinn/          the cINN (``jetviz unfold train``; :mod:`jetviz.unfolding.checkpoint`), whose
                 record says how many of the file's last events are the test sample
  posterior.h5   the posterior summary of the first N test events (``jetviz unfold
                 posterior``; :mod:`jetviz.unfolding.summary`)

:func:`read_bundle` gives the observables of the training sample and of those N test
events, the test events' detector features and reference azimuths (the cINN's condition),
their PITs and kept posterior samples.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from jetviz.errors import JetvizInputError
from jetviz.unfolding.analysis import Observed
from jetviz.unfolding.data import (
    OBSERVABLES,
    detector_observables,
    parton_observables,
    read_pairs,
)
from jetviz.unfolding.flow import ConditionalINN
from jetviz.unfolding.metrics import QUANTILES, coverage
from jetviz.unfolding.representation import model_inputs
from jetviz.unfolding.summary import posterior_observables, read_summary

DATA, MODEL, SUMMARY = "zw_events.h5", "cinn", "posterior.h5"


def modified_ns(directory: str | os.PathLike) -> tuple[int, int, int]:
    """Modification times (ns) of the bundle's data, model weights and summary: a cache key.

    Raises:
        JetvizInputError: a file is missing (the message names it).
    """
    directory = Path(directory)
    stamps = []
    for path in (directory / DATA, directory / MODEL / "model.safetensors",
                 directory / SUMMARY):
        if not path.exists():
            raise JetvizInputError(f"{path} is missing")
        stamps.append(path.stat().st_mtime_ns)
    return stamps[0], stamps[1], stamps[2]


@dataclass(frozen=True)
class Bundle:
    """What the page shows of a bundle (N = summarised test events).

    Attributes:
        test, train: per-event observables at detector and parton level.
        y: (N, F) detector features of the test events; phi_ref: (N,) their azimuths.
        pit: (N, 5) PIT of each true observable under its posterior (order OBSERVABLES).
        samples: (keep, N, 5) kept posterior samples' observables.
        summary_attrs, data_attrs: the summary and event files' attributes.
    """

    test: Observed
    train: Observed
    y: np.ndarray
    phi_ref: np.ndarray
    pit: np.ndarray
    samples: np.ndarray
    summary_attrs: dict
    data_attrs: dict

    def coverages(self) -> dict[str, np.ndarray]:
        """{observable: c(q) at q = metrics.QUANTILES} of the test sample's posteriors."""
        return {name: coverage(self.pit[:, k], QUANTILES) for k, name in enumerate(OBSERVABLES)}


def read_bundle(directory: str | os.PathLike, n_test: int) -> Bundle:
    """Read the paired events and the posterior summary of a bundle.

    Args:
        n_test: the cINN's test-sample size (its record's ``n_test``).
    """
    directory = Path(directory)
    events = read_pairs(directory / DATA)
    train, test = events.split(n_test)
    pit, samples, attrs = read_summary(directory / SUMMARY)
    if len(pit) > len(test):
        raise JetvizInputError(f"{SUMMARY} has {len(pit)} events but the test sample only "
                               f"{len(test)}; rerun `jetviz unfold posterior`")
    test = test.subset(slice(0, len(pit)))  # the summarised test events
    _, y, phi_ref = model_inputs(test)
    return Bundle(Observed(detector_observables(test), parton_observables(test.parton)),
                  Observed(detector_observables(train), parton_observables(train.parton)),
                  y, phi_ref, pit, samples, attrs, events.attrs)


def event_posterior(model: ConditionalINN, bundle: Bundle, index: int, n: int, seed: int
                    ) -> dict[str, np.ndarray]:
    """``n`` posterior samples of test event ``index``: {observable: (n,)}, seeded."""
    if not 0 <= index < len(bundle.y):
        raise JetvizInputError(f"test event {index}: the bundle has {len(bundle.y)}")
    gen = torch.Generator().manual_seed(seed)
    obs = posterior_observables(model, bundle.y[index:index + 1],
                                bundle.phi_ref[index:index + 1], n, gen)
    return {k: v[:, 0] for k, v in obs.items()}
