"""``jetviz theorymap``: its arguments and run (defined in jetviz.theorymap.encoders)."""

from jetviz.theorymap.encoders import configure, run

__all__ = ["configure", "run"]
