"""JetCLR (Dillon et al., arXiv:2108.04253): augmentations (:mod:`.augment`), the encoder and
its NT-Xent loss (:mod:`.model`), one training loop for the contrastive encoder and its
supervised ceiling (:mod:`.train`), the top-vs-QCD split (:mod:`.split`), ROC curves
(:mod:`.roc`), the linear probe (:mod:`.probe`), the 2-D map (:mod:`.maps`), the augmentation
ablation (:mod:`.ablation`) and its text (:mod:`.report`), checkpoints (:mod:`.checkpoint`,
old layout converted by :mod:`.legacy`)."""
