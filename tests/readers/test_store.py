import numpy as np
import pytest

from jetviz.errors import JetvizInputError
from jetviz.events import EVENT_FEATURES, EventSet, Theory
from jetviz.files import atomic_path
from jetviz.readers.store import (
    read_events,
    read_file,
    read_jets,
    write_events,
    write_file,
    write_jets,
)
from tests.conftest import make_jetset


def test_jets_round_trip(tmp_path):
    js = make_jetset(n=15, p=7, seed=3)
    p4 = np.random.default_rng(0).normal(size=(15, 7, 4)).astype(np.float32)
    path = tmp_path / "j.h5"
    write_jets(path, js, p4=p4)
    back, p4_back = read_jets(path, with_p4=True)
    np.testing.assert_array_equal(back.particles, js.particles)
    np.testing.assert_array_equal(back.mask, js.mask)
    np.testing.assert_array_equal(back.labels, js.labels)
    np.testing.assert_array_equal(p4_back, p4)
    assert back.class_names == js.class_names


def test_events_round_trip(tmp_path):
    rng = np.random.default_rng(1)
    theories = (Theory("gluino 1000/100", "susy", 1000.0, 100.0), Theory("ttbar", "background"))
    ev = EventSet(rng.normal(size=(10, len(EVENT_FEATURES))).astype(np.float32),
                  rng.integers(0, 2, 10), theories)
    write_events(tmp_path / "e.h5", ev)
    back = read_events(tmp_path / "e.h5")
    np.testing.assert_array_equal(back.features, ev.features)
    assert back.theories[0] == theories[0]
    assert np.isnan(back.theories[1].m_gluino)


def test_failed_write_keeps_existing_file(tmp_path):
    path = tmp_path / "keep.txt"
    path.write_text("precious")
    with pytest.raises(RuntimeError), atomic_path(path) as tmp:
        tmp.write_text("half")
        raise RuntimeError("interrupted")
    assert path.read_text() == "precious"
    assert list(tmp_path.iterdir()) == [path]


def test_finished_file_gets_the_usual_mode_even_if_its_writer_made_it_private(tmp_path):
    import os
    import stat

    from safetensors.numpy import save_file

    umask = os.umask(0o022)
    os.umask(umask)
    with atomic_path(tmp_path / "w.safetensors") as tmp:
        save_file({"x": np.zeros(3, np.float32)}, str(tmp))  # writes the file 0600
    mode = stat.S_IMODE((tmp_path / "w.safetensors").stat().st_mode)
    assert mode == 0o666 & ~umask


def test_wrong_kind_is_named(tmp_path):
    ev_path = tmp_path / "e.h5"
    write_events(ev_path, EventSet(np.zeros((2, 18), np.float32), np.zeros(2, int),
                                   (Theory("x", "susy", 1.0, 0.0),)))
    with pytest.raises(JetvizInputError, match="expected a jetviz-jets file"):
        read_jets(ev_path)


def test_nan_jets_rejected():
    js = make_jetset(n=5)
    particles = js.particles.copy()
    particles[2, 0, 1] = np.nan
    with pytest.raises(JetvizInputError, match="NaN"):
        type(js)(particles, js.mask, js.jets, js.labels)


def test_written_file_has_usual_permissions(tmp_path):
    import os
    path = tmp_path / "j.h5"
    write_jets(path, make_jetset(n=3))
    umask = os.umask(0)
    os.umask(umask)
    assert (path.stat().st_mode & 0o777) == 0o666 & ~umask


def test_any_kind_round_trips_datasets_and_attributes(tmp_path):
    path = tmp_path / "x.h5"
    arrays = {"a": np.arange(6, dtype=np.float16).reshape(2, 3), "b": np.array([1, -2], np.int8)}
    write_file(path, "jetviz-test", arrays, {"seed": 7, "name": "toy", "settings": {"k": [1, 2]}})
    back, attrs = read_file(path, "jetviz-test", ("a", "b"))
    for name, value in arrays.items():
        np.testing.assert_array_equal(back[name], value)
        assert back[name].dtype == value.dtype
    assert attrs["kind"] == "jetviz-test" and attrs["seed"] == 7 and attrs["name"] == "toy"
    assert attrs["settings"] == '{"k": [1, 2]}'  # anything but a string or number: JSON
    with pytest.raises(JetvizInputError, match="expected a jetviz-jets file, found kind"):
        read_file(path, "jetviz-jets", ("a",))
    with pytest.raises(JetvizInputError, match="dataset 'c' is missing"):
        read_file(path, "jetviz-test", ("c",))
