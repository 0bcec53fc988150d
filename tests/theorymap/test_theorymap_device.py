"""The theory-map encoders on the one training path (jetviz.device): a tiny run on
--device cpu records its device and an absent GPU is a clear error."""

from __future__ import annotations

import pytest
import torch

from jetviz.errors import JetvizInputError
from jetviz.theorymap.model import EncoderConfig
from jetviz.theorymap.sets import prepare_data
from jetviz.theorymap.train import TrainConfig, train_encoder
from tests.support_device import ABSENT
from tests.support_theorymap import make_events

torch.set_num_threads(1)


@pytest.mark.parametrize("method", ["contrastive", "autoencoder"])
def test_encoder_trains_on_the_cpu_and_refuses_an_absent_gpu(method):
    data = prepare_data(make_events(60), seed=0)
    config = TrainConfig(method=method, steps=4, sets_per_theory=4)
    model, record = train_encoder(data, EncoderConfig(set_size=4, hidden=16), config,
                                  device="cpu")
    assert record["device"] == "cpu" and record["world_size"] == 1
    assert all(p.device.type == "cpu" for p in model.parameters())
    assert all(torch.isfinite(torch.tensor(record["loss_history"])))
    with pytest.raises(JetvizInputError, match="CUDA GPU"):
        train_encoder(data, EncoderConfig(set_size=4, hidden=16), config, device=ABSENT)
