"""``jetviz train``: its arguments and run (defined in jetviz.vae.train)."""

from jetviz.vae.train import configure, run

__all__ = ["configure", "run"]
