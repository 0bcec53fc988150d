"""The flow prior fit and the mass-MMD fine-tuning resume exactly: a run killed right after
it saved its state (``out/last``) and resumed ends with the weights of an uninterrupted run,
bit for bit on the CPU, having trained only what was left; other settings are refused."""

from __future__ import annotations

import pytest
import torch
from safetensors.torch import load_file

import jetviz.generation.mass_mmd as mass_mmd
import jetviz.generation.prior_train as prior_train
from jetviz.errors import JetvizInputError
from jetviz.generation.mass_mmd import MmdConfig, tune_with_mass_mmd
from jetviz.generation.prior_train import FitConfig, fit_flow_prior
from tests.support_generation import TINY_FLOW, tiny_gen_root, tiny_gluon_jets, toy_posteriors
from tests.support_resume import Killed, kill_after_saves

torch.set_num_threads(1)

FLOW = TINY_FLOW
FIT = FitConfig(epochs=4, batch_size=64, seed=2)



def test_flow_prior_fit_resumes_to_the_uninterrupted_weights(tmp_path, monkeypatch):
    full, full_record = fit_flow_prior(*toy_posteriors(), FLOW, FIT, device="cpu",
                                       out=tmp_path / "full")
    kill_after_saves(monkeypatch, prior_train, 2)
    with pytest.raises(Killed):
        fit_flow_prior(*toy_posteriors(), FLOW, FIT, device="cpu", out=tmp_path / "cut")
    monkeypatch.undo()
    epochs: list[int] = []
    resumed, record = fit_flow_prior(*toy_posteriors(), FLOW, FIT, device="cpu",
                                     out=tmp_path / "cut", resume=True,
                                     callback=lambda epoch, entry: epochs.append(epoch))
    assert epochs == [2, 3]  # only the epochs left
    for name, value in full.state_dict().items():
        torch.testing.assert_close(resumed.state_dict()[name], value, rtol=0, atol=0)
    assert record["history"] == full_record["history"]
    with pytest.raises(JetvizInputError, match="other settings"):
        fit_flow_prior(*toy_posteriors(), FLOW, FitConfig(epochs=4, batch_size=32, seed=2),
                       device="cpu", out=tmp_path / "cut", resume=True)


def test_mass_mmd_resumes_to_the_uninterrupted_weights(tmp_path, monkeypatch):
    root = tiny_gen_root(tmp_path)
    config = MmdConfig(steps=5, batch_size=32, latent_pool=64)
    monkeypatch.setattr(mass_mmd, "SAVE_EVERY", 2)

    def tune(out, **kwargs):
        return tune_with_mass_mmd(root / "gen_tiny", root / out, jets=tiny_gluon_jets(),
                                  config=config, device="cpu", **kwargs)

    tune("full")
    with monkeypatch.context() as m:
        kill_after_saves(m, mass_mmd, 1)  # killed after step 2
        with pytest.raises(Killed):
            tune("cut")
    saves = kill_after_saves(monkeypatch, mass_mmd, 99)
    tune("cut", resume=True)
    assert len(saves) == 2  # after steps 4 and 5: steps 1-2 were not run again
    full = load_file(str(root / "full" / "model.safetensors"))
    cut = load_file(str(root / "cut" / "model.safetensors"))
    for name, value in full.items():
        torch.testing.assert_close(cut[name], value, rtol=0, atol=0)
