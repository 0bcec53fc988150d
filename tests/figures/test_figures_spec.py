"""Spec figures reach the browser drawable in one pass: the template's values written into the
figure, arrays as lists and a datarevision that changes exactly when the traces change."""

import numpy as np
import plotly.io as pio

from jetviz.figures.spec import Spec, bar, data_revision, inline_template, scatter, subplots
from jetviz.figures.style import layout


def test_inline_template_applies_defaults_under_the_figures_own_values():
    white = pio.templates["plotly_white"].to_plotly_json()
    spec = subplots(1, 2)
    spec.update_layout(xaxis2={"gridcolor": "red"}, annotations=[{"text": "a"}],
                       plot_bgcolor="black")
    traces = [bar(y=[1]), bar(y=[2], marker={"line": {"width": 0}}), scatter(y=[3])]
    data, out = inline_template(traces, spec.layout, "plotly_white")
    # axis defaults reach every axis; the figure's own value wins
    assert out["xaxis"]["gridcolor"] == white["layout"]["xaxis"]["gridcolor"]
    assert out["yaxis2"]["gridcolor"] == white["layout"]["yaxis"]["gridcolor"]
    assert out["xaxis2"]["gridcolor"] == "red" and out["xaxis2"]["domain"]
    assert out["plot_bgcolor"] == "black"
    assert out["colorway"] == white["layout"]["colorway"]
    assert out["annotations"][0]["arrowcolor"] == white["layout"]["annotationdefaults"][
        "arrowcolor"] and out["annotations"][0]["text"] == "a"
    # per trace type, own values on top
    assert data[0]["marker"]["line"] == white["data"]["bar"][0]["marker"]["line"]
    assert data[1]["marker"]["line"] == {"color": "white", "width": 0}
    assert data[2]["y"] == [3] and "marker" not in data[2]
    assert "template" not in out and "xaxis" not in spec.layout.get("xaxis", {})
    assert traces[1]["marker"] == {"line": {"width": 0}}  # arguments unchanged


def test_figure_has_no_template_object_lists_and_a_content_revision():
    def figure(y):
        spec = Spec(scatter(x=np.arange(3), y=np.asarray(y, float)))
        layout(spec, "t", 300)
        return spec.figure()

    one, same, other = figure([1, 2, 3]), figure([1, 2, 3]), figure([1, 2, 4])
    sent = one.to_plotly_json()
    assert sent["layout"]["template"] is None
    assert sent["layout"]["plot_bgcolor"] == "white"  # plotly_white, written in
    assert isinstance(sent["data"][0]["y"], list | tuple)  # not a typed array in the browser
    assert one.layout.datarevision == same.layout.datarevision
    assert one.layout.datarevision != other.layout.datarevision


def test_data_revision_reads_array_contents_not_their_repr():
    big = np.zeros(5000)
    changed = big.copy()
    changed[2500] = 1.0  # numpy's repr would elide the middle
    assert data_revision([{"y": big}]) != data_revision([{"y": changed}])
    assert data_revision([{"y": big}]) == data_revision([{"y": big.copy()}])
