"""Is one β-conditioned VAE as good as a VAE trained at each β? (issue 3's validation table)

Loads the conditioned checkpoint and the fixed-β checkpoints trained on the same jets with
the same seed (so the same validation split), scores every model on that split at its β
with the same latent noise, and prints, per β: the β-VAE loss EMD²/(2β²) + Σ KL (nats), the
KL (nats) and the mean reconstruction EMD (GeV, z sampled from the posterior), for both
models, with the ratio of the losses.

Run:  python benchmarks/vae_conditioning.py checkpoints/vae_w /tmp/fixed_5 /tmp/fixed_30 ...
(the fixed checkpoints are made by ``jetviz train --fixed-beta B`` with the conditioned
model's data arguments; see the note of engineer "vae").
"""

from __future__ import annotations

import argparse
import math

import numpy as np
import torch

from jetviz.paths import DEFAULT_JETS
from jetviz.readers import load_jets
from jetviz.vae.checkpoint import load_checkpoint
from jetviz.vae.inputs import as_inputs
from jetviz.vae.train import _split, evaluate


def _validation_jets(record: dict, n_particles: int):
    jets = load_jets(record.get("data_source") or DEFAULT_JETS, n_particles=n_particles)
    classes = record.get("classes")
    if classes and list(classes) != list(jets.class_names):
        keep = np.isin(jets.labels, [jets.class_names.index(c) for c in classes])
        jets = jets.subset(keep)
    n_jets = record.get("n_jets")
    if n_jets is not None and n_jets < len(jets):
        raise SystemExit("the conditioned model used --max-jets; rerun it without")
    tc = record["train_config"]
    _, val_idx = _split(len(jets), tc["val_fraction"], tc["seed"])
    return jets.subset(val_idx)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("conditioned", help="β-conditioned checkpoint directory")
    parser.add_argument("fixed", nargs="+", help="fixed-β checkpoint directories")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    cond, cond_cfg, cond_rec = load_checkpoint(args.conditioned)
    val = as_inputs(_validation_jets(cond_rec, cond_cfg.n_particles_in), cond_cfg)
    print(f"validation jets: {len(val)} ({cond_rec.get('classes')}, {cond_rec.get('data_source')})")
    header = (f"{'β [GeV]':>8} | {'loss cond':>9} {'loss fixed':>10} {'ratio':>6} | "
              f"{'KL cond':>7} {'KL fixed':>8} | {'EMD cond':>8} {'EMD fixed':>9}")
    print(header)
    print("-" * len(header))
    for path in args.fixed:
        fixed, cfg, _ = load_checkpoint(path)
        beta = cfg.beta_fixed
        scores = {}
        for name, model in (("cond", cond), ("fixed", fixed)):
            gen = torch.Generator().manual_seed(0)  # the same noise for both models
            scores[name] = evaluate(model, val, math.log(beta), gen)
        c, f = scores["cond"], scores["fixed"]
        print(f"{beta:8.3g} | {c['loss']:9.3f} {f['loss']:10.3f} {c['loss'] / f['loss']:6.3f} | "
              f"{c['kl']:7.3f} {f['kl']:8.3f} | {c['distance']:8.2f} {f['distance']:9.2f}")


if __name__ == "__main__":
    main()
