"""Readers: files written in the published layouts read back into the same jets and events."""

from __future__ import annotations

import io
import math
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest

from jetviz import readers
from jetviz.errors import JetvizInputError
from jetviz.jets import CLASS_NAMES, JetSet
from jetviz.physics import jet_p4s_from_particles, ms_from_p4s, p4s_from_particles, pts_from_p4s
from jetviz.readers import store
from tests.conftest import make_jetset
from tests.support_readers import (
    HLS4ML_JET_NAMES,
    darkmachines_line,
    shuffle_particles,
    write_hls4ml,
    write_jetnet,
    write_toptagging,
)

ONEHOT_ORDER = ("g", "q", "w", "z", "t")  # hls4ml's one-hot order, not jetviz's


def assert_same_jets(got: JetSet, want: JetSet, atol: float = 1e-5) -> None:
    """Same particles (in ptrel order), masks and labels; padded rows exactly zero."""
    assert got.particles.shape == want.particles.shape
    np.testing.assert_array_equal(got.mask, want.mask)
    np.testing.assert_allclose(got.particles, want.particles, atol=atol)
    np.testing.assert_array_equal(got.particles[~got.mask], 0.0)
    np.testing.assert_array_equal([got.class_names[i] for i in got.labels],
                                  [want.class_names[i] for i in want.labels])


# ---------------------------------------------------------------- JetNet


def test_jetnet_round_trip_sorts_and_takes_class_from_name(tmp_path: Path) -> None:
    truth = make_jetset(n=30, p=30, seed=1)
    particles, mask = shuffle_particles(truth.particles, truth.mask, np.random.default_rng(2))
    path = tmp_path / "t.hdf5"
    write_jetnet(path, particles, mask, truth.jets)
    got = readers.load_jets(path)
    want = JetSet(truth.particles, truth.mask, truth.jets,
                  np.full(30, CLASS_NAMES.index("t")), source="truth")
    assert_same_jets(got, want)
    assert got.attrs["format"] == "jetnet" and got.counts()["t"] == 30
    np.testing.assert_allclose(got.particles[..., 0].sum(1), 1.0, atol=1e-5)  # full jets
    assert np.all(np.diff(got.particles[..., 0], axis=1) <= 0)  # sorted by ptrel
    np.testing.assert_array_equal(got.jets[:, 2], 0.0)  # JetNet stores no jet φ
    np.testing.assert_allclose(got.jets[:, [0, 1, 3, 4]], truth.jets[:, [0, 1, 3, 4]])


def test_jetnet_class_explicit_and_unknown(tmp_path: Path) -> None:
    truth = make_jetset(n=5, p=30)
    path = tmp_path / "my_jets.hdf5"
    write_jetnet(path, truth.particles, truth.mask, truth.jets)
    assert readers.load_jets(path, jet_class="w").counts()["w"] == 5
    with pytest.raises(JetvizInputError, match=r"my_jets\.hdf5.*class.*g, q, t, w or z"):
        readers.load_jets(path)
    with pytest.raises(JetvizInputError, match=r"my_jets\.hdf5: unknown jet class 'h'"):
        readers.load_jets(path, jet_class="h")


def test_bytesio_reads_like_the_path_and_uses_the_name(tmp_path: Path) -> None:
    truth = make_jetset(n=12, p=30, seed=3)
    path = tmp_path / "g150.hdf5"
    write_jetnet(path, truth.particles, truth.mask, truth.jets)
    from_path = readers.load_jets(path)
    buffer = io.BytesIO(path.read_bytes())
    from_buffer = readers.load_jets(buffer, name="g150.hdf5")
    assert_same_jets(from_buffer, from_path, atol=0)
    np.testing.assert_array_equal(from_buffer.jets, from_path.jets)
    assert from_buffer.source == "g150.hdf5" and from_buffer.counts()["g"] == 12
    assert readers.count_jets(io.BytesIO(path.read_bytes())) == 12


