"""Sharded generation: one run's fixed chunks split over N independent jobs, and their merge.

Vocabulary
----------
A run (``jetviz generate jets|events``, ``jetviz unfold generate``) is a list of fixed chunks
numbered k = 0, 1, …, K − 1 in the order their rows appear in the unsharded file (item by item,
chunk by chunk within an item); chunk k runs its own Pythia seeded from the user's seed and k
(``simulation.generate.chunk_seed``). Shard i of N (``--shard i/N``) runs exactly the chunks
with k % N == i — round robin, so every shard gets a share of every class, slow ones included
— with the very seeds the unsharded run gives them. Merging the N shard files therefore
reassembles the unsharded file: the same rows in the same order, bit for bit.

A shard file is an ordinary jetviz file of its kind whose rows are its chunks in increasing k,
plus the attribute ``shard``:

  {"index": i, "count": N, "chunks": K,
   "records": [{"chunk": k, "item": name, "rows": n, "events": e, "seconds": s}, …]}

(``events``: Pythia events tried for the chunk; ``seconds``: its wall time). The merge
recomputes the file's ``stats`` from all records, so counts (events, jets per event, kept
fraction) equal the unsharded run's; only the timings differ.
"""

from __future__ import annotations

import json
import os
import shlex
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from jetviz.errors import JetvizInputError

SHARD_ATTR = "shard"
MERGED_ATTR = "merged_from"  # the merged file's list of its shards' commands
# Flags that do not change a run's content (each takes one value): removed before comparing
# two shards' commands. --shard and --out differ between shards by design; --workers may
# differ between machines and does not change the output (chunks are seeded, not workers).
_FREE_FLAGS = ("--shard", "--out", "--workers")


@dataclass(frozen=True)
class Shard:
    """Shard ``index`` of ``count`` (0 ≤ index < count); ``Shard(0, 1)`` is a whole run that
    is still written as a shard file (so a batch job with N = 1 merges like any other)."""

    index: int = 0
    count: int = 1

    def __post_init__(self) -> None:
        if not 0 <= self.index < self.count:
            raise JetvizInputError(
                f"--shard {self.index}/{self.count}: need 0 ≤ i < N (shards of N are numbered "
                f"0 to N − 1)")

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"

    def owns(self, chunk: int) -> bool:
        """True if global chunk number ``chunk`` belongs to this shard (round robin)."""
        return chunk % self.count == self.index


def shard_from_text(text: str | None) -> Shard | None:
    """The shard of a ``--shard i/N`` value (None: no sharding)."""
    if text is None:
        return None
    parts = text.split("/")
    if len(parts) != 2 or not all(p.strip().isdigit() for p in parts):
        raise JetvizInputError(f"--shard {text!r}: expected i/N with integers 0 ≤ i < N, "
                               "e.g. --shard 0/4 for the first of four shards")
    index, count = int(parts[0]), int(parts[1])
    if count < 1:
        raise JetvizInputError(f"--shard {text}: N must be at least 1")
    return Shard(index, count)


def owned(shard: Shard | None, chunks: int) -> list[int]:
    """The chunk numbers (of ``chunks``) that ``shard`` runs (all of them for None).

    Refuses a shard count that would leave a shard with no chunk to run.
    """
    if shard is None:
        return list(range(chunks))
    if shard.count > chunks:
        raise JetvizInputError(
            f"--shard {shard}: the run has only {chunks} chunk(s), so some of {shard.count} "
            f"shards would be empty; use N ≤ {chunks} or a smaller --chunk")
    return [k for k in range(chunks) if shard.owns(k)]


def shard_attr(shard: Shard, chunks: int, records: Sequence[dict]) -> dict:
    """The ``shard`` attribute of a shard file (see the module docstring)."""
    return {"index": shard.index, "count": shard.count, "chunks": chunks,
            "records": list(records)}


# ---------------------------------------------------------------------------------------------
# Merging


@dataclass(frozen=True)
class ShardFile:
    """One shard file's kind, datasets' (shape, dtype) and attributes (no data read)."""

    path: str
    kind: str
    layout: dict[str, tuple[tuple[int, ...], np.dtype]]
    attrs: dict


def read_shard(path: str | os.PathLike, kinds: Sequence[str]) -> ShardFile:
    """A jetviz file of one of ``kinds``, its ``shard`` attribute parsed (if it has one)."""
    from jetviz.readers.store import read_layout

    kind, layout, attrs = read_layout(path, kinds)
    if SHARD_ATTR in attrs:
        try:
            info = json.loads(attrs[SHARD_ATTR])
            info = {key: info[key] for key in ("index", "count", "chunks", "records")}
        except (TypeError, ValueError, KeyError) as err:
            raise JetvizInputError(f"{path}: its '{SHARD_ATTR}' attribute is damaged "
                                   f"({err}); make the shard again") from err
        attrs[SHARD_ATTR] = info
    return ShardFile(str(path), kind, layout, attrs)


def is_shard_file(path: str | os.PathLike) -> bool:
    """True if ``path`` is an HDF5 file with a ``shard`` attribute."""
    import h5py

    try:
        with h5py.File(path, "r") as h5:
            return SHARD_ATTR in h5.attrs
    except (OSError, ValueError):
        return False


def command_without(command: str, flags: Sequence[str] = _FREE_FLAGS) -> str:
    """``command`` without the one-value options ``flags``."""
    words, out, skip = shlex.split(command), [], False
    for word in words:
        if skip:
            skip = False
        elif word in flags:
            skip = True
        else:
            out.append(word)
    return shlex.join(out)


