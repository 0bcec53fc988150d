"""A jet file whose rows are recognisable, and a log of the rows read from it (for the tests
of the chunked reader and of training on it).

    jet_file(path)          # N_ROWS jets, jet pT = 1000 + row number
    log = ReadLog(mp)       # wraps store.read_jets: log.rows read so far, log.calls per read
    rows_of(jets)           # the row numbers of a JetSet read from such a file
"""

from __future__ import annotations

import numpy as np

from jetviz.readers import store
from tests.conftest import make_jetset

N_ROWS = 103  # 13 chunks of 8, the last one of 7


def jet_file(path, n: int = N_ROWS):
    """A jet file whose jet pT is the row number + 1000: each row is recognisable."""
    jets = make_jetset(n, 12, seed=4)
    jets.jets[:, 0] = 1000 + np.arange(n)
    store.write_jets(path, jets)
    return path


class ReadLog:
    """Counts the rows read from the file (wraps store.read_jets)."""

    def __init__(self, monkeypatch):
        self.rows = 0
        self.calls: list[int] = []
        read = store.read_jets

        def counted(*args, **kwargs):
            jets = read(*args, **kwargs)
            self.rows += len(jets)
            self.calls.append(len(jets))
            return jets

        monkeypatch.setattr(store, "read_jets", counted)


def rows_of(batch) -> list[int]:
    return (batch.jets[:, 0] - 1000).astype(int).tolist()
