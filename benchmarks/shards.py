"""Sharded generation: 3 shards + merge against the unsharded run, and merge throughput.

    python benchmarks/shards.py [--per-class 40] [--chunk 10] [--merge-jets 300000]

Prints:
  1. real Pythia jets (classes w and q, one worker each): the unsharded run's seconds, each
     of 3 shards' seconds run one after another, the merge's seconds, the ratio
     (sum of shards + merge) / unsharded (the overhead of sharding on one core; with the
     shards on 3 machines the wall time is the slowest shard's plus the merge), and whether
     every array of the merged file equals the unsharded file's;
  2. the merge of 3 fabricated shards of ``--merge-jets`` jets (30 particles with
     four-vectors, chunks of 1,000) in jets per second, beside the reference of reading the
     merged file whole and writing it again with ``write_jets`` (what a merge holding
     everything in memory would cost), and their ratio.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import h5py
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from jetviz.jets import JetSet  # noqa: E402
from jetviz.readers.store import read_jets, write_jets  # noqa: E402
from jetviz.simulation.shards import Shard, owned, shard_attr  # noqa: E402

JETVIZ = [sys.executable, "-c", "import sys; from jetviz.cli import main; sys.exit(main())"]


def _jetviz(args: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run([*JETVIZ, *args], check=True, cwd=ROOT, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def _same_arrays(a: Path, b: Path) -> bool:
    with h5py.File(a) as fa, h5py.File(b) as fb:
        return sorted(fa) == sorted(fb) and all(
            fa[k].dtype == fb[k].dtype and np.array_equal(fa[k][()], fb[k][()]) for k in fa)


def pythia_shards(tmp: Path, per_class: int, chunk: int) -> None:
    args = ["generate", "jets", "--classes", "w", "q", "--per-class", str(per_class),
            "--chunk", str(chunk), "--workers", "1"]
    full = _jetviz([*args, "--out", str(tmp / "full.h5")])
    shards = [_jetviz([*args, "--shard", f"{i}/3", "--out", str(tmp / f"s{i}.h5")])
              for i in range(3)]
    merge = _jetviz(["merge", str(tmp / "merged.h5"), *(str(tmp / f"s{i}.h5") for i in range(3))])
    same = _same_arrays(tmp / "merged.h5", tmp / "full.h5")
    print(f"1. {2 * per_class} Pythia jets: unsharded {full:.1f} s; shards "
          f"{', '.join(f'{s:.1f}' for s in shards)} s; merge {merge:.1f} s; "
          f"(shards + merge) / unsharded = {(sum(shards) + merge) / full:.2f}; "
          f"merged arrays equal the unsharded file's: {same}")


def merge_throughput(tmp: Path, n_jets: int) -> None:
    rng = np.random.default_rng(0)
    size, n = 1000, 3
    chunks = n_jets // size
    paths = []
    for i in range(n):
        mine = owned(Shard(i, n), chunks)
        rows = len(mine) * size
        records = [{"chunk": k, "item": "w", "rows": size, "events": size, "seconds": 1.0}
                   for k in mine]
        jets = JetSet(rng.random((rows, 30, 3), dtype=np.float32), np.ones((rows, 30), bool),
                      rng.random((rows, 5), dtype=np.float32), np.zeros(rows, np.int64),
                      ("w",), attrs={"command": f"jetviz generate jets --shard {i}/{n} "
                                                f"--out s{i}.h5",
                                     "shard": shard_attr(Shard(i, n), chunks, records)})
        paths.append(tmp / f"fab{i}.h5")
        write_jets(paths[-1], jets, p4=rng.random((rows, 30, 4), dtype=np.float32))
    merge = _jetviz(["merge", str(tmp / "fab_merged.h5"), *map(str, paths)])
    start = time.perf_counter()
    jets, p4 = read_jets(tmp / "fab_merged.h5", with_p4=True)
    write_jets(tmp / "fab_rewritten.h5", jets, p4=p4)
    reference = time.perf_counter() - start
    total = chunks * size
    print(f"2. merge of {total:,} jets: {total / merge:,.0f} jets/s ({merge:.1f} s, process "
          f"start included); read whole + write_jets: {total / reference:,.0f} jets/s "
          f"({reference:.1f} s); merge / reference time = {merge / reference:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-class", type=int, default=40)
    parser.add_argument("--chunk", type=int, default=10)
    parser.add_argument("--merge-jets", type=int, default=300_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="jetviz-shards-") as tmp:
        pythia_shards(Path(tmp), args.per_class, args.chunk)
        merge_throughput(Path(tmp), args.merge_jets)


if __name__ == "__main__":
    main()
