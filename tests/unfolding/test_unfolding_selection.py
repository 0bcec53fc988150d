"""Choosing the cINN's epoch: by the unfolded marginals on the validation events (the worst
W1 ratio over observables and cuts, relative to its goal) or by the validation NLL; the
validation events are neither training nor test events; the score is reproducible; a run can
start from a checkpoint (its epoch 0); AdamW's weight decay and the summary's dropout are
checked settings, and without dropout the weights keep their names (older checkpoints
load)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from jetviz.errors import JetvizInputError
from jetviz.unfolding.analysis import w1_goal
from jetviz.unfolding.data import CUTS, OBSERVABLES
from jetviz.unfolding.flow import CINNConfig, ConditionalINN
from jetviz.unfolding.representation import model_inputs
from jetviz.unfolding.selection import MarginalScore
from jetviz.unfolding.training import TrainConfig, train_cinn
from tests.support_unfolding import synthetic_pairs

torch.set_num_threads(1)

MODEL = CINNConfig(transforms=2, hidden=8, context=4, summary_hidden=8)


def _events():
    return synthetic_pairs(300, np.random.default_rng(0))


@pytest.mark.parametrize("select", ["w1", "nll"])
def test_the_kept_epoch_is_the_best_by_the_chosen_criterion(tmp_path, select):
    config = TrainConfig(n_test=50, epochs=3, batch_size=64, lr=0.01, select=select,
                         weight_decay=0.01)
    record = train_cinn(_events(), tmp_path, config, MODEL, progress=False, device="cpu")
    history = record["history"]
    key = "val_w1_score" if select == "w1" else "val_nll"
    assert record["best_epoch"] == 1 + int(np.argmin([h[key] for h in history]))
    # the validation events are the training part's last 10 %: disjoint from the test events
    assert record["n_train"] + record["n_val"] + record["n_test"] == 300
    if select == "w1":
        ratios = history[0]["val_w1_ratios"]
        assert len(ratios) == len(CUTS) * len(OBSERVABLES)
        assert history[0]["val_w1_score"] == pytest.approx(max(
            r / w1_goal(name.split(" | ")[0]) for name, r in ratios.items()))
    else:
        assert "val_w1_score" not in history[0]


def test_the_score_is_reproducible_and_reads_the_validation_events_only():
    events = _events()
    x, y, phi_ref = model_inputs(events)
    torch.manual_seed(0)
    model = ConditionalINN(CINNConfig(**{**MODEL.__dict__, "features": x.shape[1],
                                         "condition": y.shape[1]}))
    model.set_standardisation(x, y)
    model.eval()
    score = MarginalScore(events.subset(slice(200, 300)), y[200:], phi_ref[200:],
                          events.subset(slice(0, 200)), samples=3)
    first, ratios = score(model)
    assert score(model) == (first, ratios)
    assert all(r >= 0 for r in ratios.values()) and first > 0
    with pytest.raises(JetvizInputError, match="detector features"):
        MarginalScore(events.subset(slice(200, 300)), y[200:, :5], phi_ref[200:],
                      events.subset(slice(0, 200)))(model)


def test_bad_settings_are_clear_errors():
    with pytest.raises(JetvizInputError, match="select"):
        TrainConfig(select="loss")
    with pytest.raises(JetvizInputError, match="weight_decay"):
        TrainConfig(weight_decay=-1.0)
    with pytest.raises(JetvizInputError, match="summary_dropout"):
        CINNConfig(summary_dropout=1.0)


def test_dropout_acts_in_training_only_and_its_absence_keeps_the_weight_names():
    plain = ConditionalINN(CINNConfig(features=4, condition=3, context=5, summary_hidden=8,
                                      transforms=2, hidden=8, bins=4))
    assert {k for k in plain.state_dict() if k.startswith("summary.")} == {
        f"summary.{i}.{p}" for i in (0, 2, 4) for p in ("weight", "bias")}
    torch.manual_seed(0)
    model = ConditionalINN(CINNConfig(features=4, condition=3, context=5, summary_hidden=8,
                                      transforms=2, hidden=8, bins=4, summary_dropout=0.5))
    y = torch.randn(16, 3)
    model.train()
    assert not torch.equal(model.context(y), model.context(y))
    model.eval()
    assert torch.equal(model.context(y), model.context(y))


def test_init_starts_from_a_checkpoint_as_epoch_0_and_refuses_another_split(tmp_path):
    config = TrainConfig(n_test=50, epochs=1, batch_size=64)
    first = train_cinn(_events(), tmp_path / "a", config, MODEL, progress=False, device="cpu")
    again = train_cinn(_events(), tmp_path / "b", TrainConfig(n_test=50, epochs=1,
                                                               batch_size=64, lr=1e-4),
                       MODEL, command="again", progress=False, device="cpu",
                       init=tmp_path / "a")
    epoch0 = again["history"][0]
    assert epoch0["epoch"] == 0 and [h["epoch"] for h in again["history"]] == [0, 1]
    assert epoch0["val_nll"] == pytest.approx(first["best_val_nll"], rel=1e-6)
    assert again["commands"] == ["", "again"] and again["init_history"] == first["history"]
    with pytest.raises(JetvizInputError, match="would be validation or test events"):
        train_cinn(_events(), tmp_path / "c", TrainConfig(n_test=60, epochs=1), MODEL,
                   progress=False, device="cpu", init=tmp_path / "a")
