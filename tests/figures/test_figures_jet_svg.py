"""A jet's panel as an SVG picture (figures/jet_svg.py): where and how large each particle is."""

from __future__ import annotations

import base64
import xml.etree.ElementTree as ET

import numpy as np
import pytest

from jetviz.figures.jet_svg import jet_svg, marker_diameters_px, svg_data_uri

NS = "{http://www.w3.org/2000/svg}"
JET = np.array([[0.6, 0.0, 0.0], [0.3, 0.25, 0.25], [0.1, -0.5, 0.0], [0.0, 0.3, 0.3]])
MASK = np.array([True, True, True, False])


def _markers(svg: str) -> np.ndarray:
    """(n, 3) cx, cy, diameter of the particle markers of a panel."""
    circles = ET.fromstring(svg).findall(f"{NS}g/{NS}circle")
    return np.array([[float(c.get("cx")), float(c.get("cy")), 2 * float(c.get("r"))]
                     for c in circles])


def test_marker_area_is_proportional_to_pt_on_plotlys_scale():
    d = marker_diameters_px(np.array([1.0, 0.5, 0.25, 1e-6]), 56.0)
    # plotly's area sizing with sizeref = 2/56²: a particle with all the pT is 56/√2 px across
    np.testing.assert_allclose(d[0], 56.0 / np.sqrt(2))
    np.testing.assert_allclose(d[1:3] ** 2 / d[0] ** 2, [0.5, 0.25])  # area ∝ pT
    assert d[3] == 2.0  # plotly's sizemin


def test_particles_sit_at_their_eta_phi_with_phi_upwards():
    markers = _markers(jet_svg(JET, MASK, extent=0.5, radius=0.4, colour="#123456",
                               max_marker_px=56.0, panel_px=200))
    assert len(markers) == 3  # the padded row is not drawn
    # (η, φ) = (0, 0) at the centre; (0.25, 0.25) right and up; (−0.5, 0) on the left edge
    np.testing.assert_allclose(markers[:, :2], [[100, 100], [150, 50], [0, 100]])
    np.testing.assert_allclose(markers[:, 2], marker_diameters_px(JET[:3, 0], 56.0), atol=0.01)


def test_cone_axis_and_colour():
    root = ET.fromstring(jet_svg(JET, None, extent=1.0, radius=0.8, colour="#123456",
                                 max_marker_px=56.0, panel_px=100))
    cone = root.find(f"{NS}circle")
    assert (float(cone.get("r")), cone.get("fill")) == (40.0, "none")  # R = 0.8 of 1.0
    assert cone.get("stroke-dasharray")
    assert root.find(f"{NS}g").get("fill") == "#123456"
    assert len(root.findall(f"{NS}g/{NS}circle")) == 3  # no mask: the rows with ptrel > 0


def test_data_uri_round_trip():
    svg = jet_svg(JET, MASK, extent=0.5, radius=0.4, colour="#000000", max_marker_px=56.0)
    uri = svg_data_uri(svg)
    assert uri.startswith("data:image/svg+xml;base64,")
    assert base64.b64decode(uri.split(",", 1)[1]).decode() == svg


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match=r"\(P, 3\)"):
        jet_svg(JET[:, :2], None, extent=0.5, radius=0.4, colour="#000", max_marker_px=56.0)
    with pytest.raises(ValueError, match="extent"):
        jet_svg(JET, None, extent=0.0, radius=0.4, colour="#000", max_marker_px=56.0)
