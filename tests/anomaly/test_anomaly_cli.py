"""`jetviz anomaly train` from the command line: trains, records its command, resumes to a
longer schedule, and fails with a clear message on a bad checkpoint."""

from __future__ import annotations

import dataclasses
import sys

from jetviz import checkpoints
from jetviz.cli import main
from jetviz.readers.store import write_jets
from tests.conftest import make_jetset


def _run(monkeypatch, *args: str) -> int:
    argv = ["jetviz", "anomaly", *args]
    monkeypatch.setattr(sys, "argv", argv)
    return main(argv[1:])


def test_cli_trains_resumes_and_records_commands(tmp_path, monkeypatch):
    jets = tmp_path / "jets.h5"
    write_jets(jets, dataclasses.replace(make_jetset(n=1500, p=10, seed=9),
                                         attrs={"generator": "make_jetset"}))
    out = tmp_path / "ae"
    common = ["--jets", str(jets), "--out", str(out), "--n-train", "150", "--n-val", "50",
              "--n-select", "50", "--batch-size", "64", "--threads", "1", "--no-progress"]
    assert _run(monkeypatch, "train", "--ae-epochs", "1", *common) == 0
    assert _run(monkeypatch, "train", "--resume", "--ae-epochs", "2", *common) == 0
    record = checkpoints.read_config(out / "last", "anomaly")["record"]
    assert record["epoch"] == 2
    assert len(record["commands"]) == 2 and "--resume" in record["commands"][1]
    assert record["commands"][0].startswith("jetviz anomaly train --ae-epochs 1")
    assert _run(monkeypatch, "score", "--model", str(out), "--jets", str(jets)) == 0


def test_cli_reports_a_bad_checkpoint(tmp_path, monkeypatch, capsys):
    assert _run(monkeypatch, "score", "--model", str(tmp_path)) == 2
    assert "not a 'anomaly' checkpoint" in capsys.readouterr().err