def test_max_jets_reads_the_first_rows_and_count_jets(tmp_path: Path) -> None:
    truth = make_jetset(n=20, p=30, seed=4)
    path = tmp_path / "q.hdf5"
    write_jetnet(path, truth.particles, truth.mask, truth.jets)
    assert readers.count_jets(path) == 20
    got = readers.load_jets(path, max_jets=7, n_particles=10)
    assert len(got) == 7 and got.n_particles == 10
    np.testing.assert_allclose(got.jets[:, 0], truth.jets[:7, 0])
    np.testing.assert_allclose(got.particles, truth.particles[:7, :10], atol=1e-6)
    with pytest.raises(JetvizInputError, match=r"q\.hdf5: cannot keep 31 particles.*30"):
        readers.load_jets(path, n_particles=31)


def test_empty_jets_are_dropped_and_counted(tmp_path: Path) -> None:
    truth = make_jetset(n=10, p=30, seed=5)
    particles, mask = truth.particles.copy(), truth.mask.copy()
    particles[[2, 7]] = 0.0
    mask[[2, 7]] = False
    path = tmp_path / "z.hdf5"
    write_jetnet(path, particles, mask, truth.jets)
    got = readers.load_jets(path)
    assert len(got) == 8 and got.attrs["dropped_empty_jets"] == 2
    keep = np.setdiff1d(np.arange(10), [2, 7])
    np.testing.assert_allclose(got.jets[:, 0], truth.jets[keep, 0])
    write_jetnet(path, particles * 0, mask & False, truth.jets)
    with pytest.raises(JetvizInputError, match=r"z\.hdf5: no jets after removing padding"):
        readers.load_jets(path)


# ---------------------------------------------------------------- hls4ml


def hls4ml_file(tmp_path: Path, n: int = 25, seed: int = 6) -> tuple[Path, JetSet, np.ndarray]:
    truth = make_jetset(n=n, p=30, seed=seed)
    onehot = np.zeros((n, 6))
    onehot[np.arange(n), np.random.default_rng(seed).integers(0, 5, n)] = 1
    particles, mask = shuffle_particles(truth.particles, truth.mask,
                                        np.random.default_rng(seed + 1))
    path = tmp_path / "jetImage_7_30p_0_10000.h5"
    write_hls4ml(path, particles, mask, truth.jets, onehot)
    return path, truth, onehot


def test_hls4ml_round_trip_labels_by_name_and_jet_phi(tmp_path: Path) -> None:
    path, truth, onehot = hls4ml_file(tmp_path)
    with h5py.File(path) as h5:  # the published quirks: 17 names, 16 columns, bytes names
        assert h5["jetConstituentList"].shape[-1] == 16
        assert len(h5["particleFeatureNames"]) == 17 and len(h5["jetFeatureNames"]) == 59
        assert isinstance(h5["jetFeatureNames"][0], bytes)
    got = readers.load_jets(path)
    names = [ONEHOT_ORDER[i] for i in onehot[:, :5].argmax(1)]
    want = JetSet(truth.particles, truth.mask, truth.jets,
                  np.array([CLASS_NAMES.index(c) for c in names]), source="truth")
    assert_same_jets(got, want)
    np.testing.assert_allclose(got.particles[..., 0].sum(1), 1.0, atol=1e-5)
    np.testing.assert_allclose(got.jets[:, [0, 1, 3, 4]], truth.jets[:, [0, 1, 3, 4]],
                               rtol=1e-6)
    dphi = np.angle(np.exp(1j * (got.jets[:, 2] - truth.jets[:, 2])))
    np.testing.assert_allclose(dphi, 0.0, atol=1e-5)  # φ_jet = j1_phi − j1_phirel


def test_hls4ml_undefined_class_and_missing_names(tmp_path: Path) -> None:
    path, _, _ = hls4ml_file(tmp_path, n=6)
    with h5py.File(path, "a") as h5:
        jets = h5["jets"][()]
        jets[3, -6:] = [0, 0, 0, 0, 0, 1]  # j_undef
        h5["jets"][...] = jets
    with pytest.raises(JetvizInputError,
                       match=r"jetImage_7_30p.*1 jets have no single class.*row 3"):
        readers.load_jets(path)
    with h5py.File(path, "a") as h5:
        del h5["jetFeatureNames"]
        h5["jetFeatureNames"] = np.array([n.replace("j_pt", "pt") for n in HLS4ML_JET_NAMES], "S")
    with pytest.raises(JetvizInputError, match=r"jetFeatureNames lacks \['j_pt'\]"):
        readers.load_jets(path)


