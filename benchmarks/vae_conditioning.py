"""Is one β-conditioned VAE as good as a VAE trained at each β? (issue 10, goal: ≤ 1.10)

Takes β-conditioned checkpoints and fixed-β checkpoints (``jetviz train --fixed-beta B``)
and pairs them by training seed: each fixed model must have been trained on the same jets,
with the same seed (so the same validation split) and the same number of epochs as the
conditioned model of its seed, else the benchmark refuses it. Every model is scored on
that seed's validation jets at its β with the same latent noise, and per β and seed the
benchmark prints the β-VAE loss EMD²/(2β²) + Σ KL (nats), the KL (nats) and the mean
reconstruction EMD (GeV, z sampled from the posterior) of both models, with the ratio of
the losses; with several seeds, each β's mean ratio and its spread (min–max) over seeds.

Run (W jets with the jet defaults of ``jetviz train``, 80 epochs: at 40 the conditioned model
has not had enough of the budget at every β, README "Conditioned vs fixed β"; seeds 0 and 1,
eight trainings of ≈ 8–15 min each on one thread):

    for s in 0 1; do
      jetviz train --classes w --out /tmp/cond_s$s --epochs 80 --patience 80 \\
          --scan-points 0 --threads 1 --no-progress --seed $s
      for b in 5 30 200; do
        jetviz train --classes w --fixed-beta $b --out /tmp/fixed_${b}_s$s --epochs 80 \\
            --patience 80 --scan-points 0 --threads 1 --no-progress --seed $s
      done
    done
    python benchmarks/vae_conditioning.py /tmp/cond_s* /tmp/fixed_*

Models trained in another checkout (their recorded data path gone) are scored with
``--data checkpoints/jets_default.h5``: every model's validation jets are read from that
file, and models pair if their recorded data files have its name.

The shipped models (e.g. ``checkpoints/vae_w``, 200 epochs) are compared with fixed models
trained as long with ``--allow-other-epochs``, which prints the epochs of each.
"""

from __future__ import annotations

import argparse
import math
from collections import defaultdict
from pathlib import Path

import numpy as np
import torch

from jetviz.paths import DEFAULT_JETS
from jetviz.readers import load_jets
from jetviz.vae.checkpoint import LAST, load_checkpoint, read_config
from jetviz.vae.inputs import as_inputs
from jetviz.vae.train import _split, evaluate

GOAL = 1.10  # conditioned / fixed validation loss, at every β (issue 10)
SAME_DATA = ("data_source", "classes", "n_jets")  # record keys that must match
SAME_TRAINING = ("seed", "val_fraction", "epochs", "batch_size", "lr")  # train_config keys


def _validation_jets(record: dict, n_particles: int, data: str | None = None):
    source = data or record.get("data_source") or DEFAULT_JETS
    jets = load_jets(source, n_particles=n_particles)
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


def _epochs_run(path: str, record: dict) -> int:
    """Epochs the run trained (its ``last/`` record; the best epoch's record is shorter)."""
    last = Path(path) / LAST
    return len((read_config(last)["record"] if last.exists() else record)["history"])


def _same_source(a: str | None, b: str | None, moved: bool) -> bool:
    """Whether two recorded data sources are the same file (by name only when ``moved``)."""
    return a == b or (moved and a is not None and b is not None and Path(a).name == Path(b).name)


