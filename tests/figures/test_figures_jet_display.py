"""The one jet event display (figures/jet_display.py) and its callers on three pages."""

from __future__ import annotations

import base64
import xml.etree.ElementTree as ET

import numpy as np
import pytest

from jetviz.figures import jet_display as jd
from jetviz.figures.data import event_display as data_event_display
from jetviz.figures.jet_svg import marker_diameters_px
from jetviz.figures.jetclr import augmentation_display

JET = np.array([[0.5, 0.0, 0.0], [0.3, 0.2, -0.1], [0.2, -0.3, 0.4], [0.0, 0.0, 0.0]])
MASK = np.array([True, True, True, False])


def _particles(fig, name: str):
    return next(t for t in fig.data if t.name.startswith(name))


def test_marker_area_is_pt_on_one_scale_and_hover_gives_gev():
    fig = jd.event_display(JET, MASK, jet_pt=500.0, radius=0.8)
    pts = _particles(fig, "particles")
    np.testing.assert_allclose(pts.marker.size, [0.5, 0.3, 0.2])  # area ∝ pT
    assert pts.marker.sizemode == "area"
    assert pts.marker.sizeref == pytest.approx(2.0 / jd.MAX_MARKER_PX**2)
    np.testing.assert_allclose(np.asarray(pts.customdata)[:, 0], [250.0, 150.0, 100.0])
    assert "GeV" in pts.hovertemplate and pts.name == "particles (3)"
    cone, *axis = fig.layout.shapes
    assert (cone.type, cone.x1, cone.line.dash) == ("circle", 0.8, "dash")
    assert [(s.type, s.x0 + s.x1, s.y0 + s.y1) for s in axis] == [("line", 0, 0)] * 2  # a +
    assert len(fig.data) == 1  # the traces are the jets only
    assert fig.layout.yaxis.scaleanchor == "x"


def test_overlay_is_drawn_under_the_jet_as_rings():
    shifted = JET + np.array([0.0, 0.05, 0.0])
    fig = jd.event_display(shifted, MASK, jet_pt=500.0, overlay=JET, overlay_mask=MASK,
                           name="augmented")
    rings, filled = _particles(fig, "original"), _particles(fig, "augmented")
    assert fig.data.index(rings) < fig.data.index(filled)  # the jet sits on top
    assert rings.marker.color == "rgba(0,0,0,0)" and rings.marker.line.color == jd.OVERLAY_COLOUR
    assert rings.marker.sizeref == filled.marker.sizeref  # one scale for both


def test_extent_and_axis_titles():
    fig = jd.event_display(JET, MASK, radius=0.2)  # a particle at φ = 0.4 lies outside R
    assert fig.layout.xaxis.range[1] == pytest.approx(1.05 * 0.4)  # the farthest particle
    assert fig.layout.xaxis.title.text == jd.RELATIVE_AXIS_TITLES[0]
    aligned = jd.event_display(JET, MASK, extent=0.3, frame="aligned")
    assert list(aligned.layout.xaxis.range) == [-0.3, 0.3]
    assert aligned.layout.yaxis.title.text == jd.ALIGNED_AXIS_TITLES[1]
    with pytest.raises(ValueError, match="frame"):
        jd.event_display(JET, MASK, frame="lab")


def test_the_data_and_jetclr_pages_draw_the_same_display():
    data = data_event_display(JET, MASK, 500.0, 0.8, "jet", "#123456")
    original = augmentation_display(JET, MASK, None, None, 500.0, 0.8, "original", "#123456")
    for fig in (data, original):
        pts = fig.data[-1]
        np.testing.assert_allclose(pts.marker.size, [0.5, 0.3, 0.2])
        assert pts.marker.sizeref == pytest.approx(2.0 / jd.MAX_MARKER_PX**2)
        assert pts.marker.color == "#123456"
    both = augmentation_display(JET, MASK, JET[:2], MASK[:2], 500.0, 0.8, "rotated")
    assert [t.name for t in both.data] == ["original (3)", "augmented (2)"]


def test_jet_rows_share_one_extent_and_scale():
    jets = np.stack([JET, JET * [1, 0.5, 0.5]])
    fig = jd.jet_row_figure(jets, np.stack([MASK, MASK]), "jets", extent=0.7)
    ranges = {tuple(fig.layout[f"xaxis{k if k > 1 else ''}"].range) for k in range(1, 3)}
    assert ranges == {(-0.7, 0.7)}
    for k, image in enumerate(fig.layout.images, start=1):  # a picture fills each panel
        assert (image.xref, image.x, image.sizex) == (f"x{k if k > 1 else ''}", -0.7, 1.4)
        assert (image.y, image.sizey, image.sizing) == (0.7, 1.4, "stretch")
        svg = ET.fromstring(base64.b64decode(image.source.split(",", 1)[1]))
        circles = svg.findall("{http://www.w3.org/2000/svg}g/{http://www.w3.org/2000/svg}circle")
        diameters = [2 * float(c.get("r")) for c in circles]  # one marker scale in every panel
        np.testing.assert_allclose(diameters, marker_diameters_px(JET[MASK, 0],
                                                                  jd.PAIRS_MARKER_PX), atol=0.01)
    assert fig.layout.margin.autoexpand is False  # one drawing pass in the browser
