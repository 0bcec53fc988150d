"""A user's own manifold: points files, the toy families, `jetviz train --data points` and the
dimensionality playground page."""

from __future__ import annotations

import io
import json

import h5py
import numpy as np
import pytest
import torch

from jetviz.cli import main as cli_main
from jetviz.errors import JetvizInputError
from jetviz.readers.points import POINTS_FILE, points_of_model, read_points, scales_of_model
from jetviz.simulation.toys import TOYS, ribbon, strip
from jetviz.vae.checkpoint import load_checkpoint
from jetviz.vae.dimensionality import plateau_checks
from tests.support_apptest import app_test

torch.set_num_threads(1)


def _npy_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


def test_points_round_trip_through_npy_and_hdf5(tmp_path):
    points = np.random.default_rng(0).standard_normal((300, 3)).astype(np.float32)
    np.save(tmp_path / "p.npy", points)
    with h5py.File(tmp_path / "p.h5", "w") as h5:
        h5["points"] = points
    for source in (tmp_path / "p.npy", tmp_path / "p.h5", _npy_bytes(points)):
        read, total = read_points(source)
        np.testing.assert_array_equal(read, points)
        assert total == 300
    capped, total = read_points(tmp_path / "p.npy", max_points=100)
    assert capped.shape == (100, 3) and total == 300


@pytest.mark.parametrize(("array", "message"), [
    (np.zeros((100,)), r"\(N, d\)"),
    (np.ones((10, 2)), "at least"),
    (np.full((100, 2), np.nan), "NaN"),
    (np.ones((100, 2)), "all points are the same"),
    (np.zeros((100, 65)), r"\(N, d\)"),
    (np.array([["a", "b"]] * 100), "numbers"),
])
def test_bad_points_give_clear_errors(array, message):
    with pytest.raises(JetvizInputError, match=message):
        read_points(_npy_bytes(array), name="mine.npy")


def test_pickled_and_foreign_files_are_refused_without_unpickling(tmp_path):
    objects = np.empty(100, dtype=object)
    with pytest.raises(JetvizInputError, match="plain numeric"):
        read_points(_npy_bytes(objects))
    with pytest.raises(JetvizInputError, match="not a points file"):
        read_points(b"root:x:0:0:root:/root:/bin/bash\n")
    with h5py.File(tmp_path / "other.h5", "w") as h5:
        h5["jets"] = np.zeros((5, 2))
    with pytest.raises(JetvizInputError, match="'points'"):
        read_points(tmp_path / "other.h5")


def test_toy_families_have_their_stated_scales():
    rng = np.random.default_rng(1)
    s = strip(20_000, rng, length=8.0, thickness=0.02, angle=0.5)
    axis = np.array([np.cos(0.5), np.sin(0.5)])
    along, across = s @ axis, s @ np.array([-axis[1], axis[0]])
    assert np.ptp(along) == pytest.approx(8.0, rel=0.01)
    assert np.std(across) == pytest.approx(0.02, rel=0.03)
    r = ribbon(20_000, rng, scales=(12.0, 0.4, 0.004))
    spreads = np.sort(np.linalg.svd(r - r.mean(0), compute_uv=False) / np.sqrt(len(r)))
    # uniform of width w has σ = w/√12; the Gaussian thickness has σ = 0.004
    np.testing.assert_allclose(spreads, [0.004, 0.4 / np.sqrt(12), 12 / np.sqrt(12)], rtol=0.05)
    for family in TOYS.values():
        lo, hi = family.beta_range
        assert lo < min(family.scales.values()) and hi > max(family.scales.values())
        np.testing.assert_array_equal(family.expected_d(np.array([lo, hi])), [family.dim, 0])


def test_plateau_checks_pass_an_ideal_curve_and_fail_an_overshoot():
    scales = {"thickness": 0.02, "length": 8.0}
    betas = np.geomspace(0.002, 80, 61)
    ideal = (np.array([0.02, 8.0])[None, :] > betas[:, None]).sum(1).astype(float)
    assert all(r["ok"] for r in plateau_checks(betas, ideal, scales))
    rows = plateau_checks(betas, ideal + 0.8, scales)
    assert not rows[1]["ok"] and not rows[-1]["ok"] and rows[-1]["max_excess"] == pytest.approx(0.8)


def test_cli_trains_on_a_points_file_and_keeps_them_to_show(tmp_path):
    points = strip(600, np.random.default_rng(2), length=4.0, thickness=0.05)
    np.save(tmp_path / "my points.npy", points)
    out = tmp_path / "model"
    code = cli_main(["train", "--data", str(tmp_path / "my points.npy"), "--out", str(out),
                     "--latent-dim", "3", "--hidden", "16", "--epochs", "2", "--batch-size", "64",
                     "--scan-points", "9", "--scan-examples", "60", "--threads", "1",
                     "--no-progress", "--device", "cpu"])
    assert code == 0
    _, config, record = load_checkpoint(out)
    assert config.data == "points" and config.point_dim == 2 and config.loss == "euclidean"
    assert config.beta_min < 0.05 < 4.0 < config.beta_max  # brackets the data's own scales
    assert record["scan"]["floor"] > 0 and len(record["scan"]["d1_lo"]) == 9
    shown = points_of_model(out, record, 100, np.random.default_rng(0))
    np.testing.assert_array_equal(shown, points[:100])
    assert (out / POINTS_FILE).exists() and scales_of_model(record) == {}


