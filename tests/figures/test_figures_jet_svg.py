"""A jet's panel as an SVG picture (figures/jet_svg.py): where and how large each particle is."""

from __future__ import annotations

import base64
import xml.etree.ElementTree as ET

import numpy as np
import pytest

from jetviz.figures.jet_display import jet_row_picture
from jetviz.figures.jet_svg import (
    PANEL_PX,
    jet_row_svg,
    jet_svg,
    marker_diameters_px,
    svg_data_uri,
    tick_values,
)

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


@pytest.mark.parametrize("extent", [0.013, 0.3, 0.5, 0.8, 1.0, 2.7])
def test_ticks_are_round_symmetric_and_inside_the_panel(extent):
    ticks = tick_values(extent)
    assert 3 <= len(ticks) <= 6 and 0.0 in ticks
    assert np.all(np.abs(ticks) <= extent + 1e-12)
    np.testing.assert_allclose(ticks, -ticks[::-1])  # symmetric about the jet axis
    step = ticks[1] - ticks[0]
    mantissa = step / 10 ** np.floor(np.log10(step))
    assert np.isclose(mantissa, [1, 2, 2.5, 5]).any()  # 1, 2, 2.5 or 5 × 10^k
    with pytest.raises(ValueError, match="extent"):
        tick_values(0.0)


def _row(k: int = 2, **kw) -> str:
    jets = np.stack([JET] * k)
    args = {"extent": 0.5, "radius": 0.4, "colour": "#123456",
            "panel_titles": [f"jet {j} <&>" for j in range(k)], "axis_titles": ("η′", "φ′"),
            "max_marker_px": 56.0} | kw
    return jet_row_svg(jets, np.stack([MASK] * k), "row <title>", **args)


def test_a_row_holds_each_jets_panel_at_its_place_and_scale():
    root = ET.fromstring(_row(2, width=600))  # well-formed XML: titles are escaped
    assert root.get("width") == "600"
    texts = [t.text for t in root.iter(f"{NS}text")]
    assert "row <title>" in texts and {"jet 0 <&>", "jet 1 <&>", "η′", "φ′"} <= set(texts)
    panels = root.findall(f"{NS}svg")
    assert len(panels) == 2
    lefts = [float(p.get("x")) for p in panels]
    assert lefts[0] == 70 and lefts[1] > lefts[0] + PANEL_PX  # side by side, not overlapping
    for panel in panels:  # each panel is jet_svg's panel: the same markers
        ref = _markers(jet_svg(JET, MASK, extent=0.5, radius=0.4, colour="#123456",
                               max_marker_px=56.0, panel_px=int(panel.get("width"))))
        np.testing.assert_allclose(_markers(ET.tostring(panel, encoding="unicode")), ref)


def test_many_panels_shrink_to_fit_with_markers_scaled_alike():
    root = ET.fromstring(_row(8, width=900))
    panels = root.findall(f"{NS}svg")
    size = int(panels[0].get("width"))
    assert size < PANEL_PX and float(panels[-1].get("x")) + size <= 900 - 30
    # a particle's marker keeps its size relative to the panel
    small = _markers(ET.tostring(panels[0], encoding="unicode"))[0, 2]
    full = marker_diameters_px(JET[:1, 0], 56.0)[0]  # in a panel of PANEL_PX
    np.testing.assert_allclose(small / size, full / PANEL_PX, rtol=0.02)


def test_row_and_picture_refuse_mismatched_input():
    with pytest.raises(ValueError, match="title each"):
        jet_row_svg(np.stack([JET] * 2), None, "t", extent=0.5, radius=0.4, colour="#000",
                    panel_titles=["only one"], axis_titles=("x", "y"), max_marker_px=56.0)
    with pytest.raises(ValueError, match="masks"):
        jet_row_picture(np.stack([JET] * 2), np.stack([MASK]), "t", extent=0.5)
    with pytest.raises(ValueError, match="role"):
        jet_row_picture(np.stack([JET] * 2), None, "t", extent=0.5, role="generated")
    picture = jet_row_picture(np.stack([JET] * 2), None, "t", extent=0.5, role="reconstructed")
    assert ET.fromstring(picture).find(f"{NS}svg/{NS}g").get("fill") == "#1f77b4"
