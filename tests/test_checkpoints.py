"""The one checkpoint format: round trips, refusals with a clear message, the registry."""

import json

import numpy as np
import pytest
import torch

from jetviz import checkpoints
from jetviz.errors import JetvizInputError


def _model(seed: int = 0) -> torch.nn.Module:
    torch.manual_seed(seed)
    return torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Linear(4, 2))


def test_round_trip_weights_parts_optimizer(tmp_path):
    model = _model()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    model(torch.ones(5, 3)).sum().backward()
    opt.step()
    arrays = {"xy": np.arange(6, dtype=np.float32).reshape(3, 2)}
    checkpoints.save(tmp_path, "vae", config={"a": 1}, record={"loss": float("nan")},
                     model=model, parts={"map": arrays}, optimizer=opt)
    payload = checkpoints.read_config(tmp_path, "vae")
    assert payload["config"] == {"a": 1} and payload["record"]["loss"] is None
    other = checkpoints.load_weights(tmp_path, _model(seed=1))
    for p, q in zip(model.parameters(), other.parameters(), strict=True):
        assert torch.equal(p, q)
    np.testing.assert_array_equal(checkpoints.read_tensors(tmp_path, "map", numpy=True)["xy"],
                                  arrays["xy"])
    opt2 = torch.optim.Adam(other.parameters(), lr=1e-3)
    checkpoints.load_optimizer(tmp_path, opt2)
    assert torch.equal(opt2.state_dict()["state"][0]["exp_avg"],
                       opt.state_dict()["state"][0]["exp_avg"])


def test_refusals_name_the_problem(tmp_path):
    with pytest.raises(JetvizInputError, match=r"no config\.json"):
        checkpoints.read_config(tmp_path)
    checkpoints.save(tmp_path, "anomaly", config={}, record={}, model=_model())
    with pytest.raises(JetvizInputError, match="'anomaly' checkpoint, not a 'vae'"):
        checkpoints.read_config(tmp_path, "vae")
    with pytest.raises(JetvizInputError, match="do not match"):
        checkpoints.load_weights(tmp_path, torch.nn.Linear(3, 3))
    (tmp_path / "config.json").write_text(json.dumps({"format": "jetviz-vae", "version": 1}))
    with pytest.raises(JetvizInputError, match="jetviz checkpoints convert"):
        checkpoints.read_config(tmp_path)
    with pytest.raises(ValueError, match="unknown checkpoint kind"):
        checkpoints.save(tmp_path / "x", "nope", config={}, record={})


def test_nan_weights_refused(tmp_path):
    model = _model()
    with torch.no_grad():
        model[0].weight[0, 0] = float("nan")
    checkpoints.save(tmp_path, "vae", config={}, record={}, model=model)
    with pytest.raises(JetvizInputError, match="NaN/inf"):
        checkpoints.load_weights(tmp_path, _model())


def test_registry_finds_kinds_skips_last_and_subcheckpoints(tmp_path):
    for name, kind in (("vae_a", "vae"), ("user/mine", "vae"), ("gen_x", "generator"),
                       ("deep/enc_1", "theorymap-encoder")):
        checkpoints.save(tmp_path / name, kind, config={}, record={}, model=_model())
    checkpoints.save(tmp_path / "gen_x" / "flow", "flow-prior", config={}, record={})
    checkpoints.save_last(tmp_path / "vae_a", "vae", config={}, record={}, model=_model())
    (tmp_path / "notes").mkdir()
    vaes = checkpoints.find("vae", [tmp_path])
    assert [(e.name, e.shipped) for e in vaes] == [("vae_a", True), ("user/mine", False)]
    assert vaes[1].label == "mine (yours)"
    assert {e.name for e in checkpoints.find(None, [tmp_path])} == {
        "vae_a", "user/mine", "gen_x", "deep/enc_1"}


@pytest.mark.parametrize("stage", ["written", "old_moved", "new_in_place"])
def test_save_last_survives_a_kill_at_any_stage(tmp_path, monkeypatch, stage):
    checkpoints.save_last(tmp_path, "vae", config={}, record={"epoch": 1}, model=_model())

    def die(at: str) -> None:
        if at == stage:
            raise KeyboardInterrupt

    monkeypatch.setattr(checkpoints, "swap_hook", die)
    with pytest.raises(KeyboardInterrupt):
        checkpoints.save_last(tmp_path, "vae", config={}, record={"epoch": 2}, model=_model())
    checkpoints.recover_last(tmp_path)
    epoch = checkpoints.read_config(tmp_path / "last")["record"]["epoch"]
    assert epoch == (1 if stage == "written" else 2)
    assert [p.name for p in tmp_path.iterdir()] == ["last"]
