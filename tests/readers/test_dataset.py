"""The data set described for the pages: summary rows, the truncation sentence, per-jet
observables, and per-class views that agree with computing them by hand."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from jetviz.dataset import (
    class_average_image,
    class_count_text,
    class_neighbours,
    data_set_summary,
    jet_observables,
    observables_of_jet,
    truncation_text,
)
from jetviz.emd import emd, events_from_jets
from jetviz.jets import JetSet
from tests.conftest import make_jetset


def _one_class(jets: JetSet, label: int) -> JetSet:
    return dataclasses.replace(jets, labels=np.full(len(jets), label))


def test_class_count_text_counts_only_present_classes():
    jets = make_jetset(60, 8, seed=1)
    assert class_count_text(jets) == f"{len(jets.present_classes())} classes"
    assert class_count_text(_one_class(jets, 3)) == "1 class: w"


def test_summary_rows_shares_and_provenance():
    jets = dataclasses.replace(make_jetset(50, 8, seed=2), attrs={
        "kind": "jetviz-jets", "schema_version": 1, "command": "jetviz generate --n 50",
        "versions": json.dumps({"pythia": "8.3", "fastjet": "3.4"}),
        "settings": json.dumps({"cuts": {"pt": [500, 1000]}}), "seed": 7})
    summary = data_set_summary(jets)
    assert sum(row["jets"] for row in summary.classes) == 50
    assert sum(float(row["share"].rstrip(" %")) for row in summary.classes) == pytest.approx(
        100, abs=0.3)
    fields = {row["field"]: row["value"] for row in summary.provenance}
    assert fields == {"versions": "pythia 8.3, fastjet 3.4", "seed": "7"}  # kind etc. hidden
    assert summary.details == {"settings": {"cuts": {"pt": [500, 1000]}}}
    assert summary.command == "jetviz generate --n 50"


def test_truncation_text_says_what_was_cut_and_only_then():
    jets = make_jetset(30, 8, seed=3)
    counted = []

    def count(total):
        return lambda: counted.append(total) or total

    capped = dataclasses.replace(jets, attrs={"capped_at": 30, "n_rows_in_file": 1000})
    assert "first 30 jets of the 1,000" in truncation_text(capped, 30, None)
    assert truncation_text(jets, 30, None) is None  # an upload: the readers say if it was cut
    assert truncation_text(jets, 31, count(500)) is None and counted == []  # under the cap
    assert truncation_text(jets, 30, count(30)) is None  # the whole file was read
    assert "first 30 jets of the 500 in the file" in truncation_text(jets, 30, count(500))
    assert "first 30 jets were read" in truncation_text(jets, 30, count(None))


def test_observables_keep_the_stored_jet_and_measure_the_particles():
    jets = make_jetset(20, 10, seed=4)
    collinear = jets.particles.copy()
    collinear[..., 1:] = 0.0  # every particle on the jet axis: a massless jet
    jets = dataclasses.replace(jets, particles=collinear)
    values = jet_observables(jets)
    np.testing.assert_array_equal(values["mass"], jets.jets[:, 3])  # the file's own mass
    np.testing.assert_allclose(values["mass_p"], 0.0, atol=1e-3)
    assert all(v.shape == (20,) for v in values.values())


def test_observables_of_a_jet_are_its_row_within_its_class():
    jets = make_jetset(40, 10, seed=5)
    values = jet_observables(jets)
    name = jets.present_classes()[-1]
    rows = np.flatnonzero(jets.labels == jets.class_names.index(name))
    row = observables_of_jet(values, jets, name, len(rows) - 1)
    assert row["pt"] == pytest.approx(jets.jets[rows[-1], 0])
    assert row["stored"] == jets.mask[rows[-1]].sum()


@pytest.mark.parametrize("aligned", [False, True])
def test_average_image_of_one_class_holds_its_mean_pt_fraction(aligned):
    jets = _one_class(make_jetset(30, 10, seed=6), 2)
    jets = dataclasses.replace(jets, particles=jets.particles * [1.0, 0.3, 0.3])  # inside R
    image = class_average_image(jets, "t", 25, aligned)
    assert image.shape == (25, 25) and (image >= 0).all()
    assert image.sum() == pytest.approx(jets.particles[..., 0].sum(1).mean(), rel=1e-4)


def test_neighbours_are_the_nearest_by_exact_emd_and_exclude_the_jet():
    jets = _one_class(make_jetset(25, 8, seed=7), 0)
    near, dist = class_neighbours(jets, "g", 3, k=4, pool=20)
    events = events_from_jets(jets)
    brute = np.array([emd(events[3], events[j], R=jets.radius) for j in range(20)])
    brute[3] = np.inf
    np.testing.assert_array_equal(near, np.argsort(brute, kind="stable")[:4])
    np.testing.assert_allclose(dist, np.sort(brute)[:4], atol=1e-9)
