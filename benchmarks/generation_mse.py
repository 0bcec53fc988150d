"""What an MSE gluon decoder reconstructs, and so whether its flow prior can beat N(0, 1).

    python benchmarks/generation_mse.py [--vae checkpoints/gen_g_mse checkpoints/gen_g_emd ...]
                                        [--betas 1 10 100] [--jets 4000]

For each β-VAE (a generator's VAE, or any `jetviz train` output: it needs no flow prior) and
each β: the mean KL of the training jets' posteriors (nats), and W1 of the jet mass [GeV]
(JetNet protocol, 5 batches of 2,000, against the generation page's reference half of the
real jets) with the median mass, for jets decoded from three sets of latents: the posterior
means z = μ(x) of its training jets ("reconstructions"), draws z ~ q(z | x) (what a prior
equal to the aggregate posterior gives) and z ~ N(0, 1). Each decoded jet keeps its own pT.
Then, at the first β, per pT-ordered particle slot: mean ptrel and mean angular distance
ΔR = √(η_rel² + φ_rel²) from the jet axis, true against reconstructed (the decoder's slots
ordered by their own pT, as the MSE loss pairs them). A decoder that reconstructs each
slot's pT but pulls its angle towards the centre makes jets too narrow: too light. A VAE
trained with the MSE loss's jet pT and mass terms (``jetviz train --loss mse --mse-jet-terms
PT MASS``, talk 001) is pulled towards each jet's mass as well; its header line gives the weights.
"""

from __future__ import annotations

import argparse

import numpy as np
import torch

from jetviz.generation.checkpoint import load_vae
from jetviz.generation.evaluation import truth_halves
from jetviz.generation.generators import (
    encode_jets,
    finish_decoded,
    prepared_truth,
    select_classes,
    vae_training_split,
)
from jetviz.generation.metrics import feature_set, w1_protocol
from jetviz.paths import CHECKPOINTS, DEFAULT_JETS
from jetviz.readers import load_jets
from jetviz.vae.model import log_beta_column

SLOTS = (0, 1, 2, 4, 8, 15, 29)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vae", nargs="+", default=[str(CHECKPOINTS / "gen_g_mse"),
                                                     str(CHECKPOINTS / "gen_g_emd")])
    parser.add_argument("--betas", type=float, nargs="+", default=[1.0, 10.0, 100.0])
    parser.add_argument("--jets", type=int, default=4000, help="training jets decoded")
    args = parser.parse_args()
    torch.set_num_threads(1)
    jets = load_jets(DEFAULT_JETS, n_particles=30)
    for directory in args.vae:
        model, config, record = load_vae(directory)
        classes = tuple(record["classes"])
        truth = truth_halves(jets, classes, config.n_particles_in, float(config.radius))
        chosen = select_classes(jets, classes)
        train_idx, _ = vae_training_split(len(chosen), record)
        p, m, pt = prepared_truth(chosen.subset(train_idx[:args.jets]), config.n_particles_in)
        rng = np.random.default_rng(0)

        def decode(z: np.ndarray, beta: float, model=model) -> np.ndarray:
            with torch.inference_mode():
                t = torch.from_numpy(z.astype(np.float32))
                return model.decode(t, log_beta_column(beta, len(t))).numpy()

        def score(decoded: np.ndarray, pt=pt, truth=truth, config=config) -> str:
            f = feature_set(*finish_decoded(decoded), pt, float(config.radius))
            w = w1_protocol(truth.reference, f, ("mass",), batch_size=2000,
                            rng=np.random.default_rng(1))["mass"]["w1"].mean
            return f"{w:6.2f} (median {np.median(f.jet['mass']):5.1f})"

        terms = (f" + jet pT, mass terms × {config.mse_pt_weight:g}, {config.mse_mass_weight:g}"
                 if config.mse_pt_weight or config.mse_mass_weight else "")
        print(f"{directory}: {config.loss}{terms} loss, latent {config.latent_dim}, hidden "
              f"{config.hidden}, " + ("β-conditioned" if config.conditioned
                                      else f"fixed β = {config.beta_fixed:g} GeV")
              + f"; true median mass {np.median(truth.reference.jet['mass']):.1f} GeV")
        print(f"  {'β [GeV]':>8} {'KL [nats]':>9}  W1(m) [GeV] of jets decoded from: "
              f"{'reconstructions μ(x)':>26} {'q(z | x)':>26} {'N(0, 1)':>26}")
        for beta in args.betas:
            mu, logvar = encode_jets(model, p, m, beta)
            kl = 0.5 * np.mean(np.sum(mu**2 + np.exp(logvar) - 1 - logvar, axis=1))
            z_post = mu + np.exp(0.5 * logvar) * rng.standard_normal(mu.shape)
            z_prior = rng.standard_normal(mu.shape)
            print(f"  {beta:8g} {kl:9.1f}  {'':33}{score(decode(mu, beta)):>26} "
                  f"{score(decode(z_post, beta)):>26} {score(decode(z_prior, beta)):>26}")
        mu, _ = encode_jets(model, p, m, args.betas[0])
        rec = decode(mu, args.betas[0])
        rec = np.take_along_axis(rec, np.argsort(-rec[..., 0], axis=1)[..., None], axis=1)
        true = np.where(m[..., None], p, 0.0)
        print(f"  per pT-ordered slot at β = {args.betas[0]:g} GeV (true → reconstructed): "
              + "; ".join(f"#{s}: ptrel {true[:, s, 0].mean():.3f} → {rec[:, s, 0].mean():.3f}, "
                          f"ΔR {np.hypot(*true[:, s, 1:].T).mean():.3f} → "
                          f"{np.hypot(*rec[:, s, 1:].T).mean():.3f}"
                          for s in SLOTS if s < min(true.shape[1], rec.shape[1])))
        print()


if __name__ == "__main__":
    main()