def test_rescan_refuses_other_data(tmp_path):
    points = strip(300, np.random.default_rng(3))
    np.save(tmp_path / "a.npy", points)
    np.save(tmp_path / "b.npy", points[:200])
    base = ["train", "--out", str(tmp_path / "m"), "--latent-dim", "2", "--hidden", "8",
            "--epochs", "1", "--scan-points", "5", "--scan-examples", "30", "--no-progress",
            "--device", "cpu"]
    assert cli_main([*base, "--data", str(tmp_path / "a.npy")]) == 0
    before = json.loads((tmp_path / "m" / "config.json").read_text())["record"]["scan"]
    assert cli_main([*base, "--data", str(tmp_path / "b.npy"), "--rescan"]) == 2
    assert cli_main([*base, "--data", str(tmp_path / "a.npy"), "--rescan"]) == 0
    after = json.loads((tmp_path / "m" / "config.json").read_text())["record"]
    assert after["scan"]["d1"] == pytest.approx(before["d1"])  # same examples, same noise
    assert after["commands"][-1].endswith("--rescan")


def test_rescan_on_a_finer_grid_keeps_the_range_and_records_the_count(tmp_path):
    np.save(tmp_path / "a.npy", strip(300, np.random.default_rng(4)))
    base = ["train", "--out", str(tmp_path / "m"), "--latent-dim", "2", "--hidden", "8",
            "--epochs", "1", "--scan-examples", "30", "--no-progress", "--device", "cpu",
            "--data", str(tmp_path / "a.npy")]
    assert cli_main([*base, "--scan-points", "5"]) == 0
    before = json.loads((tmp_path / "m" / "config.json").read_text())["record"]
    assert cli_main([*base, "--rescan", "--scan-points", "1"]) == 2  # refused, nothing written
    assert cli_main([*base, "--rescan", "--scan-points", "9"]) == 0
    after = json.loads((tmp_path / "m" / "config.json").read_text())["record"]
    assert len(before["scan"]["betas"]) == 5 and len(after["scan"]["betas"]) == 9
    assert after["train_config"]["scan_points"] == 9
    assert after["scan"]["betas"][0] == pytest.approx(before["scan"]["betas"][0])
    assert after["scan"]["betas"][-1] == pytest.approx(before["scan"]["betas"][-1])


def test_train_scans_twenty_betas_per_decade_by_default(tmp_path):
    np.save(tmp_path / "a.npy", strip(300, np.random.default_rng(5)))
    assert cli_main(["train", "--out", str(tmp_path / "m"), "--latent-dim", "2", "--hidden", "8",
                     "--epochs", "1", "--scan-examples", "30", "--no-progress", "--device",
                     "cpu", "--data", str(tmp_path / "a.npy"), "--beta-min", "0.01",
                     "--beta-max", "10"]) == 0
    betas = json.loads((tmp_path / "m" / "config.json").read_text())["record"]["scan"]["betas"]
    assert len(betas) == 61  # 3 decades
    assert np.diff(np.log10(betas)) == pytest.approx(np.full(60, 0.05))


def test_playground_trains_a_strip_and_shows_d1_against_its_scales(monkeypatch, tmp_path):
    monkeypatch.setenv("JETVIZ_VAE_ROOT", str(tmp_path))
    at = app_test(monkeypatch, timeout=120)
    at.switch_page("views/playground.py").run()
    assert not at.exception, at.exception
    assert any("scales > " in m.value or "scales" in m.value for m in at.latex)
    at.number_input(key="playground_n").set_value(1000)
    at.select_slider(key="playground_minutes").set_value(0.1)
    at.button(key="playground_train").click().run()
    assert not at.exception, at.exception
    charts = [c.proto.id for c in at.get("plotly_chart")]
    assert any(c.endswith("playground_dimensionality") for c in charts)
    table = at.dataframe[0].value
    assert list(table["true count"]) == ["2", "1", "0", "count + 0.5"]
    assert any("Reconstruction floor" in c.value for c in at.caption)


def test_whitened_point_model_round_trips_its_frame_and_checkpoint(tmp_path):
    from jetviz.vae.checkpoint import save_checkpoint
    from jetviz.vae.model import PointVAE, VAEConfig

    points = torch.from_numpy(strip(2000, np.random.default_rng(5), length=8.0, thickness=0.02))
    config = VAEConfig(data="points", loss="euclidean", latent_dim=3, hidden=16, cond_dim=8,
                       beta_min=0.01, beta_max=10.0, whiten=True)
    model = PointVAE(config)
    model.fit_whitening(points)
    frame = model._to_frame(points)
    # unit variance along each principal axis, uncorrelated, and back again exactly
    np.testing.assert_allclose(frame.std(0).numpy(), [1.0, 1.0], rtol=1e-3)
    assert abs(float(np.corrcoef(frame.numpy().T)[0, 1])) < 1e-3
    np.testing.assert_allclose(model._from_frame(frame).numpy(), points.numpy(), atol=1e-5)
    assert float(model.scale.min()) == pytest.approx(0.02, rel=0.05)  # the thickness
    save_checkpoint(tmp_path / "m", model, config, {})
    loaded, _, _ = load_checkpoint(tmp_path / "m")
    torch.testing.assert_close(loaded.axes, model.axes)
    log_beta = torch.zeros(5)
    torch.testing.assert_close(loaded.encode(points[:5], None, log_beta),
                               model.encode(points[:5], None, log_beta))
