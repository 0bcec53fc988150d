"""Anomaly detection with autoencoders on jet images: the plain AE and the normalized AE.

Vocabulary
----------
* **image**: a jet as (1, n, n) float32 pixels (n = 40 by default) in the one preprocessing
  frame, jetviz.physics.frame (centre on the pT centroid, principal axis along η) with the
  jet-image flip rule "half-plane" (harder half-plane positive; the model's
  ``AEConfig.flip``), histogram the ptrel over [−R, R]², divide by the image sum
  (pT-normalised: each image sums to 1). A batch is (N, 1, n, n).
* **background**: the jets a model was trained on — ``qcd`` (gluon + light quark) or
  ``top``. Every other class is a **signal** for that model.
* **energy** E(x): the per-pixel mean squared reconstruction error,
  E(x) = Σ_pixels (x − D(Enc(x)))² / n². It is the **anomaly score**: large E = anomalous.
* **AE**: an autoencoder trained to minimise ⟨E⟩ over background jets.
* **NAE** (normalized AE, Yoon et al. arXiv:2105.05735; for jets Dillon et al.): the same
  network read as the Boltzmann density p(x) = e^{−E(x)/T}/Z, trained on
  L = ⟨E⟩_data − ⟨E⟩_model (+ γ⟨E²⟩_model + weight decay): the **negative samples** that
  estimate ⟨E⟩_model are drawn by Langevin chains first in the (spherical) latent space,
  decoded, then refined in image space, restarted from a replay buffer.
* **efficiencies**: ε_S (signal kept) and ε_B (background kept) at a cut on the score;
  1/ε_B at ε_S = 0.2 and 0.5 and the ROC AUC summarise a tagger.

Modules: ``data`` (images, splits), ``model`` (the network), ``nae`` (loss, Langevin,
replay buffer), ``checkpoint`` (kind "anomaly" of :mod:`jetviz.checkpoints`, the converter
of the old layout), ``batches`` (training images in memory or streamed from a file),
``train`` (the loops), ``evaluate`` (scores per class, AUC tables, the
paper's values), ``explore`` (what the Anomalies page shows), ``fast`` (an exact, faster
copy for scoring). Elsewhere: ROC and AUC in :mod:`jetviz.roc`, figures in
:mod:`jetviz.figures.anomaly`, the command in :mod:`jetviz.cli.anomaly`.
"""
