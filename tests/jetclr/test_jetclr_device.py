"""JetCLR on the one training path (jetviz.device): a tiny run on --device cpu records its
device, an absent GPU is a clear error, and 2 gloo processes end with identical weights that
equal the one-process supervised run (its loss is a mean over jets, split between them)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file

from jetviz.errors import JetvizInputError
from jetviz.jetclr.model import EncoderConfig
from jetviz.jetclr.train import TrainConfig, train
from tests.conftest import make_jetset
from tests.support_device import ABSENT, run_two_processes

torch.set_num_threads(1)

TINY = EncoderConfig(width=16, layers=1, heads=2, rep_dim=12, proj_dim=8)


def _jets():
    jets = make_jetset(n=64, p=10, seed=6)
    return jets, (jets.labels == jets.class_names.index("t")).astype(int)


def test_contrastive_run_on_the_cpu_and_an_absent_gpu():
    jets, _ = _jets()
    config = TrainConfig(augmentations="all", steps=3, batch_size=16, encoder=TINY)
    model, record = train(jets.particles, jets.mask, config, jet_pt=jets.jets[:, 0],
                          device="cpu")
    assert record["device"] == "cpu" and record["world_size"] == 1
    assert all(p.device.type == "cpu" for p in model.parameters())
    with pytest.raises(JetvizInputError, match="CUDA GPU"):
        train(jets.particles, jets.mask, config, jet_pt=jets.jets[:, 0], device=ABSENT)


def _run(augmentations: str):
    jets, y = _jets()
    config = TrainConfig(augmentations=augmentations, steps=4, batch_size=16, encoder=TINY)
    return train(jets.particles, jets.mask, config, jet_pt=jets.jets[:, 0], labels=y,
                 device="cpu")


def _worker(rank: int, out: str) -> None:
    for augmentations in ("supervised", "all"):
        model, record = _run(augmentations)
        save_file({k: v.contiguous() for k, v in model.state_dict().items()},
                  str(Path(out) / f"{augmentations}{rank}.safetensors"))
        (Path(out) / f"{augmentations}{rank}.json").write_text(json.dumps(record))


def test_two_gloo_processes_keep_identical_replicas(tmp_path):
    run_two_processes(_worker, str(tmp_path))
    for augmentations in ("supervised", "all"):
        a = load_file(str(tmp_path / f"{augmentations}0.safetensors"))
        b = load_file(str(tmp_path / f"{augmentations}1.safetensors"))
        single, _ = _run(augmentations)
        for name, value in single.state_dict().items():
            torch.testing.assert_close(a[name], b[name], rtol=0, atol=0)
            if augmentations == "supervised":  # BCE is a mean over jets: the same run
                torch.testing.assert_close(a[name], value, rtol=1e-4, atol=1e-5)
        torch.manual_seed(0)  # the seed of the initial weights
        init = type(single)(TINY).state_dict()
        assert any((init[k] - a[k]).abs().max() > 0 for k in a)  # the replicas did train
        record = json.loads((tmp_path / f"{augmentations}1.json").read_text())
        assert record["world_size"] == 2


def test_one_process_run_is_the_plain_loop_it_replaced():
    """Pins the CPU behaviour: one process on the shared path gives, bit for bit, the
    weights of the loop JetCLR's supervised ceiling ran before jetviz.device existed."""
    import numpy as np

    from jetviz.jetclr.model import JetClassifier
    from jetviz.jetclr.train import _batches, _optimizer

    jets, y = _jets()
    config = TrainConfig(augmentations="supervised", steps=5, batch_size=16, encoder=TINY)
    model, _ = train(jets.particles, jets.mask, config, labels=y, device="cpu")
    torch.manual_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    plain = JetClassifier(config.encoder)
    opt, sched = _optimizer(plain, config)
    for idx in _batches(len(jets.particles), config.batch_size, config.steps, rng):
        logits = plain(torch.from_numpy(jets.particles[idx].astype(np.float32)),
                       torch.from_numpy(jets.mask[idx]))
        loss = torch.nn.functional.binary_cross_entropy_with_logits(
            logits, torch.from_numpy(y[idx].astype(np.float32)))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
    for name, value in plain.state_dict().items():
        torch.testing.assert_close(model.state_dict()[name], value, rtol=0, atol=0)
