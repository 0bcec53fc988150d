"""Figure builders of the β-VAE pages (figures/beta.py, walk.py, points.py, jet_display.py):
traces, the current-β marker, log axes, colours."""

from __future__ import annotations

import base64

import numpy as np
import pytest

from jetviz.figures import beta as fl
from jetviz.figures import beta_step as fb
from jetviz.figures import jet_display as jd
from jetviz.figures import points as fp
from jetviz.figures import walk as fw
from jetviz.figures.style import latent_colour
from jetviz.vae import explore


def _scan(n_beta: int = 20, dims: int = 5) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """KL_i = max(0, log(s_i/β)): dimension i switches on below its scale s_i, so D1 counts
    the dimensions whose scale lies above β (the known answer)."""
    betas = np.logspace(-1, 3, n_beta)
    scales = np.logspace(0, 2.5, dims)
    kl = np.maximum(np.log(scales[None, :] / betas[:, None]), 0.0)  # (n_beta, D)
    d1 = -np.gradient(kl.sum(1), np.log(betas))
    return betas, kl, d1


def _marker(fig):
    return [t for t in fig.data if t.name == fl.CURRENT_BETA]


def test_format_beta_reads_well():
    assert fl.format_beta(12.345) == "12.3 GeV"
    assert fl.format_beta(1000.0) == "1000 GeV"
    assert fl.format_beta(3.21e-5) == "3.21·10⁻⁵ GeV"
    assert fl.format_beta(0.5, "") == "0.5"


def test_kl_bars_sorted_and_coloured_by_dimension():
    kl = np.array([0.01, 3.0, 0.5, 1e-6])
    fig = fb.kl_bar_figure(kl, beta=2.0)
    (bar,) = fig.data
    assert list(bar.x) == ["z1", "z2", "z0", "z3"]
    assert list(bar.marker.color) == [latent_colour(i) for i in (1, 2, 0, 3)]
    assert np.all(np.diff(bar.customdata) <= 0)
    assert bar.y[-1] == pytest.approx(fl.KL_FLOOR)  # tiny KL drawn at the log floor
    assert fig.layout.yaxis.type == "log"
    assert "2 GeV" in fig.layout.title.text


def test_kl_curves_one_trace_per_dimension_and_marker_at_beta():
    betas, kl, _ = _scan()
    fig = fl.kl_curves_figure(betas, kl, beta=5.0)
    curves = [t for t in fig.data if t.name != fl.CURRENT_BETA]
    assert len(curves) == kl.shape[1]
    (marker,) = _marker(fig)
    assert list(marker.x) == [5.0, 5.0]
    assert fig.layout.xaxis.type == "log" and fig.layout.yaxis.type == "log"
    assert "GeV" in fig.layout.xaxis.title.text
    by_colour = {t.line.color for t in curves}
    assert by_colour == {latent_colour(i) for i in range(kl.shape[1])}


def test_moving_beta_moves_only_the_marker():
    betas, _, d1 = _scan()
    a = fl.dimensionality_figure(betas, d1, d1, beta=1.0)
    b = fl.dimensionality_figure(betas, d1, d1, beta=50.0)
    assert list(_marker(a)[0].x) == [1.0, 1.0]
    assert list(_marker(b)[0].x) == [50.0, 50.0]
    assert np.array_equal(a.data[0].y, b.data[0].y)


def test_dimensionality_plateau_and_known_scales():
    betas, _, d1 = _scan(n_beta=60, dims=3)
    fig = fl.dimensionality_figure(betas, d1, d1, beta=0.5,
                                   scales={"thickness": 1.0, "size": 10**2.5})
    # below the smallest scale all three dimensions are on: D1 = 3
    assert fig.data[0].y[2] == pytest.approx(3.0, abs=1e-6)
    assert fig.data[0].y[-1] == pytest.approx(0.0, abs=1e-6)
    names = [t.name for t in fig.data]
    assert any(n.startswith("thickness") for n in names)
    assert any(n.startswith("size") for n in names)
    assert fig.layout.xaxis.type == "log"


def test_kl_at_beta_interpolates_in_log_beta():
    betas, kl, _ = _scan()
    np.testing.assert_allclose(explore.kl_at_beta(betas, kl, betas[7]), kl[7])
    mid = np.sqrt(betas[3] * betas[4])
    np.testing.assert_allclose(explore.kl_at_beta(betas, kl, mid), 0.5 * (kl[3] + kl[4]))
    assert explore.grid_index(betas, betas[5] * 1.01) == 5
    assert explore.grid_index(betas, None) == len(betas) // 2


