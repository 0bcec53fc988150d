"""`jetviz unfold train|posterior` from the command line on a tiny synthetic file: training
writes a "cinn" checkpoint and its resume state, --resume continues to a longer schedule,
the posterior summary covers the test events, and a bad --resume or sizes given beside
--init are clear errors."""

from __future__ import annotations

import numpy as np

from jetviz import checkpoints
from jetviz.cli import main
from jetviz.unfolding.data import write_pairs
from jetviz.unfolding.summary import read_summary
from tests.support_unfolding import synthetic_pairs


def test_cli_trains_resumes_and_summarises(tmp_path, capsys):
    data = tmp_path / "pairs.h5"
    write_pairs(data, synthetic_pairs(300, np.random.default_rng(0)))
    out = tmp_path / "cinn"
    train = ["unfold", "train", "--data", str(data), "--out", str(out), "--n-test", "50",
             "--batch-size", "128", "--transforms", "2", "--hidden", "8", "--context", "4",
             "--no-progress"]
    assert main([*train, "--epochs", "1"]) == 0
    assert main([*train, "--epochs", "2", "--resume"]) == 0
    record = checkpoints.read_config(out, "cinn")["record"]
    assert [h["epoch"] for h in record["history"]] == [1, 2]
    assert "--resume" in record["commands"][1] and "--resume" not in record["commands"][0]
    assert "optimizer" in checkpoints.read_config(out / "last", "cinn")
    summary = tmp_path / "posterior.h5"
    assert main(["unfold", "posterior", "--data", str(data), "--model", str(out), "--events",
                 "20", "--samples", "10", "--keep", "2", "--out", str(summary)]) == 0
    pit, samples, attrs = read_summary(summary)
    assert pit.shape == (20, 5) and samples.shape == (2, 20, 5)
    assert ((pit >= 0) & (pit <= 1)).all() and attrs["n_samples"] == 10
    assert main([*train, "--epochs", "1", "--resume", "--out", str(tmp_path / "none")]) == 2
    assert "does not exist; train first" in capsys.readouterr().err
    # a run from a checkpoint takes the checkpoint's sizes: sizes given as well are an error
    assert main([*train, "--epochs", "1", "--init", str(out), "--out",
                 str(tmp_path / "init")]) == 2
    assert "fixes the model's sizes; drop --transforms, --hidden, --context" in (
        capsys.readouterr().err)
    assert not (tmp_path / "init").exists()