def _merged_command(command: str, out: str | os.PathLike) -> str:
    """The unsharded command writing to ``out``: --shard dropped, --out replaced."""
    words = shlex.split(command_without(command, ("--shard",)))
    if "--out" in words:
        words[words.index("--out") + 1] = str(out)
    return shlex.join(words)


def _identity(attrs: dict) -> dict:
    """The attributes that fix a run's content: all but timings, commands and shard info."""
    skip = {SHARD_ATTR, MERGED_ATTR, "stats", "command", "commands"}
    return {**{k: v for k, v in attrs.items() if k not in skip},
            "command": command_without(str(attrs.get("command", "")))}


def _check_together(files: Sequence[ShardFile]) -> tuple[int, int]:
    """Refuse shards that do not make one run; returns (N, K)."""
    first = files[0]
    for f in files:
        if f.kind != first.kind:
            raise JetvizInputError(f"{f.path} is a {f.kind} file but {first.path} is a "
                                   f"{first.kind} file: merge shards of one run only")
        if not isinstance(f.attrs.get(SHARD_ATTR), dict):
            raise JetvizInputError(f"{f.path} is not a shard (no '{SHARD_ATTR}' attribute): "
                                   "give the files made with --shard i/N")
    want = _identity(first.attrs)
    for f in files[1:]:
        found = _identity(f.attrs)
        differ = sorted(k for k in want.keys() | found.keys() if want.get(k) != found.get(k))
        if differ:
            detail = (f": {found['command']!r} vs {want['command']!r}"
                      if "command" in differ else "")
            raise JetvizInputError(
                f"{f.path} does not belong with {first.path}: {', '.join(differ)} differ"
                f"{detail}; merge the shards of one command (only --shard, --out and "
                "--workers may differ)")
    count, chunks = first.attrs[SHARD_ATTR]["count"], first.attrs[SHARD_ATTR]["chunks"]
    seen: dict[int, str] = {}
    for f in files:
        info = f.attrs[SHARD_ATTR]
        if info["count"] != count or info["chunks"] != chunks:
            raise JetvizInputError(f"{f.path} is shard {info['index']}/{info['count']} but "
                                   f"{first.path} is one of {count}: use one --shard N")
        if info["index"] in seen:
            raise JetvizInputError(f"shard {info['index']}/{count} is given twice: "
                                   f"{seen[info['index']]} and {f.path}")
        seen[info["index"]] = f.path
    missing = [f"{i}/{count}" for i in range(count) if i not in seen]
    if missing:
        raise JetvizInputError(f"shard(s) {', '.join(missing)} missing: all {count} shards of "
                               "the run are needed")
    return count, chunks


def _chunks_of(f: ShardFile, chunks: int) -> list[tuple[int, str, int, int]]:
    """(chunk number, file, first row, end row) of each chunk of one shard, checked against
    its records."""
    info = f.attrs[SHARD_ATTR]
    records = info["records"]
    numbers = [r["chunk"] for r in records]
    if numbers != owned(Shard(info["index"], info["count"]), chunks):
        raise JetvizInputError(f"{f.path}: its chunks {numbers[:8]} are not those of shard "
                               f"{info['index']}/{info['count']} of a {chunks}-chunk run; the "
                               "file was altered")
    edges = np.cumsum([0, *(r["rows"] for r in records)]).tolist()
    for name, (shape, _) in f.layout.items():
        if shape[0] != edges[-1]:
            raise JetvizInputError(f"{f.path}: dataset {name!r} has {shape[0]} rows, its "
                                   f"chunks say {edges[-1]}; the file was altered")
    return [(k, f.path, a, b) for k, a, b in zip(numbers, edges[:-1], edges[1:], strict=True)]


def merge_plan(files: Sequence[ShardFile], out: str | os.PathLike,
               stats_from_records: Callable[[list[dict]], dict]
               ) -> tuple[list[tuple[str, int, int]], dict]:
    """How to write the unsharded file that ``files`` split, after checking they make one run.

    Args:
        files: all N shards of one run, in any order.
        out: the merged file's path (its command's --out).
        stats_from_records: the run's ``stats`` attribute from its chunk records.

    Returns:
        the (file, first row, end row) of every chunk in the unsharded file's order, and its
        attributes: the shards' own, with ``command`` the unsharded command writing ``out``,
        ``stats`` recomputed from all chunk records, ``merged_from`` the shards' commands, and
        no ``shard``.
    """
    if not files:
        raise JetvizInputError("no shard given")
    _check_together(files)
    ordered = sorted(files, key=lambda f: f.attrs[SHARD_ATTR]["index"])
    first = ordered[0]
    for f in ordered:
        rows = {name: (shape[1:], dtype) for name, (shape, dtype) in f.layout.items()}
        if rows != {name: (shape[1:], dtype) for name, (shape, dtype) in first.layout.items()}:
            raise JetvizInputError(f"{f.path} holds datasets {sorted(f.layout)} shaped unlike "
                                   f"those of {first.path}; the file was altered")
    chunks = first.attrs[SHARD_ATTR]["chunks"]
    pieces = sorted((piece for f in ordered for piece in _chunks_of(f, chunks)),
                    key=lambda piece: piece[0])
    records = sorted((r for f in ordered for r in f.attrs[SHARD_ATTR]["records"]),
                     key=lambda r: r["chunk"])
    attrs = {k: v for k, v in first.attrs.items() if k not in (SHARD_ATTR, "kind")}
    attrs["command"] = _merged_command(str(attrs.get("command", "")), out)
    attrs["stats"] = stats_from_records(records)
    attrs[MERGED_ATTR] = [str(f.attrs.get("command", "")) for f in ordered]
    return [piece[1:] for piece in pieces], attrs