def test_emd_histogram_marks_beta_and_median():
    emd = np.random.default_rng(0).gamma(2.0, 5.0, 500)
    fig = fb.emd_histogram_figure(emd, beta=3.0)
    bars = fig.data[0]  # binned on the server: 40 bars holding every distance
    assert bars.type == "bar" and len(bars.x) == 40 and sum(bars.y) == 500
    np.testing.assert_allclose(np.diff(bars.x), bars.width)  # adjacent bins
    assert bars.x[0] - bars.width / 2 == pytest.approx(emd.min())
    assert list(_marker(fig)[0].x) == [3.0, 3.0]
    assert fig.data[2].x[0] == pytest.approx(np.median(emd))
    assert "GeV" in fig.layout.xaxis.title.text


def test_jet_rows_one_display_per_jet_padding_not_drawn():
    rng = np.random.default_rng(1)
    jets = np.abs(rng.normal(0, 0.1, (3, 10, 3)))
    masks = np.ones((3, 10), bool)
    masks[:, 7:] = False
    recon = np.abs(rng.normal(0, 0.1, (3, 16, 3)))
    originals = jd.jet_row_figure(jets, masks, "jets", extent=0.5)
    rebuilt = jd.jet_row_figure(recon, None, "rebuilt", extent=0.5, role="reconstructed",
                                panel_titles=["a", "b", "c"])
    assert [im.name for im in originals.layout.images] == ["original"] * 3
    assert [im.name for im in rebuilt.layout.images] == ["reconstruction"] * 3
    assert not originals.data and not rebuilt.data  # one picture per panel, no traces
    for image in originals.layout.images:  # padding is not drawn: 7 particles and the cone
        svg = base64.b64decode(image.source.split(",", 1)[1]).decode()
        assert svg.count("<circle") == 1 + 7
    assert [a.text for a in rebuilt.layout.annotations] == ["a", "b", "c"]
    with pytest.raises(ValueError, match="as many masks"):
        jd.jet_row_figure(jets, masks[:2], "jets", extent=0.5)
    with pytest.raises(ValueError, match="role"):
        jd.jet_row_figure(jets, masks, "jets", extent=0.5, role="generated")


def test_event_display_marker_area_proportional_to_pt():
    particles = np.array([[0.6, 0.0, 0.0], [0.3, 0.1, 0.1], [0.1, -0.2, 0.3], [0, 0, 0]])
    fig = jd.event_display(particles, np.array([1, 1, 1, 0], bool), jet_pt=1000.0)
    pts = fig.data[-1]
    np.testing.assert_allclose(pts.marker.size, [0.6, 0.3, 0.1])
    np.testing.assert_allclose(np.asarray(pts.customdata)[:, 0], [600.0, 300.0, 100.0])
    assert "GeV" in pts.hovertemplate
    with pytest.raises(ValueError, match="one jet"):
        jd.event_display(particles[None])


def test_walk_observables_marker_at_position():
    t = np.linspace(-3, 3, 31)
    obs = {"mass": 80 + 5 * t, "pT": 1000 + 0 * t, "τ21": 0.4 + 0.01 * t}
    fig = fw.walk_observables_figure(t, obs, position=1.0, x_title="position [σ]",
                                     units={"mass": "GeV", "pT": "GeV"})
    markers = [tr for tr in fig.data if tr.name == "current position"]
    assert len(markers) == 3
    assert markers[0].x[0] == pytest.approx(1.0)
    assert markers[0].y[0] == pytest.approx(85.0)
    assert fig.layout.yaxis.title.text == "mass [GeV]"
    # the flat pT panel is not blown up to show rounding noise
    assert list(fig.layout.yaxis2.range) == pytest.approx([980.0, 1020.0])
    assert fig.layout.yaxis.range is None


def test_beta_sweep_has_a_frame_per_grid_beta_and_play_button():
    betas, kl, d1 = _scan(n_beta=12)
    fig = fl.beta_sweep_figure(betas, kl, d1)
    assert len(fig.frames) == 12
    assert fig.layout.updatemenus[0].buttons[0].method == "animate"
    assert len(fig.layout.sliders[0].steps) == 12
    # the last frame (smallest β) has the most information
    first, last = fig.frames[0].data[0], fig.frames[-1].data[0]
    assert np.sum(last.customdata) > np.sum(first.customdata)
    assert fig.frames[-1].data[1].x[0] == pytest.approx(betas[0])


def test_loss_curves_skip_nan_and_bad_shapes():
    fig = fw.loss_curves_figure([1, 2, 3], {"train": [3.0, np.nan, 1.0], "val": [3, 2, 2]})
    assert len(fig.data) == 2 and len(fig.data[0].x) == 2
    with pytest.raises(ValueError, match="expected"):
        fw.loss_curves_figure([1, 2], {"train": [1.0]})


