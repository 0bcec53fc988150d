"""Sharded generation: 3 shards of tiny real Pythia runs merge into the unsharded file (arrays
bit for bit, attributes equal but for the command's --out, timings and ``merged_from``), and
shards that do not make one run, or a bad --shard, are refused with a clear message."""

from __future__ import annotations

import json
import shutil

import h5py
import numpy as np
import pytest

from jetviz import cli
from jetviz.errors import JetvizInputError
from jetviz.simulation.shards import Shard, command_without, owned, shard_from_text

JETS = ["generate", "jets", "--classes", "w", "q", "--per-class", "3", "--chunk", "2",
        "--particles", "20", "--workers", "1"]  # 2 classes × chunks of 2 + 1 jets: 4 chunks
EVENTS = ["generate", "events", "--per-theory", "2", "--chunk", "1", "--gluino", "1000",
          "--neutralino", "500", "--backgrounds", "ttbar", "--workers", "1"]  # 4 chunks
PAIRS = ["unfold", "generate", "--events", "5", "--chunk", "2", "--workers", "1"]  # 3 chunks
# the only attributes of a merged file that may differ from the unsharded file's: timings
# inside ``stats``, the command's --out, and the list of the shards' commands
TIMINGS = {"seconds", "jets_per_second", "events_per_second", "kept_per_second"}


def _run(args: list[str]) -> None:
    assert cli.main(args) == 0


def _sharded(tmp, args: list[str], name: str, n: int = 3) -> dict:
    """The unsharded file, its n shards and their merge, made by the command line."""
    paths = {"full": tmp / f"{name}_full.h5", "merged": tmp / f"{name}_merged.h5",
             "shards": [tmp / f"{name}_{i}.h5" for i in range(n)]}
    _run([*args, "--out", str(paths["full"])])
    for i, path in enumerate(paths["shards"]):
        _run([*args, "--shard", f"{i}/{n}", "--out", str(path)])
    _run(["merge", str(paths["merged"]), *map(str, reversed(paths["shards"]))])
    return paths


def _without_timings(stats: dict) -> dict:
    return {k: _without_timings(v) if isinstance(v, dict) else v
            for k, v in stats.items() if k not in TIMINGS}


def _assert_same_content(merged, full) -> None:
    with h5py.File(merged) as m, h5py.File(full) as f:
        assert sorted(m) == sorted(f)
        for name in f:
            assert m[name].dtype == f[name].dtype
            np.testing.assert_array_equal(m[name][()], f[name][()], strict=True)
        assert set(m.attrs) == {*f.attrs, "merged_from"}
        for key in f.attrs:
            if key not in ("command", "stats"):
                assert m.attrs[key] == f.attrs[key], key
        assert (command_without(m.attrs["command"], ["--out"])
                == command_without(f.attrs["command"], ["--out"]))
        assert "--shard" not in m.attrs["command"]
        stats_m, stats_f = json.loads(m.attrs["stats"]), json.loads(f.attrs["stats"])
        assert _without_timings(stats_m) == _without_timings(stats_f)
        assert len(json.loads(m.attrs["merged_from"])) == 3


@pytest.fixture(scope="module")
def jets(tmp_path_factory):
    return _sharded(tmp_path_factory.mktemp("jets"), JETS, "jets")


def test_shards_split_the_chunks_round_robin():
    for chunks in (3, 4, 10):
        parts = [owned(Shard(i, 3), chunks) for i in range(3)]
        assert sorted(k for part in parts for k in part) == list(range(chunks))
        assert all(k % 3 == i for i, part in enumerate(parts) for k in part)
    assert owned(None, 4) == [0, 1, 2, 3]


def test_merged_jets_equal_the_unsharded_file(jets):
    _assert_same_content(jets["merged"], jets["full"])
    with h5py.File(jets["full"]) as f:
        assert len(f["jets"]) == 6 and "shard" not in f.attrs
    rows = []
    for i, path in enumerate(jets["shards"]):
        with h5py.File(path) as h5:
            info = json.loads(h5.attrs["shard"])
            assert (info["index"], info["count"], info["chunks"]) == (i, 3, 4)
            assert [r["chunk"] for r in info["records"]] == owned(Shard(i, 3), 4)
            assert len(h5["jets"]) == sum(r["rows"] for r in info["records"])
            rows.append(len(h5["jets"]))
    # chunks 0–3 are w (2 jets), w (1), q (2), q (1): shard 0 has 0 and 3, 1 has 1, 2 has 2
    assert rows == [3, 1, 2]