# ---------------------------------------------------------------- top tagging


def toptagging_file(tmp_path: Path, n: int = 16, seed: int = 8):
    truth = make_jetset(n=n, p=30, seed=seed)
    p4 = np.zeros((n, 200, 4))  # the published 200 constituent slots
    p4[:, :30] = p4s_from_particles(truth.particles, truth.jets[:, 0], truth.jets[:, 1],
                                    truth.jets[:, 2]) * truth.mask[..., None]
    is_signal = np.arange(n) % 2
    path = tmp_path / "train.h5"
    write_toptagging(path, p4, is_signal)
    return path, truth, p4, is_signal


def test_toptagging_pandas_layout_four_vectors_round_trip(tmp_path: Path) -> None:
    path, truth, p4, is_signal = toptagging_file(tmp_path)
    with h5py.File(path) as h5:  # the layout pandas wrote: float and int blocks
        assert h5["table"].attrs["pandas_type"] == b"frame"
        assert {"block0_values", "block1_values"} <= set(h5["table"])
    got = readers.load_jets(path)
    assert got.class_names == ("qcd", "t") and got.n_particles == 200
    np.testing.assert_array_equal(got.labels, is_signal)
    np.testing.assert_array_equal(got.mask[:, :30], truth.mask)
    assert not got.mask[:, 30:].any()
    p4f = p4.astype(np.float32).astype(np.float64)  # what the file holds
    jet = p4f.sum(1)
    # jet mass and pT from the read relative particles equal those of the written 4-vectors
    rel = jet_p4s_from_particles(got.particles.astype(np.float64), got.mask)
    np.testing.assert_allclose(ms_from_p4s(rel) * got.jets[:, 0], ms_from_p4s(jet), rtol=2e-3)
    np.testing.assert_allclose(pts_from_p4s(rel), 1.0, atol=1e-5)
    np.testing.assert_allclose(got.jets[:, 0], pts_from_p4s(jet), rtol=1e-5)
    np.testing.assert_allclose(got.jets[:, 3], ms_from_p4s(jet), rtol=1e-3)
    np.testing.assert_array_equal(got.jets[:, 4], truth.mask.sum(1))
    # the written jets' axis is the 4-vector sum, not make_jetset's nominal axis: particle
    # positions relative to the hardest one and pT ratios are what must survive
    read, want = got.particles[:, :30], truth.particles
    np.testing.assert_allclose(read[..., 0] / read[:, :1, 0], want[..., 0] / want[:, :1, 0],
                               rtol=1e-4)
    for k in (1, 2):
        np.testing.assert_allclose((read[..., k] - read[:, :1, k]) * truth.mask,
                                   (want[..., k] - want[:, :1, k]) * truth.mask, atol=2e-4)


def test_toptagging_pandas_table_format_reads_the_same(tmp_path: Path) -> None:
    fixed, _, p4, is_signal = toptagging_file(tmp_path, n=6)
    table = tmp_path / "val.h5"
    write_toptagging(table, p4, is_signal, fmt="table")
    with h5py.File(table) as h5:
        assert h5["table"].attrs["pandas_type"] == b"frame_table"
    a, b = readers.load_jets(fixed), readers.load_jets(table, max_jets=4)
    assert_same_jets(b, a.subset(slice(0, 4)), atol=0)
    np.testing.assert_array_equal(b.jets, a.jets[:4])
    assert readers.count_jets(table) == 6


def test_toptagging_column_names_are_never_unpickled(tmp_path: Path) -> None:
    _, _, p4, is_signal = toptagging_file(tmp_path, n=3)
    path = tmp_path / "evil.h5"
    write_toptagging(path, p4, is_signal, fmt="table")
    with h5py.File(path, "a") as h5:  # a pickle that would run a shell command if loaded
        h5["table/table"].attrs["values_block_0_kind"] = np.bytes_(
            b"cos\nsystem\n(S'touch /tmp/jetviz_pwned'\ntR.")
    with pytest.raises(JetvizInputError, match=r"evil\.h5: values_block_0_kind is not a plain "
                       r"list of column names \(pickle opcode GLOBAL\)"):
        readers.load_jets(path)


