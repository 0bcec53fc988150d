"""``jetviz gen``: its arguments and run (defined in jetviz.generation.generators)."""

from jetviz.generation.generators import configure, run

__all__ = ["configure", "run"]
