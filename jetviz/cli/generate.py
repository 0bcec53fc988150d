"""``jetviz generate``: its arguments and run (defined in jetviz.simulation.generate)."""

from jetviz.simulation.generate import configure, run

__all__ = ["configure", "run"]
