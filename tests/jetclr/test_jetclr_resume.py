"""JetCLR training resumes exactly: a run interrupted after its last saved step and resumed
with ``resume=True`` ends with the weights of an uninterrupted run (bit for bit, CPU), for the
contrastive encoder (augmentations draw from the resumed random stream) and the supervised
ceiling; resuming with other settings is a clear error."""

from __future__ import annotations

import pytest
import torch

import jetviz.jetclr.train as jetclr_train
from jetviz.errors import JetvizInputError
from jetviz.jetclr.model import EncoderConfig
from jetviz.jetclr.train import TrainConfig, train
from tests.conftest import make_jetset

torch.set_num_threads(1)

TINY = EncoderConfig(width=16, layers=1, heads=2, rep_dim=12, proj_dim=8)


class Interrupted(Exception):
    """Stands for a kill between two steps."""


def _run(augmentations: str, out, **kwargs):
    jets = make_jetset(n=40, p=10, seed=6)
    labels = (jets.labels == jets.class_names.index("t")).astype(int)
    config = TrainConfig(augmentations=augmentations, steps=7, batch_size=16, encoder=TINY)
    return train(jets.particles, jets.mask, config, jet_pt=jets.jets[:, 0], labels=labels,
                 device="cpu", out=out, save_every=2, **kwargs)


@pytest.mark.parametrize("augmentations", ["all", "supervised"])
def test_an_interrupted_run_resumes_to_the_uninterrupted_weights(tmp_path, monkeypatch,
                                                                 augmentations):
    full, full_record = _run(augmentations, tmp_path / "full")
    monkeypatch.setattr(jetclr_train, "LOG_EVERY", 1)  # progress after every step

    def kill(step: int, loss: float) -> None:
        if step == 4:  # after the 5th step; the last state saved is after the 4th
            raise Interrupted

    with pytest.raises(Interrupted):
        _run(augmentations, tmp_path / "cut", progress=kill)
    steps: list[int] = []
    resumed, record = _run(augmentations, tmp_path / "cut", resume=True,
                           progress=lambda step, loss: steps.append(step))
    assert steps == [4, 5, 6]  # it went on from the saved state
    for name, value in full.state_dict().items():
        torch.testing.assert_close(resumed.state_dict()[name], value, rtol=0, atol=0)
    assert record["loss_curve"] == full_record["loss_curve"]


def test_resume_refuses_other_settings_and_a_missing_state(tmp_path):
    _run("all", tmp_path / "run")
    jets = make_jetset(n=40, p=10, seed=6)
    other = TrainConfig(augmentations="all", steps=7, batch_size=8, encoder=TINY)
    with pytest.raises(JetvizInputError, match="other settings"):
        train(jets.particles, jets.mask, other, jet_pt=jets.jets[:, 0], device="cpu",
              out=tmp_path / "run", resume=True)
    with pytest.raises(JetvizInputError, match="does not exist"):
        _run("all", tmp_path / "never", resume=True)