def test_toptagging_missing_columns_and_bad_labels(tmp_path: Path) -> None:
    p4 = np.zeros((3, 200, 4))
    p4[:, 0] = [100.0, 60.0, 80.0, 10.0]
    path = tmp_path / "test.h5"
    write_toptagging(path, p4, np.array([0, 2, 1]))
    with pytest.raises(JetvizInputError, match=r"test\.h5: is_signal_new must be 0 \(QCD\) or "
                       r"1 \(top\); found 2.0 at row 1"):
        readers.load_jets(path)
    pd.DataFrame({"E_0": [1.0], "PX_0": [1.0]}).to_hdf(path, key="table", format="fixed")
    with pytest.raises(JetvizInputError, match=r"test\.h5: expected top-tagging columns.*"
                       r"missing \['PY_0', 'PZ_0', 'is_signal_new'\]"):
        readers.load_jets(path)


# ---------------------------------------------------------------- Dark Machines


def test_darkmachines_mev_to_gev_leading_jets_and_theories(tmp_path: Path) -> None:
    jets = [("j", 130.0, 100.0, 0.5, 1.0), ("m-", 900.0, 800.0, 0.1, 0.2),
            ("b", 450.0, 300.0, -0.4, -2.0), ("j", 70.0, 50.0, 1.2, 3.0),
            ("j", 260.0, 200.0, 0.3, 0.0), ("g", 500.0, 500.0, 0.0, 0.0),
            ("j", 21.0, 20.0, 0.2, 0.1)]
    lines = [darkmachines_line(1, "ttbar", 123.4, -0.7, jets),
             darkmachines_line(2, "glgl1400_neutralino1100", 40.0, 2.5,
                               [("j", 330.0, 300.0, 0.0, 0.1)]),
             darkmachines_line(3, "ttbar", 10.0, 0.0, [])]
    path = tmp_path / "chan1.csv"
    path.write_text("\n".join(lines) + "\n")
    events = readers.load_events(path)
    f = events.features
    assert events.features.shape == (3, 18)
    # four leading j/b by pT, leptons and photons ignored, MeV → GeV
    np.testing.assert_allclose(f[0, [0, 4, 8, 12]], [300.0, 200.0, 100.0, 50.0], rtol=1e-6)
    np.testing.assert_allclose(f[0, [1, 2]], [-0.4, -2.0], rtol=1e-6)
    m2 = 450.0**2 - (300.0 * math.cosh(-0.4)) ** 2  # signed square root
    np.testing.assert_allclose(f[0, 3], math.copysign(math.sqrt(abs(m2)), m2), rtol=1e-4)
    np.testing.assert_allclose(f[0, 16:], [123.4, -0.7], rtol=1e-6)
    np.testing.assert_array_equal(f[1, 4:16], 0.0)  # one jet: the rest is zero
    np.testing.assert_array_equal(f[2, :16], 0.0)
    assert [t.name for t in events.theories] == ["ttbar", "glgl1400_neutralino1100"]
    np.testing.assert_array_equal(events.theory, [0, 1, 0])
    ttbar, susy = events.theories
    assert ttbar.kind == "background" and math.isnan(ttbar.m_gluino)
    assert (susy.kind, susy.m_gluino, susy.m_neutralino) == ("susy", 1400.0, 1100.0)
    named = readers.load_events(io.BytesIO(path.read_bytes()), name="chan1.csv",
                                kinds={"ttbar": "unphysical"}, max_events=2)
    assert len(named) == 2 and named.theories[0].kind == "unphysical"
    np.testing.assert_array_equal(named.features, f[:2])
    assert readers.count_events(path) == 3


