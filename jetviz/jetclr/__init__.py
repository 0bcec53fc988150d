"""JetCLR (Dillon et al., arXiv:2108.04253): augmentations, the contrastive encoder, its
training, the linear probe and the augmentation ablation."""
