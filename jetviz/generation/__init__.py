"""Generative models (talk 001): a flow prior over a VAE's latent space, the generators built
on it, mass-MMD fine-tuning and the JetNet metrics that compare generated with true jets."""
