"""``jetviz slider-emd``: its arguments and run (defined in jetviz.vae.slider_emd)."""

from jetviz.vae.slider_emd import configure, run

__all__ = ["configure", "run"]
