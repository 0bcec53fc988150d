"""What a resumable run stores beside its weights: its random streams.

Every trainer with ``--resume`` writes ``<out>/last`` with :func:`jetviz.checkpoints.save_last`
(model, optimizer, record, and further parts) after each epoch or every few steps. For the
resumed run to continue bit for bit as an uninterrupted one, the random streams must continue
too: :func:`save_streams` gives the JSON of a numpy Generator (for the record) and the states of
a torch Generator and of torch's global CPU generator (the ``STREAMS`` part);
:func:`load_last` finishes an interrupted swap, reads ``last/`` and restores those streams.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch

from jetviz import checkpoints
from jetviz.errors import JetvizInputError

STREAMS = "streams"  # part of a last/ checkpoint: the run's torch random states


def save_streams(rng: np.random.Generator | None = None,
                 generator: torch.Generator | None = None) -> tuple[dict, dict]:
    """(JSON for ``record["streams"]``, tensors for the ``STREAMS`` part): a run's random
    streams, a numpy Generator, a torch Generator and torch's global CPU generator."""
    tensors = {"torch": torch.get_rng_state()}
    if generator is not None:
        tensors["generator"] = generator.get_state()
    return ({"numpy": rng.bit_generator.state} if rng is not None else {}), tensors


def load_last(out_dir: str | os.PathLike, kind: str, rng: np.random.Generator | None = None,
              generator: torch.Generator | None = None) -> dict:
    """``<out_dir>/last``'s config.json, after finishing an interrupted swap
    (:func:`jetviz.checkpoints.recover_last`); restores the streams :func:`save_streams` kept."""
    checkpoints.recover_last(out_dir)
    last = Path(out_dir) / checkpoints.LAST
    if not last.is_dir():
        raise JetvizInputError(f"--resume: {last} does not exist; run without --resume first")
    payload, tensors = checkpoints.read_config(last, kind), checkpoints.read_tensors(last, STREAMS)
    torch.set_rng_state(tensors["torch"])
    if generator is not None:
        generator.set_state(tensors["generator"])
    if rng is not None:
        rng.bit_generator.state = payload["record"]["streams"]["numpy"]
    return payload
