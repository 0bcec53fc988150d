"""The β-conditioned VAE (talk 000), one module per job:

model (the networks and VAEConfig), inputs (jets/points → tensors), losses (distances and the
one β-VAE loss), epoch (one training epoch, one validation pass), train (the training run and
rescan), checkpoint (save/load in the one format, the legacy converter), scan (the per-β scan
and what pages compute from a model), dimensionality (D1/D2 bands, floor, directions) and
slider_emd (the β slider's stored exact EMDs). The command line is jetviz.cli.train and
jetviz.cli.slider_emd."""
