"""Theory-map encoder training resumes exactly: killed right after it saved its state
(``out/last``) and resumed, it ends with the weights and loss history of an uninterrupted
run, bit for bit on the CPU, training only the steps that were left; other settings are
refused."""

from __future__ import annotations

import pytest
import torch

import jetviz.theorymap.train as theorymap_train
from jetviz.errors import JetvizInputError
from jetviz.theorymap.model import EncoderConfig
from jetviz.theorymap.sets import prepare_data
from jetviz.theorymap.train import TrainConfig, train_encoder
from tests.support_resume import Killed, kill_after_saves
from tests.support_theorymap import make_events

torch.set_num_threads(1)

ENCODER = EncoderConfig(set_size=4, hidden=16)


@pytest.mark.parametrize("method", ["contrastive", "neural_embedding"])
def test_an_interrupted_encoder_resumes_to_the_uninterrupted_weights(tmp_path, monkeypatch,
                                                                     method):
    data = prepare_data(make_events(60), seed=0)
    config = TrainConfig(method=method, steps=7, sets_per_theory=4, seed=1)

    def run(out, **kwargs):
        return train_encoder(data, ENCODER, config, device="cpu", out=tmp_path / out,
                             save_every=2, **kwargs)

    full, full_record = run("full")
    with monkeypatch.context() as m:
        kill_after_saves(m, theorymap_train, 2)  # killed after step 4
        with pytest.raises(Killed):
            run("cut")
    saves = kill_after_saves(monkeypatch, theorymap_train, 99)
    resumed, record = run("cut", resume=True)
    assert len(saves) == 2  # after steps 6 and 7 only
    for name, value in full.state_dict().items():
        torch.testing.assert_close(resumed.state_dict()[name], value, rtol=0, atol=0)
    assert record["loss_history"] == full_record["loss_history"]
    with pytest.raises(JetvizInputError, match="other settings"):
        train_encoder(data, ENCODER, TrainConfig(method=method, steps=7, sets_per_theory=8,
                                                 seed=1),
                      device="cpu", out=tmp_path / "cut", resume=True)