def _mismatch(cond_rec: dict, rec: dict, epochs: tuple[int, int],
              allow_other_epochs: bool, moved: bool = False) -> str | None:
    """Why a fixed model is not a fair reference for the conditioned one, or None."""
    for key in SAME_DATA:
        a, b = cond_rec.get(key), rec.get(key)
        if a != b and not (key == "data_source" and _same_source(a, b, moved)):
            return f"{key} {rec.get(key)!r} ≠ {cond_rec.get(key)!r}"
    for key in SAME_TRAINING:
        if allow_other_epochs and key == "epochs":
            continue
        a, b = cond_rec["train_config"].get(key), rec["train_config"].get(key)
        if a != b:
            return f"train_config.{key} {b!r} ≠ {a!r}"
    if not allow_other_epochs and epochs[0] != epochs[1]:
        return (f"trained {epochs[1]} epochs, the conditioned model {epochs[0]} (stopped "
                f"early or by a time limit)")
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoints", nargs="+",
                        help="β-conditioned and fixed-β checkpoint directories (paired by seed)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--allow-other-epochs", action="store_true",
                        help="compare models trained for different numbers of epochs")
    parser.add_argument("--data", default=None,
                        help="read the validation jets from this file instead of the recorded "
                             "data_source (models trained in another checkout of the repository, "
                             "whose path is gone); models then pair if their data files share "
                             "a name, e.g. checkpoints/jets_default.h5")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    conds, fixed = {}, defaultdict(list)
    for path in args.checkpoints:
        model, cfg, rec = load_checkpoint(path)
        seed = rec["train_config"]["seed"]
        if cfg.conditioned:
            if seed in conds:
                raise SystemExit(f"two conditioned models of seed {seed}: {conds[seed][0]}, {path}")
            conds[seed] = (path, model, cfg, rec)
        else:
            fixed[seed].append((path, model, cfg, rec))
    header = (f"{'seed':>4} {'β [GeV]':>8} {'epochs':>7} | {'loss cond':>9} {'loss fixed':>10} "
              f"{'ratio':>6} | {'KL cond':>7} {'KL fixed':>8} | {'EMD cond':>8} {'EMD fixed':>9}")
    ratios = defaultdict(list)
    for seed in sorted(conds):
        path, cond, cond_cfg, cond_rec = conds[seed]
        val = as_inputs(_validation_jets(cond_rec, cond_cfg.n_particles_in, args.data),
                        cond_cfg)
        print(f"\nseed {seed}: {path} ({cond_cfg.weighting} weighting, {cond_cfg.loss} loss, "
              f"{_epochs_run(path, cond_rec)} epochs); validation jets: {len(val)} "
              f"({cond_rec.get('classes')}, {args.data or cond_rec.get('data_source')})")
        print(header)
        print("-" * len(header))
        for fpath, model, cfg, rec in sorted(fixed.get(seed, []), key=lambda f: f[2].beta_fixed):
            epochs = (_epochs_run(path, cond_rec), _epochs_run(fpath, rec))
            why = _mismatch(cond_rec, rec, epochs, args.allow_other_epochs, args.data is not None)
            if why is not None:
                raise SystemExit(f"{fpath} is not a fair reference for {path}: {why}")
            beta = cfg.beta_fixed
            scores = {}
            for name, m in (("cond", cond), ("fixed", model)):
                gen = torch.Generator().manual_seed(0)  # the same noise for both models
                scores[name] = evaluate(m, val, math.log(beta), gen)
            c, f = scores["cond"], scores["fixed"]
            ratio = c["loss"] / f["loss"]
            ratios[beta].append(ratio)
            ran = f"{epochs[0]}/{epochs[1]}"
            print(f"{seed:4d} {beta:8.3g} {ran:>7} | {c['loss']:9.3f} {f['loss']:10.3f} "
                  f"{ratio:6.3f} | {c['kl']:7.3f} {f['kl']:8.3f} | "
                  f"{c['distance']:8.2f} {f['distance']:9.2f}")
    orphans = sorted(set(fixed) - set(conds))
    if orphans:
        print(f"\nfixed models of seeds {orphans} have no conditioned model: not scored")
    print(f"\nconditioned / fixed validation loss over {len(conds)} seed(s) (goal ≤ {GOAL}):")
    for beta in sorted(ratios):
        r = np.array(ratios[beta])
        spread = f" (min {r.min():.3f}, max {r.max():.3f})" if len(r) > 1 else ""
        verdict = "met" if r.max() <= GOAL else "not met"
        print(f"  β = {beta:6.3g} GeV: mean ratio {r.mean():.3f}{spread}  {verdict}")


if __name__ == "__main__":
    main()
