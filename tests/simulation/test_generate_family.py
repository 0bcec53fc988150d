"""``jetviz generate family``: the file holds the family asked for (its spreads are the scales,
by exact EMD), records the command, and bad scales write nothing."""

from __future__ import annotations

import json

import numpy as np
import pytest

from jetviz import cli
from jetviz.readers.store import read_jets
from jetviz.simulation.jet_families import family_jets, spreads
from jetviz.vae.flat import emd_extent

SCALES = {"separation": 90.0, "sharing": 3.0, "split": 0.1}


def test_a_family_file_round_trips_with_its_scales_and_command(tmp_path):
    out = tmp_path / "family.h5"
    assert cli.main(["generate", "family", "--scales", "separation=90", "sharing=3",
                     "split=0.1", "--jets", "50", "--seed", "4", "--out", str(out)]) == 0
    jets = read_jets(out)
    again = family_jets(50, SCALES, np.random.default_rng(4))
    np.testing.assert_array_equal(jets.particles, again.particles)  # the seed fixes the jets
    assert jets.class_names == ("family",) and jets.radius == pytest.approx(0.8)
    attrs = jets.attrs
    assert json.loads(attrs["scales"]) == SCALES and attrs["seed"] == 4
    assert attrs["command"] == (f"jetviz generate family --scales separation=90 sharing=3 "
                                f"split=0.1 --jets 50 --seed 4 --out {out}")
    ranges = {k: tuple(v) for k, v in json.loads(attrs["parameter_ranges"]).items()}
    for name, got in spreads(ranges, 3).items():  # exact EMD between the ranges' end jets
        assert got == pytest.approx(SCALES[name], rel=2e-3)
    assert list(tmp_path.iterdir()) == [out]  # no temporary file left


def test_a_one_parameter_file_spreads_by_its_scale(tmp_path):
    # the largest exact EMD among the jets read back is the scale (uniform draws reach
    # within ~1/N of the range's ends)
    out = tmp_path / "one.h5"
    assert cli.main(["generate", "family", "--scales", "separation=40", "--jets", "300",
                     "--out", str(out)]) == 0
    jets = read_jets(out)
    assert jets.n_particles == 2
    assert emd_extent(jets, np.random.default_rng(0)) == pytest.approx(40.0, rel=0.02)


@pytest.mark.parametrize(("scales", "message"), [
    (["separation=0"], "must be in (0, 500]"),
    (["separation=90", "sharing=-3"], "must be in (0, 500]"),
    (["separation=900"], "must be in (0, 500]"),
    (["separation=400"], "separation 400 GeV (at most ≈ 341)"),
    (["separation=330", "sharing=100", "split=100"], "no family has the spreads"),
    (["separation=90", "width=3"], "unknown parameter 'width'"),
    (["sharing=3"], "sets separation, got sharing"),
    (["separation"], "expected NAME=GEV"),
    (["separation=big"], "expected NAME=GEV"),
    (["separation=9", "separation=3"], "given twice"),
])
def test_bad_scales_are_refused_and_write_nothing(tmp_path, capsys, scales, message):
    out = tmp_path / "bad.h5"
    assert cli.main(["generate", "family", "--scales", *scales, "--out", str(out)]) == 2
    assert message in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []
