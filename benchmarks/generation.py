"""Benchmark of the shipped generators: W1 of jet mass vs the truth baseline, and speed.

    python benchmarks/generation.py [--jets 5000] [--batch 2000] [--splits 20] [--repeats 3]

For every generator under checkpoints/ (each VAE with its Gaussian and its flow prior)
and the class it was trained on: W1 of the jet mass [GeV] and of the relative mass m/pT
(JetNet's W1M), by the JetNet protocol (5 batches, mean), between generated jets and the first
half of a random halving of the real jets, and truth vs truth (that half against the other,
same batch size); each as the median over ``--splits`` halvings with its 16–84 % range (one
halving's truth baseline moves by tens of per cent with the jets it puts in each half), and
their ratio (per halving, median and range); and the generation speed in µs per jet (sampling
the latents + decoding + pT draw, median of ``--repeats``), with the flow prior's speed as a
ratio to the Gaussian prior's measured in the same run. Real jets: checkpoints/jets_default.h5,
prepared as the VAEs see them; observables from the particles for both (jetviz.physics).

A flow prior marked "(z, log pT)" draws each jet's pT with its latents (``jetviz gen prior
--joint-pt``); the others draw pT from the training pT distribution, independently of z.

Then, per VAE, what its decoder gives with the best any prior could do: the training jets'
own latents z ~ q(z | x) ("aggregate posterior") and posterior means z = μ(x)
("reconstructions"), each jet with its own pT, scored the same way. A prior matching the
aggregate posterior exactly scores the first row (a decoder tuned on a flow's draws, as the
mass-MMD ones are, can do better with that flow). Last, how well each decoder reconstructs
jets it did not train on: ⟨EMD²⟩/(2β²) in nats (what the mass-MMD tuning trades for the mass).

The truth halves above hold every real jet of the class, 90 % of which trained the VAE, its
flow and the mass-MMD tuning. So, per flow generator, W1 of the mass is also given against
only the VAE's validation jets (1,000, seen by none of them): generated jets against those,
and as the reference as many of the training jets against those (mean ± sd over 20 draws),
with the 5, 50, 95 and 99 % quantiles of the generated and of all real masses (the high-mass
tail is where a generator's W1 of the mass comes from).
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch

from jetviz.generation.evaluation import truth_halves
from jetviz.generation.generators import (
    Generator,
    encode_jets,
    finish_decoded,
    list_generators,
    prepared_truth,
    select_classes,
    vae_training_split,
)
from jetviz.generation.metrics import (
    Score,
    SplitW1,
    concatenated,
    feature_set,
    random_splits,
    w1_over_splits,
    w1_protocol,
)
from jetviz.paths import CHECKPOINTS, DEFAULT_JETS
from jetviz.readers import load_jets
from jetviz.vae.losses import emd_sinkhorn
from jetviz.vae.model import log_beta_column


def reconstruction_nats(gen: Generator, jets, n: int = 1000) -> float:
    """⟨EMD(x, x̂)²⟩ / (2β²) [nats] of ``n`` of the VAE's validation jets decoded from
    z ~ q(z | x) at the generator's β (Sinkhorn EMD, the term the training and the mass-MMD
    tuning minimise; the posterior noise seeded)."""
    chosen = select_classes(jets, gen.spec.classes)
    _, val_idx = vae_training_split(len(chosen), gen.vae_record)
    particles, mask, jet_pt = prepared_truth(chosen.subset(val_idx[:n]), gen.config.n_particles_in)
    x, m = torch.from_numpy(particles), torch.from_numpy(mask)
    beta = gen.spec.beta
    with torch.inference_mode():
        log_beta = log_beta_column(beta, len(x))
        mu, logvar = gen.model.encode(x, m, log_beta)
        noise = torch.randn(mu.shape, generator=torch.Generator().manual_seed(0))
        decoded = gen.model.decode(mu + noise * (0.5 * logvar).exp(), log_beta)
        emd = emd_sinkhorn(x, m, decoded, torch.from_numpy(jet_pt), gen.config)
    return float((emd.square() / (2 * beta**2)).mean())


def held_out_mass_w1(gen: Generator, jets, fake, batches: int = 20) -> tuple[Score, Score]:
    """W1 of the mass [GeV] against the VAE's validation jets (which neither the VAE, its flow
    nor a mass-MMD tuning saw): (generated vs those, the VAE's training jets vs those), each
    over ``batches`` draws of as many jets as there are validation jets."""
    chosen = select_classes(jets, gen.spec.classes)
    train_idx, val_idx = vae_training_split(len(chosen), gen.vae_record)
    n = gen.config.n_particles_in

    def features(index):
        return feature_set(*prepared_truth(chosen.subset(index), n), gen.radius)

    held_out, trained = features(val_idx), features(train_idx)
    size = len(held_out)
    scores = [w1_protocol(held_out, other, ("mass",), n_batches=batches, batch_size=size,
                          rng=np.random.default_rng(5))["mass"]["w1"] for other in (fake, trained)]
    return scores[0], scores[1]


def decoded_training_latents(gen: Generator, jets, radius: float) -> dict:
    """Feature sets of the VAE's training jets decoded from z ~ q(z | x) and from z = μ(x),
    each jet keeping its own pT (the posterior noise seeded), and ⟨|z|²⟩ of each."""
    chosen = select_classes(jets, gen.spec.classes)
    train_idx, _ = vae_training_split(len(chosen), gen.vae_record)
    particles, mask, jet_pt = prepared_truth(chosen.subset(train_idx), gen.config.n_particles_in)
    mu, logvar = encode_jets(gen.model, particles, mask, gen.spec.beta)
    noise = np.random.default_rng(0).standard_normal(mu.shape).astype(np.float32)
    out = {}
    for name, z in (("aggregate posterior", mu + np.exp(0.5 * logvar) * noise),
                    ("reconstructions", mu)):
        decoded, decoded_mask = finish_decoded(gen.decode(torch.from_numpy(z)))
        out[name] = (feature_set(decoded, decoded_mask, jet_pt, radius),
                     float(np.mean(np.sum(z**2, axis=1))))
    return out


NAMES = ("mass", "mass_rel")
QUANTILES = (5, 50, 95, 99)  # % quantiles of the mass printed beside the held-out W1


def spread_text(t: SplitW1, scale: float) -> str:
    """"1.28 [1.10–1.45]": a median over the splits and its 16–84 % range."""
    return f"{t.median * scale:5.2f} [{t.low * scale:4.2f}–{t.high * scale:4.2f}]"


def ratio_text(generated: SplitW1, truth: SplitW1) -> str:
    """Median and 16–84 % range over the splits of generated W1 / truth-vs-truth W1."""
    ratios = np.asarray(generated.values) / np.asarray(truth.values)
    low, median, high = np.percentile(ratios, [16, 50, 84])
    return f"{median:4.2f} [{low:4.2f}–{high:4.2f}]"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jets", type=int, default=5000, help="generated jets per generator")
    parser.add_argument("--batch", type=int, default=2000, help="jets per W1 batch")
    parser.add_argument("--splits", type=int, default=20,
                        help="random halvings of the real jets (medians over them)")
    parser.add_argument("--repeats", type=int, default=3, help="timing repeats (median)")
    parser.add_argument("--speed-jets", type=int, default=10_000, help="jets per timing run")
    parser.add_argument("--root", default=str(CHECKPOINTS), help="where the generators are")
    parser.add_argument("--only", nargs="*", default=None,
                        help="only generators whose key contains one of these strings")
    args = parser.parse_args()
    torch.set_num_threads(1)
    specs = [s for s in list_generators(args.root)
             if not args.only or any(o in s.key for o in args.only)]
    if not specs:
        raise SystemExit("no generators under checkpoints/ (see README: jetviz gen prior)")
    jets = load_jets(DEFAULT_JETS, n_particles=30)
    real_cache: dict = {}
    truth_cache: dict = {}
    rows = []
    limits = []
    recon: dict[str, float] = {}
    speeds: dict[str, float] = {}
    held_out: dict[str, tuple] = {}
    for spec in specs:
        gen = Generator(spec)
        if spec.classes not in real_cache:  # every real jet of the class, and its splits
            halves = truth_halves(jets, spec.classes, gen.config.n_particles_in, gen.radius)
            real = concatenated([halves.reference, halves.baseline])
            real_cache[spec.classes] = (real, random_splits(len(real), args.splits,
                                                            np.random.default_rng(1)))
        real, splits = real_cache[spec.classes]
        batch = min(args.batch, len(real) // 2, args.jets)

        def scored(fake, real=real, splits=splits, batch=batch):
            return w1_over_splits(real, splits, NAMES, batch_size=batch,
                                  rng=np.random.default_rng(2), generated=fake)

        if (spec.classes, batch) not in truth_cache:
            truth_cache[spec.classes, batch] = w1_over_splits(
                real, splits, NAMES, batch_size=batch, rng=np.random.default_rng(2))
        truth = truth_cache[spec.classes, batch]
        if spec.prior == "flow":
            for name, (fake, z2) in decoded_training_latents(gen, jets, gen.radius).items():
                limits.append((spec.key.rsplit("/", 1)[0], name, scored(fake), truth, z2,
                               gen.config.latent_dim))
            recon[spec.key.rsplit("/", 1)[0]] = reconstruction_nats(gen, jets)
        sample = gen.sample(args.jets, seed=0)
        fake = feature_set(sample.particles, sample.mask, sample.jet_pt, gen.radius)
        g = scored(fake)
        if spec.prior == "flow":
            held_out[spec.key] = (*held_out_mass_w1(gen, jets, fake),
                                  np.percentile(fake.jet["mass"], QUANTILES),
                                  np.percentile(real.jet["mass"], QUANTILES))
        times = []
        for r in range(args.repeats):
            start = time.perf_counter()
            gen.sample(args.speed_jets, seed=100 + r)
            times.append(time.perf_counter() - start)
        us = statistics.median(times) / args.speed_jets * 1e6
        speeds[spec.key] = us
        rows.append((spec, g, truth, us, gen.joint_pt))
    print(f"W1 by the JetNet protocol (5 batches of ≤ {args.batch} jets, mean) against the first "
          f"half of each of {args.splits} random halvings of the real jets: median [16–84 %] "
          "over the halvings; truth = the first half against the second; ratio = generated / "
          "truth per halving; speed = µs per generated jet, 1 thread, median of "
          f"{args.repeats} × {args.speed_jets} jets")
    header = (f"{'generator':<58} {'W1(m) GeV':>17} {'truth':>17} {'ratio':>16} "
              f"{'W1(m/pT) ×1e3':>17} {'truth ×1e3':>17} {'ratio':>16} {'µs/jet':>7} "
              f"{'vs N(0,1)':>9}")
    print(header)
    print("-" * len(header))
    for spec, g, t, us, joint in rows:
        gauss_key = spec.key.rsplit("/", 1)[0] + "/gaussian"
        rel = us / speeds[gauss_key] if gauss_key in speeds else float("nan")
        label = spec.label + (" (z, log pT)" if joint else "")
        print(f"{label:<58} {spread_text(g['mass'], 1)} {spread_text(t['mass'], 1)} "
              f"{ratio_text(g['mass'], t['mass'])} {spread_text(g['mass_rel'], 1e3)} "
              f"{spread_text(t['mass_rel'], 1e3)} {ratio_text(g['mass_rel'], t['mass_rel'])} "
              f"{us:7.1f} {rel:9.2f}")
    print()
    print("flow vs Gaussian prior, median W1 of jet mass (lower is better):")
    by_vae: dict[str, dict[str, float]] = {}
    for spec, g, _, _, _ in rows:
        by_vae.setdefault(spec.key.rsplit("/", 1)[0], {})[spec.prior] = g["mass"].median
    for name, scores in by_vae.items():
        if {"gaussian", "flow"} <= set(scores):
            better = "flow better" if scores["flow"] < scores["gaussian"] else "GAUSSIAN BETTER"
            print(f"  {name:<20} Gaussian {scores['gaussian']:6.2f} GeV   flow "
                  f"{scores['flow']:6.2f} GeV   {better}")
    print()
    print("the decoder on the training jets' own latents, each jet with its own pT (what a prior "
          "equal to q(z) would give); ⟨|z|²⟩ of those latents (N(0, 1): D):")
    for name, what, g, t, z2, dim in limits:
        print(f"  {name:<20} {what:<20} W1(m) {spread_text(g['mass'], 1)} GeV "
              f"(ratio {ratio_text(g['mass'], t['mass'])})   W1(m/pT) "
              f"{spread_text(g['mass_rel'], 1e3)} × 1e-3   ⟨|z|²⟩ {z2:5.2f} (D = {dim})")
    print()
    print("W1(m) against the VAE's 1,000 validation jets only (seen by no fit), 20 draws of "
          "1,000 jets: generated, and the VAE's training jets (reference), mean ± sd [GeV]:")
    for key, (fake_w1, train_w1, fake_q, real_q) in held_out.items():
        ratio = fake_w1.mean / train_w1.mean
        print(f"  {key:<20} generated {fake_w1.mean:5.2f} ± {fake_w1.std:4.2f}   training jets "
              f"{train_w1.mean:5.2f} ± {train_w1.std:4.2f}   ratio {ratio:4.2f}   mass "
              f"quantiles {'/'.join(f'{q:g}' for q in QUANTILES)} %: generated "
              f"{' '.join(f'{v:.1f}' for v in fake_q)}, real "
              f"{' '.join(f'{v:.1f}' for v in real_q)}")
    print()
    print("reconstruction of 1,000 validation jets from z ~ q(z | x) at the generator's β: "
          "⟨EMD²⟩ / (2β²) [nats], Sinkhorn EMD as in training (the MSE and Chamfer VAEs too):")
    for name, nats in recon.items():
        print(f"  {name:<20} {nats:8.2f} nats")


if __name__ == "__main__":
    main()
