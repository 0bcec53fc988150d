"""The theory-map encoders on the one training path (jetviz.device): a tiny run on
--device cpu records its device and an absent GPU is a clear error."""

from __future__ import annotations

import pytest
import torch

from jetviz.errors import JetvizInputError
from jetviz.theorymap.model import EncoderConfig, SetEncoder
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


def _flat_map(z):
    return z[:, :2]


def _worker(rank: int, root: str) -> None:
    import json
    from pathlib import Path

    from safetensors.torch import save_file

    from jetviz.theorymap.train import run_training

    data = prepare_data(make_events(60), seed=0)
    config = TrainConfig(steps=4, sets_per_theory=4)
    model, _ = train_encoder(data, EncoderConfig(set_size=4, hidden=16), config, device="cpu")
    save_file({k: v.contiguous() for k, v in model.state_dict().items()},
              f"{root}/rank{rank}.safetensors")
    summary = run_training(make_events(60), f"{root}/maps", set_sizes=(4,),
                           methods=("contrastive",), encoder=EncoderConfig(hidden=16),
                           train=config, progress=False, reduce=_flat_map, device="cpu")
    Path(f"{root}/summary{rank}.json").write_text(json.dumps(summary))


def test_two_gloo_processes_keep_identical_encoders_and_one_summary(tmp_path):
    import json

    from safetensors.torch import load_file

    from jetviz.theorymap.checkpoint import load_summary
    from tests.support_device import run_two_processes

    run_two_processes(_worker, str(tmp_path))
    a = load_file(str(tmp_path / "rank0.safetensors"))
    b = load_file(str(tmp_path / "rank1.safetensors"))
    for name in a:
        torch.testing.assert_close(a[name], b[name], rtol=0, atol=0)
    torch.manual_seed(0)
    fresh = SetEncoder(EncoderConfig(set_size=4, hidden=16)).state_dict()
    assert any((fresh[k] - a[k]).abs().max() > 0 for k in a)  # the replicas did train
    s0, s1 = (json.loads((tmp_path / f"summary{r}.json").read_text()) for r in (0, 1))
    assert s0 == s1 and load_summary(tmp_path / "maps")["table"] == s0["table"]
    assert list(s0["table"]["contrastive"]) == ["4"]
