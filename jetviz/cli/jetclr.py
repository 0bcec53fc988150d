"""``jetviz jetclr``: its arguments and run (defined in jetviz.jetclr.train)."""

from jetviz.jetclr.train import configure, run

__all__ = ["configure", "run"]
