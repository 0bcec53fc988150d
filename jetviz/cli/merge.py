"""``jetviz merge OUT SHARD...``: join the N shard files of one sharded run into one file.

A run made with ``--shard i/N`` (``jetviz generate jets|events``, ``jetviz unfold generate``)
is split into N files; merging all N gives the file the unsharded command writes, its arrays
bit for bit (jetviz.simulation.shards). The shards are checked to belong together first; the
merged file is written atomically, one chunk in memory at a time.
"""

from __future__ import annotations

import argparse
import os
import time

from jetviz.errors import JetvizInputError


def configure(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``jetviz merge``."""
    parser.add_argument("out", metavar="OUT", help="the merged HDF5 file to write")
    parser.add_argument("shards", nargs="+", metavar="SHARD",
                        help="all N files of one run made with --shard i/N, in any order")


def _stats_functions() -> dict:
    """kind → the function that makes a file's ``stats`` from its chunk records."""
    from jetviz.simulation.generate import event_stats, jet_stats
    from jetviz.unfolding.data import KIND as UNFOLDING_KIND
    from jetviz.unfolding.generation import pair_stats

    return {"jetviz-jets": jet_stats, "jetviz-events": event_stats,
            UNFOLDING_KIND: pair_stats}


def _check_out(out: str, shards: list[str]) -> None:
    from jetviz.simulation.shards import is_shard_file

    for path in shards:
        if not os.path.exists(path):
            raise JetvizInputError(f"{path}: no such file")
        if os.path.exists(out) and os.path.samefile(out, path):
            raise JetvizInputError(f"the output {out} is also given as a shard; the first "
                                   "argument is the merged file to write")
    if os.path.exists(out) and is_shard_file(out):
        raise JetvizInputError(f"{out} exists and is a shard file; the first argument is the "
                               "merged file to write (jetviz merge OUT SHARD...)")


def run(args: argparse.Namespace) -> int:
    """Check the shards, merge them and write ``args.out`` atomically."""
    from jetviz.readers.store import write_concatenated
    from jetviz.simulation.shards import merge_plan, read_shard

    start = time.perf_counter()
    _check_out(args.out, args.shards)
    stats = _stats_functions()
    files = [read_shard(path, tuple(stats)) for path in args.shards]
    pieces, attrs = merge_plan(files, args.out, stats[files[0].kind])
    rows = write_concatenated(args.out, files[0].kind, pieces, attrs)
    print(f"wrote {args.out}: {rows} rows from {len(files)} shards in "
          f"{time.perf_counter() - start:.1f} s")
    return 0
