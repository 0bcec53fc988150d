"""Helpers for the resume tests: kill a run right after it saved its resumable state.

    saves = kill_after_saves(monkeypatch, module, n)   # module.save_last raises Killed after
                                                       # its n-th save; len(saves) counts them
"""

from __future__ import annotations


class Killed(Exception):
    """Stands for a kill right after a state was saved."""


def kill_after_saves(monkeypatch, module, n: int) -> list[int]:
    """Make ``module.save_last`` raise Killed after its ``n``-th save; returns a list that
    counts the saves."""
    saves: list[int] = []
    save = module.save_last

    def counted(*args, **kwargs):
        save(*args, **kwargs)
        saves.append(1)
        if len(saves) == n:
            raise Killed

    monkeypatch.setattr(module, "save_last", counted)
    return saves
