"""The app as a class would meet it (AppTest): typed paths only inside the data roots, no byte
of a server file in any message, path entry switched off, uploads parsed from memory, and a
file declaring more jets than the cap read only up to it, saying so."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest

from jetviz.readers.store import write_jets
from jetviz.serving import ALLOW_PATHS_ENV, OUTSIDE_ROOTS, ROOTS_ENV
from tests.conftest import make_jetset
from tests.pages.test_serving import SECRET, _huge_jetviz
from tests.support_apptest import app_test
from ui.data import DEFAULT_ENV

THEORY_MAP = "views/theory_map.py"


@pytest.fixture
def server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    """A default jet file in an allowed root, and a secret file outside every root."""
    allowed, outside = tmp_path / "allowed", tmp_path / "outside"
    allowed.mkdir()
    outside.mkdir()
    write_jets(allowed / "default.h5", make_jetset(40, 8, seed=1))
    (outside / "passwd").write_bytes(SECRET)
    write_jets(outside / "private.h5", make_jetset(30, 8, seed=2))
    monkeypatch.setenv(DEFAULT_ENV, str(allowed / "default.h5"))
    monkeypatch.setenv(ROOTS_ENV, str(allowed))
    return {"allowed": allowed, "outside": outside}


def _type_path(at, text: str):
    at.sidebar.radio(key="jetviz_data_source").set_value("File path").run()
    at.sidebar.text_input(key="jetviz_data_path").input(text).run()
    assert not at.exception, at.exception
    return at


def _in_use(at) -> str:
    return " ".join(c.value for c in at.sidebar.caption if c.value.startswith("In use"))


@pytest.mark.parametrize("typed", [
    "{outside}/passwd", "{allowed}/../outside/passwd", "{outside}/private.h5",
    "{outside}/does-not-exist.h5", "/etc/passwd", "../../../../../../../../etc/passwd",
    "~/.bashrc", "/proc/self/cmdline",
])
def test_sidebar_path_outside_the_roots_shows_one_message_and_no_byte(server, monkeypatch,
                                                                      typed):
    at = _type_path(app_test(monkeypatch), typed.format(**server))
    assert len(at.error) == 1
    message = at.error[0].value
    assert OUTSIDE_ROOTS.rstrip(".") in message
    assert "root:x" not in message and "/bin/bash" not in message
    assert "no such file" not in message  # the same words whether or not the file exists
    assert "embedded default" in _in_use(at) and "40 jets" in _in_use(at)


def test_sidebar_path_inside_a_root_loads(server, monkeypatch):
    write_jets(server["allowed"] / "other.h5", make_jetset(25, 8, seed=4))
    at = _type_path(app_test(monkeypatch), str(server["allowed"] / "other.h5"))
    assert not at.error and "other.h5" in _in_use(at)


def test_a_non_jet_file_inside_a_root_is_not_echoed(server, monkeypatch):
    (server["allowed"] / "notes.h5").write_bytes(SECRET)
    at = _type_path(app_test(monkeypatch), str(server["allowed"] / "notes.h5"))
    assert len(at.error) == 1 and "root:x" not in at.error[0].value


def test_path_entry_switched_off_removes_the_path_boxes(server, monkeypatch):
    monkeypatch.setenv(ALLOW_PATHS_ENV, "0")
    at = app_test(monkeypatch)
    assert "File path" not in at.sidebar.radio(key="jetviz_data_source").options
    assert not at.sidebar.text_input
    at.switch_page(THEORY_MAP).run()
    assert not at.exception, at.exception
    assert not [t for t in at.text_input if t.key == "theorymap_path"]


def test_theory_map_path_outside_the_roots_is_refused(server, monkeypatch):
    at = app_test(monkeypatch)
    at.switch_page(THEORY_MAP).run()
    at.text_input(key="theorymap_path").set_value("/etc/passwd")
    at.button(key="theorymap_project").click().run()
    assert not at.exception, at.exception
    assert any(OUTSIDE_ROOTS.rstrip(".") in e.value for e in at.error)
    assert not any("root:x" in e.value for e in at.error)


def test_uploads_are_parsed_from_memory_and_leave_no_file(server, monkeypatch, tmp_path):
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    at = app_test(monkeypatch)
    at.sidebar.radio(key="jetviz_data_source").set_value("Upload a file").run()
    uploader = at.sidebar.get("file_uploader")[0]
    uploader.upload("bad.h5", b"not hdf5 at all").run()
    assert len(at.error) == 1
    good = server["outside"] / "private.h5"
    at.sidebar.get("file_uploader")[0].upload("mine.h5", good.read_bytes()).run()
    assert not at.exception and not at.error
    assert "mine.h5" in _in_use(at) and "30 jets" in _in_use(at)
    at.switch_page("views/data.py").run()  # the upload holds on the next page
    assert not at.exception and "mine.h5" in _in_use(at)
    assert list(scratch.iterdir()) == []  # nothing written, rejected or accepted


def test_a_file_declaring_a_billion_jets_loads_capped_and_says_so(server, monkeypatch):
    monkeypatch.setattr("ui.data.MAX_JETS_DEFAULT", 1500)
    path = server["allowed"] / "huge.h5"
    _huge_jetviz(path, declared=10**9, written=2000, p=8)
    at = _type_path(app_test(monkeypatch), str(path))
    assert not at.error, [e.value for e in at.error]
    assert "1,500 jets" in _in_use(at)
    captions = " ".join(c.value for c in at.sidebar.caption)
    assert "declares 1,000,000,000 jets" in captions and "first 1,500" in captions
