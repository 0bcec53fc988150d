"""Models: the β-conditioned VAE (vae), its inputs (inputs) and checkpoints (checkpoint)."""

from jetviz.models.vae import BetaVAE, PointVAE, VAEConfig, build_model

__all__ = ["BetaVAE", "PointVAE", "VAEConfig", "build_model"]
