"""Generators in the one checkpoint format: what fitting writes, and the converter of the old
("jetviz-vae" + "jetviz-flow-prior") layout."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from jetviz import checkpoints
from jetviz.cli.checkpoints import convert
from jetviz.generation.generators import Generator, list_generators
from tests.support_generation import tiny_gen_root

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_gen_root(tmp_path_factory.mktemp("gen_convert"))


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _to_old_layout(gen: Path) -> None:
    """Rewrite a generator as it was stored before the one format."""
    payload = json.loads((gen / "config.json").read_text())
    (gen / "config.json").write_text(json.dumps(
        {"format": "jetviz-vae", "version": 1, "config": payload["config"],
         "record": payload["record"]}))
    flow = gen / "flow"
    payload = json.loads((flow / "config.json").read_text())
    (flow / "prior.json").write_text(json.dumps(
        {"format": "jetviz-flow-prior", "version": 1, "config": payload["config"],
         "record": payload["record"]}))
    (flow / "model.safetensors").rename(flow / "prior.safetensors")
    (flow / "config.json").unlink()


def test_fitting_writes_a_generator_with_a_flow_prior(root):
    [entry] = checkpoints.find("generator", [root])
    assert entry.name == "gen_tiny"
    assert checkpoints.read_config(root / "gen_tiny" / "flow", "flow-prior")["record"]["beta"]
    assert [s.directory for s in list_generators(root)] == [entry.path] * 2


@pytest.mark.parametrize("vae_already_converted", [False, True])
def test_old_layout_converts_in_place_to_the_same_generator(root, tmp_path,
                                                            vae_already_converted):
    copy = tmp_path / "checkpoints" / "gen_tiny"
    shutil.copytree(root / "gen_tiny", copy)
    _to_old_layout(copy)
    if vae_already_converted:  # the VAE converter ran first and called it a "vae"
        old = json.loads((copy / "config.json").read_text())
        checkpoints.write_json(copy / "config.json", {
            "format": "jetviz", "version": 2, "kind": "vae", "config": old["config"],
            "record": old["record"]})
    assert list_generators(copy.parent) == []  # unreadable until converted
    weights = {p: _digest(copy / p) for p in ("model.safetensors", "flow/prior.safetensors")}

    assert convert(copy.parent) == [copy]
    assert convert(copy.parent) == []  # converted once
    assert not (copy / "flow" / "prior.json").exists()
    # weights renamed, not rewritten; the records carried over
    assert _digest(copy / "model.safetensors") == weights["model.safetensors"]
    assert _digest(copy / "flow" / "model.safetensors") == weights["flow/prior.safetensors"]
    before = checkpoints.read_config(root / "gen_tiny" / "flow", "flow-prior")
    after = checkpoints.read_config(copy / "flow", "flow-prior")
    assert after["config"] == before["config"] and after["record"] == before["record"]
    # the converted generators sample exactly what the originals sample
    for spec, again in zip(list_generators(root), list_generators(copy.parent), strict=True):
        assert spec.key == again.key and spec.label == again.label
        a, b = Generator(spec).sample(40, seed=3), Generator(again).sample(40, seed=3)
        assert np.array_equal(a.particles, b.particles) and np.array_equal(a.jet_pt, b.jet_pt)
