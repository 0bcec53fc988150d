"""The flow prior and the mass-MMD fine-tuning on the one training path (jetviz.device): a
tiny run on --device cpu records its device, an absent GPU is a clear error, and the flow
prior fitted by 2 gloo processes equals the one-process fit."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file

from jetviz.errors import JetvizInputError
from jetviz.generation.mass_mmd import MmdConfig, tune_with_mass_mmd
from jetviz.generation.prior_train import FitConfig, fit_flow_prior
from tests.support_device import ABSENT, run_two_processes
from tests.support_generation import TINY_FLOW, tiny_gen_root, tiny_gluon_jets, toy_posteriors

torch.set_num_threads(1)

FLOW = TINY_FLOW
FIT = FitConfig(epochs=3, batch_size=64, seed=2)



def test_flow_prior_fits_on_the_cpu_and_refuses_an_absent_gpu():
    prior, record = fit_flow_prior(*toy_posteriors(), FLOW, FIT, device="cpu")
    assert record["device"] == "cpu" and record["world_size"] == 1
    assert all(p.device.type == "cpu" for p in prior.parameters())
    assert np.isfinite(record["best_val_nll"])
    with pytest.raises(JetvizInputError, match="CUDA GPU"):
        fit_flow_prior(*toy_posteriors(), FLOW, FIT, device=ABSENT)


MMD = MmdConfig(steps=2, batch_size=32, latent_pool=64)


@pytest.fixture(scope="module")
def gen_root(tmp_path_factory):
    return tiny_gen_root(tmp_path_factory.mktemp("gen"))


def test_mass_mmd_tunes_on_the_cpu_and_refuses_an_absent_gpu(gen_root):
    root, config = gen_root, MMD
    record = tune_with_mass_mmd(root / "gen_tiny", root / "gen_cpu", jets=tiny_gluon_jets(),
                                config=config, device="cpu")
    assert record["mass_mmd"]["device"] == "cpu" and (root / "gen_cpu" / "flow").is_dir()
    with pytest.raises(JetvizInputError, match="CUDA GPU"):
        tune_with_mass_mmd(root / "gen_tiny", root / "gen_gpu", jets=tiny_gluon_jets(),
                           config=config, device=ABSENT)
    assert not (root / "gen_gpu").exists()


def _mmd_worker(rank: int, root: str) -> None:
    # rank 1 is given its own output directory: only rank 0 writes, so it must stay absent
    record = tune_with_mass_mmd(Path(root) / "gen_tiny", Path(root) / f"gen_ddp{rank}",
                                jets=tiny_gluon_jets(), config=MMD, device="cpu")
    (Path(root) / f"mmd{rank}.json").write_text(json.dumps(record["mass_mmd"]))


def test_two_gloo_processes_tune_one_decoder_and_rank0_writes(gen_root):
    from jetviz.generation.generators import Generator, list_generators

    run_two_processes(_mmd_worker, str(gen_root))
    assert not (gen_root / "gen_ddp1").exists()
    r0, r1 = (json.loads((gen_root / f"mmd{r}.json").read_text()) for r in (0, 1))
    assert r0["world_size"] == r1["world_size"] == 2
    tuned = Generator(next(s for s in list_generators(gen_root) if s.key == "gen_ddp0/flow"))
    before = Generator(next(s for s in list_generators(gen_root) if s.key == "gen_tiny/flow"))
    old, new = before.model.state_dict(), tuned.model.state_dict()
    changed = {k for k in old if not torch.equal(old[k], new[k])}
    assert changed and all(k.startswith(("decoder.", "embed_dec.")) for k in changed)


def _fit_worker(rank: int, out: str) -> None:
    prior, record = fit_flow_prior(*toy_posteriors(), FLOW, FIT, device="cpu")
    save_file({k: v.contiguous() for k, v in prior.state_dict().items()},
              str(Path(out) / f"rank{rank}.safetensors"))
    (Path(out) / f"rank{rank}.json").write_text(json.dumps(record))


def test_two_gloo_processes_fit_the_one_process_flow_prior(tmp_path):
    run_two_processes(_fit_worker, str(tmp_path))
    a = load_file(str(tmp_path / "rank0.safetensors"))
    b = load_file(str(tmp_path / "rank1.safetensors"))
    single, record = fit_flow_prior(*toy_posteriors(), FLOW, FIT, device="cpu")
    for name, value in single.state_dict().items():
        torch.testing.assert_close(a[name], b[name], rtol=0, atol=0)  # replicas identical
        # the mean NLL splits into the two shares' means: the same fit up to rounding
        torch.testing.assert_close(a[name], value, rtol=1e-4, atol=1e-5)
    ddp = json.loads((tmp_path / "rank0.json").read_text())
    assert ddp["world_size"] == 2 and record["world_size"] == 1
    assert ddp["best_val_nll"] == pytest.approx(record["best_val_nll"], rel=1e-4)
