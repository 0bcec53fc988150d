"""Generative models (talk 001): jets decoded by a VAE from latents drawn from a prior.

Modules, from the model to the page:

* ``prior``       — the normalizing-flow prior p(z) over a VAE's latent space (the nn.Module);
* ``prior_train`` — fitting it to the aggregate posterior; ``jetviz gen prior``;
* ``checkpoint``  — "generator" (a VAE + its flow prior in ``flow/``) and "flow-prior"
  checkpoints in the one format of :mod:`jetviz.checkpoints`;
* ``convert``     — the converter of generators stored before that format;
* ``generators``  — a generator found on disk (:func:`list_generators`), sampled and decoded;
* ``mass_mmd``    — fine-tuning a decoder with an MMD term on the jet mass; ``jetviz gen mmd``;
* ``mmd_data``    — its training jets and real masses, in memory or read chunk by chunk;
* ``streamed``    — a streamed VAE's training chunks, and bounded passes over them (``--stream``);
* ``metrics``     — W1 and MMD between true and generated jets (JetNet protocol);
* ``efps``        — energy-flow polynomials of jets, in batches;
* ``jetnet_metrics`` — FPD, KPD, W1M/W1P/W1EFP of the current JetNet protocol (arXiv:2211.10295);
* ``evaluation``  — what the generation and jet-image pages compute from all of the above.
"""