def test_bad_grid_is_refused():
    with pytest.raises(ValueError, match="positive"):
        fl.kl_curves_figure(np.array([0.0, 1.0]), np.ones((2, 3)), 1.0)
    with pytest.raises(ValueError, match="one per β"):
        fl.kl_curves_figure(np.array([1.0, 2.0]), np.ones((3, 3)), 1.0)


def test_walk_animation_has_a_frame_per_step():
    t = np.linspace(-1, 1, 9)
    path = np.abs(np.random.default_rng(2).normal(0, 0.1, (9, 12, 3)))
    fig = fw.walk_animation_figure(t, path, jet_pt=1000.0)
    assert len(fig.frames) == 9
    assert len(fig.layout.sliders[0].steps) == 9
    np.testing.assert_allclose(fig.frames[4].data[0].marker.size, path[4, :, 0])
    toy = fw.walk_animation_figure(t, path[:, 0, :2])
    assert len(toy.frames[3].data[0].x) == 4  # the toy path is drawn up to the current step


def test_toy_walk_marks_current_point():
    path = np.stack([np.linspace(0, 1, 5), np.zeros(5)], 1)
    fig = fp.toy_walk_figure(np.zeros((10, 2)), path, 3)
    assert fig.data[-1].x[0] == pytest.approx(0.75)


def test_event_display_zooms_to_narrow_jets():
    narrow = np.array([[0.7, 0.02, 0.0], [0.3, -0.3, 0.05], [0.0005, 0.7, 0.7]])
    fig = jd.event_display(narrow, radius=0.8, extent=jd.jet_extent(narrow, radius=0.8))
    assert fig.layout.xaxis.range[1] == pytest.approx(1.15 * 0.3)  # the 0.0005 one is ignored
    whole = jd.event_display(narrow, radius=0.8)  # by default the whole cone is shown
    assert whole.layout.xaxis.range[1] == pytest.approx(1.1 * 0.8)
    wide = np.array([[0.5, 0.0, 0.0], [0.5, 2.0, 0.0]])
    assert jd.jet_extent(wide, radius=0.8) == pytest.approx(0.84)  # never beyond 1.05 R
    assert jd.jet_extent(narrow[:1], radius=0.8) == pytest.approx(jd.MIN_EXTENT)


# ---------------------------------------------------------------- readability (issue 12)


def test_kl_curves_legend_sits_below_the_plot_and_lists_every_active_dimension():
    betas = np.geomspace(1, 1000, 20)
    kl = np.stack([5 * np.exp(-betas / s) for s in np.geomspace(2, 400, 12)], axis=1)
    fig = fl.kl_curves_figure(betas, kl, 10.0)
    assert fig.layout.legend.orientation == "h" and fig.layout.legend.y < 0
    shown = [t.name for t in fig.data if t.showlegend is not False and t.name != "current β"]
    assert len(shown) == 12


def test_emd_histogram_axis_spans_the_data_when_beta_is_far_beyond_it():
    emd = np.random.default_rng(0).gamma(4.0, 5.0, 500)  # ≈ 20 GeV, none above ≈ 100
    fig = fb.emd_histogram_figure(emd, 1000.0)
    lo, hi = fig.layout.xaxis.range
    assert hi < 2 * emd.max() and lo <= emd.min()
    assert any("1000 GeV" in a.text for a in fig.layout.annotations)
    near = fb.emd_histogram_figure(emd, 30.0)  # a β inside the data: drawn on the axis
    assert near.layout.xaxis.range[1] >= 30.0


def test_jet_rows_show_tick_values_on_the_outer_panels():
    rng = np.random.default_rng(1)
    jets = rng.normal(0, 0.1, (2, 5, 3))
    jets[..., 0] = 0.2
    fig = jd.jet_row_figure(jets, np.ones((2, 5), bool), "jets", extent=0.4)
    layout = fig.layout
    assert layout.xaxis.showticklabels is not False and layout.xaxis2.showticklabels is not False
    assert layout.yaxis.showticklabels and not layout.yaxis2.showticklabels  # first column


def test_scan_reading_names_the_curves_at_the_sliders_beta():
    betas, kl, d1 = _scan()
    scan = explore.Scan(betas, kl, np.zeros_like(d1), d1, 2 * d1)
    text = explore.scan_reading(scan, float(betas[7]), "GeV")
    assert f"β = {fl.format_beta(betas[7])}" in text
    assert f"D1 = {d1[7]:.2f}, D2 = {2 * d1[7]:.2f}" in text
    on = [fl.dim_name(i) for i in np.argsort(-kl[7], kind="stable") if kl[7, i] > fl.ACTIVE_KL]
    assert text.endswith(f"in {', '.join(on)}.")
    assert "no dimension" in explore.scan_reading(scan, float(betas[-1]), "GeV")  # all off
