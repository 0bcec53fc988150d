"""Serving to a class: data roots for typed paths, lazy capped reads of huge declared files,
the training queue and budget (jetviz.serving, jetviz.readers, jetviz.readers.store)."""

from __future__ import annotations

import os
import threading
import time
import tracemalloc
from pathlib import Path

import h5py
import numpy as np
import pytest

from jetviz import readers, serving
from jetviz.errors import JetvizInputError
from jetviz.paths import CHECKPOINTS
from jetviz.readers.store import write_jets
from tests.conftest import make_jetset

SECRET = b"root:x:0:0:root:/root:/bin/bash\n"


# ---------------------------------------------------------------- data roots


@pytest.fixture
def layout(tmp_path: Path) -> dict[str, Path]:
    """An allowed root with a jet file, and a forbidden folder with a secret beside it."""
    allowed, forbidden = tmp_path / "allowed", tmp_path / "forbidden"
    allowed.mkdir()
    forbidden.mkdir()
    write_jets(allowed / "jets.h5", make_jetset(20, 8))
    (forbidden / "passwd").write_bytes(SECRET)
    (allowed / "link").symlink_to(forbidden / "passwd")
    return {"allowed": allowed, "forbidden": forbidden,
            "env": {serving.ROOTS_ENV: str(allowed)}}


def test_a_path_inside_a_root_resolves(layout):
    env = layout["env"]
    assert serving.resolve_data_path(str(layout["allowed"] / "jets.h5"), env) == (
        layout["allowed"] / "jets.h5").resolve()
    shipped = serving.resolve_data_path("checkpoints/jets_default.h5", env)
    assert shipped == CHECKPOINTS.resolve() / "jets_default.h5"


@pytest.mark.parametrize("typed", [
    "/etc/passwd",
    "{allowed}/../forbidden/passwd",
    "{allowed}/link",  # a symlink inside the root that points outside
    "checkpoints/../../../../../../etc/passwd",
    "~/.bashrc",
    "/proc/self/cmdline",
    "{forbidden}/no-such-file",  # missing and forbidden read the same: no existence oracle
])
def test_paths_outside_every_root_get_one_message(layout, typed):
    text = typed.format(**{k: v for k, v in layout.items() if k != "env"})
    with pytest.raises(serving.PathNotAllowedError) as caught:
        serving.resolve_data_path(text, layout["env"])
    assert str(caught.value) == serving.OUTSIDE_ROOTS
    assert serving.ROOTS_ENV in str(caught.value) and "root:x" not in str(caught.value)


def test_path_entry_can_be_switched_off(layout):
    env = {**layout["env"], serving.ALLOW_PATHS_ENV: "0"}
    assert not serving.path_entry_allowed(env)
    assert serving.path_entry_allowed(layout["env"])
    with pytest.raises(serving.PathNotAllowedError, match="switched off"):
        serving.resolve_data_path(str(layout["allowed"] / "jets.h5"), env)