def test_merged_events_and_unfolding_pairs_equal_the_unsharded_file(tmp_path):
    events = _sharded(tmp_path, EVENTS, "events")
    _assert_same_content(events["merged"], events["full"])
    pairs = _sharded(tmp_path, [*PAIRS, "--seed", "3"], "pairs")
    _assert_same_content(pairs["merged"], pairs["full"])


def _refused(args: list[str], capsys, message: str) -> None:
    assert cli.main(args) == 2
    assert message in capsys.readouterr().err


def test_shards_that_do_not_make_one_run_are_refused(jets, tmp_path, capsys):
    out = tmp_path / "out.h5"
    s0, s1, s2 = map(str, jets["shards"])
    _refused(["merge", str(out), s0, s1], capsys, "shard(s) 2/3 missing")
    _refused(["merge", str(out), s0, s1, s1, s2], capsys, "shard 1/3 is given twice")
    foreign = tmp_path / "seed2.h5"
    _run([*JETS, "--seed", "2", "--shard", "1/3", "--out", str(foreign)])
    _refused(["merge", str(out), s0, str(foreign), s2], capsys,
             f"{foreign} does not belong with {s0}: command, seed differ")
    other_n = tmp_path / "of2.h5"
    _run([*JETS, "--shard", "1/2", "--out", str(other_n)])
    _refused(["merge", str(out), s0, str(other_n), s2], capsys, "is shard 1/2")
    events = tmp_path / "events.h5"
    _run([*EVENTS, "--shard", "1/3", "--out", str(events)])
    _refused(["merge", str(out), s0, str(events), s2], capsys, "is a jetviz-events file")
    _refused(["merge", str(out), s0, str(jets["full"]), s2], capsys, "is not a shard")
    _refused(["merge", s0, s1, s2], capsys, "is a shard file; the first argument")
    _refused(["merge", str(out), s0, s1, str(tmp_path / "nothing.h5")], capsys,
             "no such file")
    altered = tmp_path / "altered.h5"
    shutil.copy(s1, altered)
    with h5py.File(altered, "r+") as h5:
        info = json.loads(h5.attrs["shard"])
        info["records"][0]["rows"] += 1
        h5.attrs["shard"] = json.dumps(info)
    _refused(["merge", str(out), s0, str(altered), s2], capsys, "the file was altered")
    assert not out.exists() and not list(tmp_path.glob(".*.tmp"))
    # --workers does not change a run's content, so shards made with others still merge
    other_workers = tmp_path / "w2.h5"
    _run([*JETS[:-1], "2", "--shard", "1/3", "--out", str(other_workers)])
    _run(["merge", str(out), s0, str(other_workers), s2])
    _assert_same_content(out, jets["full"])


@pytest.mark.parametrize("spec", ["3/3", "0/0", "a/b", "1", "-1/3", "1/3/5", "1/ 3x"])
def test_a_bad_shard_spec_is_refused(spec, tmp_path, capsys):
    with pytest.raises(JetvizInputError, match="--shard"):
        shard_from_text(spec)
    out = tmp_path / "bad.h5"
    if not spec.startswith("-"):  # argparse itself refuses a value that looks like a flag
        _refused([*JETS, "--shard", spec, "--out", str(out)], capsys, "--shard")
    assert not out.exists()


def test_more_shards_than_chunks_is_refused(tmp_path, capsys):
    out = tmp_path / "bad.h5"
    _refused([*JETS, "--shard", "4/5", "--out", str(out)], capsys, "only 4 chunk(s)")
    _refused([*PAIRS, "--shard", "0/4", "--out", str(out)], capsys, "only 3 chunk(s)")
    assert not out.exists()


def test_extend_and_shard_do_not_go_together(tmp_path, capsys):
    first = tmp_path / "first.h5"
    _run([*PAIRS[:3], "2", *PAIRS[4:], "--out", str(first)])
    _refused([*PAIRS, "--shard", "0/2", "--extend", str(first), "--out",
              str(tmp_path / "x.h5")], capsys, "--extend and --shard do not go together")
