"""JetClass ROOT reader on tiny files written here with uproot in JetClass's layout."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from jetviz.errors import JetvizInputError

uproot = pytest.importorskip("uproot")
ak = pytest.importorskip("awkward")

from jetviz.readers.jetclass import JETCLASS_CLASSES, read_jetclass  # noqa: E402


def _jets(n: int, seed: int) -> tuple[list[np.ndarray], np.ndarray]:
    """n jets of 2–6 massless particles near one axis: (E, px, py, pz) per particle, labels."""
    rng = np.random.default_rng(seed)
    jets = []
    for _ in range(n):
        m = int(rng.integers(2, 7))
        pt = rng.uniform(5, 100, m)
        eta = rng.normal(0.3, 0.2, m)
        phi = rng.normal(3.0, 0.2, m)  # near +π: φ − φ_jet must wrap
        px, py, pz = pt * np.cos(phi), pt * np.sin(phi), pt * np.sinh(eta)
        jets.append(np.stack([pt * np.cosh(eta), px, py, pz], -1))
    return jets, rng.integers(0, len(JETCLASS_CLASSES), n)


def _write(path: Path, jets: list[np.ndarray], labels: np.ndarray,
           drop: str | None = None) -> Path:
    total = np.array([j.sum(0) for j in jets])  # (N, 4) jet four-momenta
    jet_pt = np.hypot(total[:, 1], total[:, 2])
    branches = {
        "part_px": ak.Array([j[:, 1] for j in jets]), "part_py": ak.Array([j[:, 2] for j in jets]),
        "part_pz": ak.Array([j[:, 3] for j in jets]),
        "part_energy": ak.Array([j[:, 0] for j in jets]),
        "jet_pt": jet_pt, "jet_eta": np.arcsinh(total[:, 3] / jet_pt),
        "jet_phi": np.arctan2(total[:, 2], total[:, 1]), "jet_energy": total[:, 0],
        "jet_sdmass": np.full(len(jets), 12.5),
        **{f"jet_tau{k}": np.full(len(jets), 0.1 * k) for k in range(1, 5)},
        **{f"label_{c}": (labels == i).astype(np.float32)
           for i, c in enumerate(JETCLASS_CLASSES)},
    }
    branches.pop(drop, None)
    with uproot.recreate(path) as out:
        out["tree"] = branches
    return path


def test_jetclass_particles_jets_and_labels_round_trip(tmp_path: Path) -> None:
    jets, labels = _jets(5, seed=1)
    out = read_jetclass(_write(tmp_path / "HToBB_000.root", jets, labels))
    js = out.jets
    assert js.class_names == JETCLASS_CLASSES and js.labels.tolist() == labels.tolist()
    for i, j in enumerate(jets):
        pt = np.sort(np.hypot(j[:, 1], j[:, 2]))[::-1]
        m = len(j)
        assert js.mask[i].sum() == m and js.jets[i, 4] == m
        # ptrel × pT_jet gives back the particles' pT, hardest first
        np.testing.assert_allclose(js.particles[i, :m, 0] * js.jets[i, 0], pt, rtol=1e-5)
        assert np.all(js.particles[i, m:] == 0)
        # the jet mass is the four-momentum sum's; the particles sit within R of the axis
        e, px, py, pz = j.sum(0)
        assert js.jets[i, 3] == pytest.approx(np.sqrt(e**2 - px**2 - py**2 - pz**2), rel=1e-4)
        assert np.all(np.abs(js.particles[i, :m, 2]) < 1.5)  # φ wrapped across ±π
    assert np.allclose(out.substructure["jet_sdmass"], 12.5)
    assert np.allclose(out.substructure["jet_tau3"], 0.3)


def test_jetclass_reads_file_by_file_up_to_the_cap_and_keeps_hardest(tmp_path: Path) -> None:
    a = _write(tmp_path / "a.root", *_jets(3, seed=2))
    b = _write(tmp_path / "b.root", *_jets(3, seed=3))
    out = read_jetclass([a, b], max_jets=4, n_particles=2)
    assert len(out.jets) == 4 and out.jets.particles.shape == (4, 2, 3)
    assert np.all(np.diff(out.jets.particles[..., 0], axis=1) <= 0)  # pT-ordered
    assert read_jetclass([a, b], max_jets=2).jets.jets.shape[0] == 2  # b is never read


def test_jetclass_errors_say_what_is_expected(tmp_path: Path) -> None:
    jets, labels = _jets(2, seed=4)
    no_tau = _write(tmp_path / "no_tau.root", jets, labels, drop="jet_tau4")
    with pytest.raises(JetvizInputError, match=r"lacks the JetClass branches \['jet_tau4'\]"):
        read_jetclass(no_tau)
    twice = labels.copy()
    bad = _write(tmp_path / "bad.root", jets, twice, drop="label_QCD")
    with pytest.raises(JetvizInputError, match="label_QCD"):
        read_jetclass(bad)
    with pytest.raises(JetvizInputError, match="n_particles"):
        read_jetclass(no_tau, n_particles=500)


def test_load_jets_detects_a_jetclass_file_by_its_content(tmp_path: Path) -> None:
    from jetviz.readers import count_jets, detect_format, load_jets

    path = _write(tmp_path / "my_jets.root", *_jets(4, seed=5))
    assert detect_format(path) == "jetclass"
    assert count_jets(path) == 4
    js = load_jets(path, max_jets=3, n_particles=6)
    assert len(js) == 3 and js.n_particles == 6 and js.attrs["format"] == "jetclass"
