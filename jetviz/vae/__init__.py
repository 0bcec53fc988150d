"""The β-conditioned VAE (talk 000): model, inputs, losses, training, checkpoints, the per-β scan
of what it learnt, dimensionality estimates and the slider's stored exact EMDs."""
