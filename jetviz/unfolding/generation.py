"""Paired parton/detector ZW events: seeded chunks over worker processes, one HDF5 file.

Work is split into fixed chunks of ``config.chunk`` events; chunk k runs its own Pythia and
detector response seeded from SeedSequence((seed, 2, 0, k)) (``simulation.generate.chunk_seed``),
and chunks are concatenated in order, so the file depends on the seed and the chunk size, not
on the number of workers; ``--shard i/N`` runs the chunks k with k % N == i, with the same
seeds, and ``jetviz merge`` joins the N files into the unsharded one
(jetviz.simulation.shards). The file layout is in ``jetviz.unfolding.data``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import asdict

import numpy as np

from jetviz.errors import JetvizInputError
from jetviz.simulation.generate import chunk_seed, chunk_sizes, run_chunks
from jetviz.simulation.pythia import versions
from jetviz.simulation.shards import SHARD_ATTR, Shard, owned, shard_attr
from jetviz.unfolding.data import PairedEvents, read_pairs, write_pairs
from jetviz.unfolding.detector import ATLAS_CARD, DetectorCard
from jetviz.unfolding.simulation import UnfoldingConfig, pythia_settings, unfolding_chunk

KIND_INDEX = 2  # the SeedSequence "kind" of unfolding chunks (jets 0, events 1)


def pair_stats(records: Sequence[dict]) -> dict:
    """Events generated and kept, the kept fraction, seconds and kept events per second."""
    kept = sum(r["rows"] for r in records)
    events = sum(r["events"] for r in records)
    seconds = sum(r["seconds"] for r in records)
    return {"generated": events, "kept": kept, "kept_fraction": round(kept / events, 4),
            "seconds": round(seconds, 1), "kept_per_second": round(kept / seconds, 1)}


def generate_pairs(n_events: int, seed: int, config: UnfoldingConfig,
                   card: DetectorCard = ATLAS_CARD, workers: int = 1,
                   command: str = "", extend: PairedEvents | None = None,
                   shard: Shard | None = None) -> PairedEvents:
    """Generate ``n_events`` kept, paired events; provenance goes into ``attrs``.

    With ``extend`` (a file made with the same seed, chunk size and settings), its whole
    chunks are kept and only the missing chunks are run: the result equals a fresh run.
    With ``shard`` (not with ``extend``), only the shard's chunks are run
    (jetviz.simulation.shards) and ``attrs["shard"]`` records them.
    """
    done = 0
    if extend is not None:
        if shard is not None:
            raise JetvizInputError("--extend and --shard do not go together: extend the "
                                   "merged file, or generate all shards afresh")
        done = _check_extendable(extend, n_events, seed, config)
    sizes = chunk_sizes(n_events, config.chunk)
    mine = [k for k in owned(shard, len(sizes)) if k >= done]
    tasks = [(unfolding_chunk, (sizes[k], chunk_seed(seed, KIND_INDEX, 0, k), config, card),
              sizes[k]) for k in mine]
    desc = "ZW events" if shard is None else f"ZW events, shard {shard}"
    results = run_chunks(tasks, workers, desc, "event")
    records = [{"chunk": k, "item": "zw", "rows": sizes[k], "events": int(r["events"]),
                "seconds": float(r["seconds"])} for k, r in zip(mine, results, strict=True)]
    earlier = []
    if extend is not None:
        kept = done * config.chunk
        results.insert(0, {"parton": extend.parton[:kept], "parton_id": extend.parton_id[:kept],
                           "leptons": extend.leptons[:kept], "jets": extend.jets[:kept],
                           "n_jets": extend.n_jets[:kept]})
        previous = extend.attrs["stats"]
        previous = json.loads(previous) if isinstance(previous, str) else previous
        share = kept / previous["kept"]
        earlier = [{"rows": kept, "events": round(previous["generated"] * share),
                    "seconds": previous["seconds"] * share}]
    vers = versions()
    attrs = {
        "generator": f"Pythia {vers['pythia']} + FastJet {vers['fastjet']}",
        "versions": vers, "seed": seed, "command": command,
        "settings": {**asdict(config), "pythia": list(pythia_settings(config))},
        "detector_card": json_card(card),
        "stats": pair_stats(earlier + records),
    }
    if shard is not None:
        attrs[SHARD_ATTR] = shard_attr(shard, len(sizes), records)
    return PairedEvents(
        parton=np.concatenate([r["parton"] for r in results]).astype(np.float32),
        parton_id=np.concatenate([r["parton_id"] for r in results]),
        leptons=np.concatenate([r["leptons"] for r in results]).astype(np.float32),
        jets=np.concatenate([r["jets"] for r in results]).astype(np.float32),
        n_jets=np.concatenate([r["n_jets"] for r in results]),
        attrs=attrs)


def generate_file(out: str | os.PathLike, n_events: int, seed: int, config: UnfoldingConfig,
                  workers: int = 1, command: str = "", extend: str | os.PathLike | None = None,
                  fresh_command: str | None = None, shard: Shard | None = None) -> PairedEvents:
    """Generate paired events (:func:`generate_pairs`) and write them to ``out`` atomically.

    Args:
        extend: an earlier file of the same seed and chunk size whose events are kept.
        command: the command that ran; fresh_command: the command that makes the same file
            without ``extend`` (the file's ``command``; with ``extend`` the attribute
            ``commands`` lists the earlier file's command and ``command``).
        shard: run only this shard's chunks (jetviz.simulation.shards).
    """
    if n_events < 1 or config.chunk < 1 or workers < 1:
        raise JetvizInputError("--events, --chunk and --workers must be positive")
    old = read_pairs(extend) if extend else None
    pairs = generate_pairs(n_events, seed, config, workers=workers,
                           command=fresh_command or command, extend=old, shard=shard)
    if old is not None:  # the same file as a fresh run; say how it was made
        pairs.attrs["commands"] = [old.attrs.get("command", ""), command]
    write_pairs(out, pairs)
    return pairs


def _check_extendable(old: PairedEvents, n_events: int, seed: int,
                      config: UnfoldingConfig) -> int:
    """Number of whole chunks of ``old`` that a run with these arguments would reproduce."""
    settings = old.attrs.get("settings", "{}")
    settings = json.loads(settings) if isinstance(settings, str) else settings
    same = (old.attrs.get("seed") == seed and settings.get("chunk") == config.chunk
            and settings.get("mpi") == config.mpi and settings.get("n_jets") == config.n_jets)
    if not same:
        raise JetvizInputError("--extend: the file was made with another seed, chunk size or "
                               "settings; use the same --seed/--chunk/--mpi")
    if len(old) >= n_events:
        raise JetvizInputError(f"--extend: the file already has {len(old)} ≥ {n_events} events")
    return len(old) // config.chunk


def json_card(card: DetectorCard) -> dict:
    """The card as a JSON-ready dict (stored as the file attribute ``detector_card``)."""
    return json.loads(card.to_json())