def test_several_roots_separated_by_pathsep(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    env = {serving.ROOTS_ENV: f"{a}{os.pathsep}{b}"}
    assert {a.resolve(), b.resolve()} <= set(serving.data_roots(env))
    assert serving.resolve_data_path(str(b / "x.h5"), env) == b.resolve() / "x.h5"


def test_data_file_stamps_a_file_and_explains_folders_and_missing_files(layout, tmp_path):
    path = layout["allowed"] / "jets.h5"
    found = serving.data_file(path, "default")
    assert found.path == str(path.resolve()) and found.size == path.stat().st_size
    assert found.mtime_ns == path.stat().st_mtime_ns
    assert serving.data_file(str(path), "path", layout["env"]) == found  # typed, in a root
    with pytest.raises(JetvizInputError, match="is a folder"):
        serving.data_file(layout["allowed"], "default")
    with pytest.raises(JetvizInputError, match=r"embedded default data set.*jetviz generate"):
        serving.data_file(tmp_path / "nowhere.h5", "default")
    with pytest.raises(JetvizInputError, match=r"a jet file here.*check the path"):
        serving.data_file(layout["allowed"] / "nowhere.h5", "path", layout["env"])
    with pytest.raises(serving.PathNotAllowedError):  # typed paths stay inside the roots
        serving.data_file(layout["forbidden"] / "passwd", "path", layout["env"])


def test_default_jets_path_follows_the_environment(tmp_path):
    from jetviz.paths import DEFAULT_JETS

    assert serving.default_jets_path({}) == DEFAULT_JETS
    other = tmp_path / "mine.h5"
    assert serving.default_jets_path({serving.DEFAULT_JETS_ENV: str(other)}) == other


def test_unforeseen_reader_failures_name_the_file_and_quote_nothing(tmp_path, monkeypatch):
    from jetviz.readers import load

    def broken(*args, **kwargs):
        raise KeyError(SECRET.decode())

    monkeypatch.setattr(load, "load_jets", broken)
    expected = r"up\.h5: could not be read as jets \(KeyError\)"
    with pytest.raises(JetvizInputError, match=expected) as caught:
        load.load_uploaded_jets("up.h5", b"x", max_jets=10)
    assert "root:x" not in str(caught.value)


def test_uploads_are_read_from_memory_and_named_by_their_digest(tmp_path):
    import hashlib

    from jetviz.readers.load import load_uploaded_jets

    write_jets(tmp_path / "j.h5", make_jetset(20, 8, seed=4))
    data = (tmp_path / "j.h5").read_bytes()
    digest, jets = load_uploaded_jets("mine.h5", data, max_jets=15)
    assert digest == hashlib.sha256(data).hexdigest()
    assert len(jets) == 15 and jets.source == "mine.h5" and jets.attrs["capped_at"] == 15


def test_reader_messages_never_quote_the_bytes_of_a_server_file(tmp_path):
    for content in (SECRET, b"a;b;c;d;e;" + SECRET):
        path = tmp_path / "secret.h5"
        path.write_bytes(content)
        with pytest.raises(JetvizInputError) as caught:
            readers.load_jets(path) if content == SECRET else readers.load_events(path)
        assert "root:x" not in str(caught.value) and "/bin/bash" not in str(caught.value)


# ---------------------------------------------------------------- huge declared shapes


def _huge_jetviz(path: Path, declared: int, written: int, p: int = 30) -> None:
    """A jetviz jet file whose datasets declare ``declared`` rows; only ``written`` hold data
    (chunked, no fill: the file stays a few hundred kB)."""
    jets = make_jetset(written, p, seed=3)
    with h5py.File(path, "w") as h5:
        for name, data, row in (("particles", jets.particles, (p, 3)), ("mask", jets.mask, (p,)),
                                ("jets", jets.jets, (5,)),
                                ("labels", jets.labels.astype(np.int8), ())):
            ds = h5.create_dataset(name, shape=(declared, *row), dtype=data.dtype,
                                   chunks=(min(written, 1000), *row))
            ds[:written] = data
        h5.attrs.update({"kind": "jetviz-jets", "schema_version": 1, "radius": 0.8,
                         "class_names": '["g", "q", "t", "w", "z"]'})


def _peak_bytes(fn) -> tuple[object, int, float]:
    tracemalloc.start()
    t0 = time.perf_counter()
    try:
        out = fn()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return out, peak, time.perf_counter() - t0


def _nbytes(jets) -> int:
    return jets.particles.nbytes + jets.mask.nbytes + jets.jets.nbytes + jets.labels.nbytes


@pytest.mark.parametrize("declared", [2_000_000, 10**9])
def test_a_jetviz_file_declaring_a_billion_rows_reads_only_the_cap(tmp_path, declared):
    path = tmp_path / "huge.h5"
    _huge_jetviz(path, declared, written=3000)
    assert path.stat().st_size < 2_000_000
    jets, peak, seconds = _peak_bytes(lambda: readers.load_jets(path, max_jets=2000))
    assert len(jets) == 2000
    assert jets.attrs["n_rows_in_file"] == declared and jets.attrs["capped_at"] == 2000
    assert peak <= 2.5 * _nbytes(jets) + 1_000_000, (peak, _nbytes(jets))
    assert seconds < 5


def test_the_default_cap_is_one_constant():
    import ui.data

    assert ui.data.MAX_JETS_DEFAULT is readers.MAX_JETS_DEFAULT


def test_jetnet_declaring_ten_million_slots_is_refused_before_reading(tmp_path):
    path = tmp_path / "t.hdf5"
    with h5py.File(path, "w") as h5:
        h5.create_dataset("particle_features", shape=(1000, 10**7, 4), dtype="f4",
                          chunks=(1, 1000, 4))
        h5.create_dataset("jet_features", shape=(1000, 4), dtype="f4")

    def attempt() -> str:
        try:
            readers.load_jets(path)
        except JetvizInputError as err:
            return str(err)
        return "read"

    message, peak, seconds = _peak_bytes(attempt)
    assert "declares 10,000,000 particle slots per jet" in message
    assert seconds < 5 and peak < 5_000_000


def test_jetnet_file_declaring_more_rows_reads_the_cap_lazily(tmp_path):
    path = tmp_path / "w.hdf5"
    n, p = 500, 30
    rng = np.random.default_rng(0)
    with h5py.File(path, "w") as h5:
        pf = h5.create_dataset("particle_features", shape=(10**8, p, 4), dtype="f4",
                               chunks=(100, p, 4))
        jf = h5.create_dataset("jet_features", shape=(10**8, 4), dtype="f4", chunks=(100, 4))
        block = rng.uniform(0.01, 0.2, size=(n, p, 4)).astype("f4")
        block[..., 3] = 1.0
        pf[:n] = block
        jf[:n] = rng.uniform(1, 10, size=(n, 4))
    jets, peak, seconds = _peak_bytes(lambda: readers.load_jets(path, max_jets=n))
    assert len(jets) == n and jets.attrs["capped_at"] == n
    assert jets.attrs["n_rows_in_file"] == 10**8
    assert peak <= 2.5 * _nbytes(jets) + 1_000_000 and seconds < 5


def test_events_file_declaring_a_billion_rows_reads_only_the_cap(tmp_path):
    from jetviz.events import EVENT_FEATURES

    path = tmp_path / "events.h5"
    with h5py.File(path, "w") as h5:
        f = h5.create_dataset("features", shape=(10**9, len(EVENT_FEATURES)), dtype="f4",
                              chunks=(1000, len(EVENT_FEATURES)))
        t = h5.create_dataset("theory", shape=(10**9,), dtype="i2", chunks=(1000,))
        f[:1000] = 1.0
        t[:1000] = 0
        h5.attrs.update({"kind": "jetviz-events", "schema_version": 1,
                         "theories": '[{"name": "a", "kind": "background", "m_gluino": null, '
                                     '"m_neutralino": null}]'})
    events, peak, seconds = _peak_bytes(lambda: readers.load_events(path, max_events=1000))
    assert len(events) == 1000 and events.attrs["capped_at"] == 1000
    assert seconds < 5 and peak < 5_000_000


def test_a_csv_with_one_endless_line_is_refused(tmp_path):
    path = tmp_path / "endless.csv"
    path.write_bytes(b"1;a;1;5;0.1;" + b"j,1,1,0,0;" * (readers.MAX_LINE_BYTES // 10 + 10))
    with pytest.raises(JetvizInputError, match="longer than"):
        readers.load_events(path)


# ---------------------------------------------------------------- training queue and budget


def test_budget_refuses_runs_over_jets_times_epochs():
    serving.check_budget(1000, 5, {serving.BUDGET_ENV: "5000"})
    with pytest.raises(JetvizInputError, match=r"exceeds this server's budget of 5,000"):
        serving.check_budget(1000, 6, {serving.BUDGET_ENV: "5000"})


def test_slots_run_one_at_a_time_and_show_queue_positions():
    slots = serving.TrainingSlots(1)
    order, positions = [], {}
    first_in = threading.Event()
    release = threading.Event()

    def first():
        with slots.hold("a"):
            first_in.set()
            order.append("a")
            release.wait(5)

    def second():
        first_in.wait(5)
        with slots.hold("b", on_wait=lambda k: positions.setdefault("b", k), poll_seconds=0.01):
            order.append("b")

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 5
    while slots.position("b") != 1 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert slots.position("a") == 0 and slots.position("b") == 1 and slots.running == 1
    with pytest.raises(JetvizInputError, match="already has a training run"), slots.hold("a"):
        pass
    release.set()
    for t in threads:
        t.join(5)
    assert order == ["a", "b"] and positions["b"] == 1 and slots.running == 0


def test_a_waiter_that_is_stopped_leaves_the_queue():
    slots = serving.TrainingSlots(1)

    def stop(_position):
        raise KeyboardInterrupt

    with slots.hold("a"), pytest.raises(KeyboardInterrupt), slots.hold("b", on_wait=stop):
        pass
    assert slots.position("b") == -1 and slots.running == 0


# ---------------------------------------------------------------- how the server is started


ROOT = Path(__file__).resolve().parents[2]


def test_the_app_listens_on_localhost_with_a_200_mb_upload_limit():
    import tomllib

    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert config["server"]["address"] == "127.0.0.1"
    assert config["server"]["maxUploadSize"] <= 200


@pytest.mark.skipif(not Path("/usr/bin/make").exists(), reason="needs make")
def test_make_app_binds_localhost_and_installs_no_browser():
    import subprocess

    def dry_run(target: str) -> str:
        return subprocess.run(["make", "-n", target], cwd=ROOT, capture_output=True, text=True,
                              check=True).stdout

    app = dry_run("app")
    assert "--server.address 127.0.0.1" in app
    assert "apt-get" not in app and "chromium" not in app
    assert "chromium" in dry_run("test")


def test_every_streamlit_cache_is_bounded():
    import ast

    unbounded = []
    for path in [*ROOT.glob("ui/*.py"), *ROOT.glob("views/*.py"), ROOT / "app.py"]:
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.FunctionDef):
                continue
            for deco in node.decorator_list:
                name = ast.unparse(deco.func if isinstance(deco, ast.Call) else deco)
                if name in ("st.cache_data", "st.cache_resource") and not (
                        isinstance(deco, ast.Call)
                        and any(k.arg == "max_entries" for k in deco.keywords)):
                    unbounded.append(f"{path.name}:{node.name}")
    assert unbounded == []