def test_darkmachines_jet_mass_is_invariant_and_zero_when_massless(tmp_path: Path) -> None:
    pt, eta, m = 200.0, 0.7, 80.0
    energy = math.hypot(pt * math.cosh(eta), m)  # E² = |p|² + m², |p| = pT cosh η
    lines = [darkmachines_line(1, "w", 0.0, 0.0, [("j", energy, pt, eta, phi)])
             for phi in (-3.0, 0.0, 2.5)]  # the same jet rotated in φ
    lines.append(darkmachines_line(2, "w", 0.0, 0.0, [("j", pt * math.cosh(eta), pt, eta, 1.0)]))
    path = tmp_path / "masses.csv"
    path.write_text("\n".join(lines) + "\n")
    masses = readers.load_events(path).features[:, 3]
    np.testing.assert_allclose(masses[:3], m, rtol=1e-5)
    assert abs(masses[3]) < 0.05  # massless (up to the file's 9 digits)


@pytest.mark.parametrize(("line", "expected"), [
    ("1;ttbar;1;5000", r"line 2: 4 ';'-separated fields, expected at least 5"),
    ("1;ttbar;1;abc;0.1;", r"line 2: MET is not a number; expected a number"),
    ("1;ttbar;1;5000;0.1;j,100,90,0.1", r"line 2: object 1 is not of the form type,E"),
    ("1;ttbar;1;5000;0.1;j,100,x,0.1,0.2;", r"line 2: object 1 pt is not a number"),
    ("1;ttbar;1;5000;0.1;q,1,1,0,0;", r"line 2: object 1 is not of the form type,E,pt"),
    ("1;ttbar;1;nan;0.1;", r"line 2: MET is nan, expected finite"),
])
def test_darkmachines_bad_lines_name_file_line_and_format(tmp_path: Path, line: str,
                                                          expected: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(darkmachines_line(0, "ttbar", 50.0, 0.0, []) + "\n" + line + "\n")
    with pytest.raises(JetvizInputError, match=r"bad\.csv, " + expected):
        readers.load_events(path)


# ---------------------------------------------------------------- jetviz's own files


def test_jetviz_files_through_the_same_entry_points(tmp_path: Path) -> None:
    truth = make_jetset(n=15, p=12, seed=9)
    path = tmp_path / "mine.h5"
    store.write_jets(path, truth)
    got = readers.load_jets(io.BytesIO(path.read_bytes()), name="mine.h5", max_jets=10)
    assert got.source == "mine.h5" and len(got) == 10
    assert_same_jets(got, truth.subset(slice(0, 10)), atol=0)
    assert readers.count_jets(path) == 15
    with pytest.raises(JetvizInputError, match=r"mine\.h5: .*holds jets, not events"):
        readers.load_events(path)


# ---------------------------------------------------------------- bad files


def jetnet_arrays(n: int = 4, p: int = 30) -> tuple[np.ndarray, np.ndarray]:
    truth = make_jetset(n=n, p=p)
    pf = np.concatenate([truth.particles[..., [1, 2, 0]], truth.mask[..., None]], -1)
    return pf.astype(np.float32), truth.jets[:, [0, 1, 3, 4]]


def write_h5(path: Path, **datasets: np.ndarray) -> Path:
    with h5py.File(path, "w") as h5:
        for key, value in datasets.items():
            h5.create_dataset(key, data=value)
    return path


def test_missing_dataset(tmp_path: Path) -> None:
    pf, _ = jetnet_arrays()
    path = write_h5(tmp_path / "g.hdf5", particle_features=pf)
    with pytest.raises(JetvizInputError,
                       match=r"g\.hdf5: dataset 'jet_features' is missing.*JetNet"):
        readers.load_jets(path)


def test_wrong_shape(tmp_path: Path) -> None:
    pf, jf = jetnet_arrays()
    path = write_h5(tmp_path / "g.hdf5", particle_features=pf[..., :3], jet_features=jf)
    with pytest.raises(JetvizInputError, match=r"g\.hdf5: dataset 'particle_features' has "
                       r"shape \(4, 30, 3\), expected \(N, 30 or 150, 4\)"):
        readers.load_jets(path)


def test_nan_values(tmp_path: Path) -> None:
    pf, jf = jetnet_arrays()
    pf[1, 0, 0] = np.nan
    path = write_h5(tmp_path / "g.hdf5", particle_features=pf, jet_features=jf)
    with pytest.raises(JetvizInputError,
                       match=r"g\.hdf5: 1 NaN/inf values in 'particle_features' "
                             r"\(first at index \[1, 0, 0\]\); expected finite"):
        readers.load_jets(path)


def test_empty_datasets(tmp_path: Path) -> None:
    path = write_h5(tmp_path / "g.hdf5", particle_features=np.zeros((0, 30, 4), np.float32),
                    jet_features=np.zeros((0, 4), np.float32))
    with pytest.raises(JetvizInputError, match=r"g\.hdf5: the file holds no jets"):
        readers.load_jets(path)
    (tmp_path / "nothing.h5").write_bytes(b"")
    with pytest.raises(JetvizInputError, match=r"nothing\.h5: the file is empty"):
        readers.load_jets(tmp_path / "nothing.h5")


def test_not_hdf5_nor_csv(tmp_path: Path) -> None:
    path = tmp_path / "jets.h5"
    path.write_bytes(b"PK\x03\x04 this is a zip, not HDF5")
    with pytest.raises(JetvizInputError, match=r"jets\.h5: neither an HDF5 file nor a Dark "
                       r"Machines CSV") as caught:
        readers.detect_format(path)
    assert "PK" not in str(caught.value) and "zip" not in str(caught.value)  # no byte echoed
    with pytest.raises(JetvizInputError, match=r"jets\.h5: not an HDF5 file") as caught:
        readers.load_jets(path)
    assert "PK" not in str(caught.value) and "zip" not in str(caught.value)
    with pytest.raises(JetvizInputError, match=r"upload\.h5: not an HDF5"):
        readers.load_jets(io.BytesIO(b"\x00\x01garbage"), name="upload.h5")


def test_messages_offer_only_the_formats_the_caller_reads(tmp_path: Path) -> None:
    """Asked for jets, a message never suggests a Dark Machines CSV; asked for events, it
    never lists the jet formats."""
    path = tmp_path / "notes.txt"
    path.write_bytes(b"just some text, no separators")
    with pytest.raises(JetvizInputError) as jets_err:
        readers.load_jets(path)
    assert "JetNet" in str(jets_err.value) and "Dark Machines" not in str(jets_err.value)
    with pytest.raises(JetvizInputError) as events_err:
        readers.load_events(path)
    message = str(events_err.value)
    assert "Dark Machines" in message and "JetNet" not in message and "hls4ml" not in message
    other = write_h5(tmp_path / "other.h5", images=np.zeros((2, 3)))
    with pytest.raises(JetvizInputError) as layout_err:
        readers.load_events(other)
    assert "jetviz-events" in str(layout_err.value) and "JetNet" not in str(layout_err.value)


def test_truncated_hdf5(tmp_path: Path) -> None:
    truth = make_jetset(n=50, p=30)
    path = tmp_path / "w.hdf5"
    write_jetnet(path, truth.particles, truth.mask, truth.jets)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(JetvizInputError, match=r"w\.hdf5: (not a readable HDF5 file|reading "
                       r"failed).*truncated"):
        readers.load_jets(path)


def test_unknown_hdf5_layout_and_wrong_kind(tmp_path: Path) -> None:
    path = write_h5(tmp_path / "other.h5", images=np.zeros((2, 3)))
    with pytest.raises(JetvizInputError,
                       match=r"other\.h5: an HDF5 file of no known layout; found.*'images'"):
        readers.load_jets(path)
    csv = tmp_path / "events.csv"
    csv.write_text(darkmachines_line(0, "ttbar", 50.0, 0.0, []) + "\n")
    with pytest.raises(JetvizInputError, match=r"events\.csv: a darkmachines file holds events"):
        readers.load_jets(csv)
    with pytest.raises(JetvizInputError, match=r"events\.csv: unknown format 'root'"):
        readers.load_jets(csv, fmt="root")
    with pytest.raises(JetvizInputError, match=r"missing\.h5: cannot open the file"):
        readers.load_jets(tmp_path / "missing.h5")
