"""Jets by class: observable histograms, an event display of one jet, average jet images."""

import streamlit as st

from jetviz.dataset import NEIGHBOUR_POOL, observables_of_jet
from jetviz.figures.data import (
    class_label,
    event_display,
    jet_image_figure,
    neighbour_panels,
)
from jetviz.figures.jet_display import ALIGNED_AXIS_TITLES, RELATIVE_AXIS_TITLES
from jetviz.figures.style import class_colour
from ui.data import (
    average_image_of,
    class_histograms_of,
    jets_in_use,
    neighbours_of,
    observables_of,
    pick_random_jet,
    truncation_note,
)
from ui.share import share_link, share_view

st.title("Jets by class")
st.markdown(
    "Each class of jet leaves its own pattern. A W, Z or top quark decays into two or three "
    "hard quarks, so its jet has a mass near the particle's mass (≈ 80, 91, 173 GeV) and two "
    "or three energy cores; gluon and light-quark jets have one core and a broad mass "
    "spectrum. The histograms compare the classes, the event display shows one jet particle by "
    "particle, and the average jet image shows where a class puts its energy."
)
st.latex(
    r"m^2 = \Big(\sum_i E_i\Big)^2 - \Big|\sum_i \vec p_i\Big|^2, \qquad"
    r"\tau_N = \frac{\sum_i p_{T,i}\, \min_k \Delta R_{ik}}{R \sum_i p_{T,i}}, \qquad"
    r"\tau_{21} = \tau_2/\tau_1,\ \tau_{32} = \tau_3/\tau_2"
)
st.caption(
    "τ_N is small when the jet's energy sits close to N axes: a 2-prong W or Z jet has a small "
    "τ21, a 3-prong top jet a small τ32."
)

jets, key = jets_in_use()
present = jets.present_classes()
share_view("data", ["data_class", "data_index", "data_pixels", "data_aligned"], allowed={
    "data_class": present, "data_index": lambda v: isinstance(v, int) and v >= 0,
    "data_pixels": [15, 25, 33, 50, 75, 100], "data_aligned": [True, False]})
share_link()
note = truncation_note(jets)
if note:
    st.info(note)
values = observables_of(jets, key)

st.header("Observables by class")
st.plotly_chart(class_histograms_of(jets, key), theme=None, key="data_histograms")
st.caption("Jet pT, η, mass and multiplicity are the whole jet's, as stored in the file; "
           f"τ21 and τ32 are computed from the {jets.n_particles} hardest particles kept per "
           "jet. Click a class in the legend to hide or show it.")

st.header("One jet, and its class on average")
if st.session_state.get("data_class") not in present:  # a shared link's class not in this set
    st.session_state.pop("data_class", None)
class_column, _ = st.columns([1, 2])
with class_column:
    name = st.selectbox("Class", present, format_func=class_label, key="data_class",
                        index=present.index("t") if "t" in present else 0,
                        help="The class of the jet shown and of the average image.")
n_class = jets.counts()[name]
if st.session_state.get("data_index", 0) >= n_class:
    st.session_state["data_index"] = 0
sub = jets.of_class(name)

left, right = st.columns(2, gap="medium")
with left:
    c1, c2 = st.columns([3, 2], vertical_alignment="bottom")
    index = c1.number_input(
        f"Jet number (0 – {n_class - 1})", min_value=0, max_value=n_class - 1, step=1,
        key="data_index", help="Which jet of this class to draw, in file order.")
    c2.button("Random jet", on_click=pick_random_jet, args=("data_index", n_class),
              help="Draw a jet of this class at random.")
    st.plotly_chart(
        event_display(sub.particles[index], sub.mask[index], float(sub.jets[index, 0]),
                      jets.radius, f"{class_label(name)} jet #{index}",
                      class_colour(name, jets.class_names.index(name))),
        theme=None, key="data_event")
    row = observables_of_jet(values, jets, name, int(index))
    st.markdown(
        f"**This jet:** pT = {row['pt']:.0f} GeV, mass = {row['mass']:.1f} GeV, "
        f"τ21 = {row['tau21']:.2f}, τ32 = {row['tau32']:.2f}, "
        f"{int(row['multiplicity'])} constituents ({int(row['stored'])} stored)."
    )
with right:
    c1, c2 = st.columns([3, 2], vertical_alignment="bottom")
    n_pixels = c1.select_slider(
        "Image pixels per side", options=[15, 25, 33, 50, 75, 100], value=33,
        key="data_pixels", help="Resolution of the average jet image over [−R, R]².")
    aligned = c2.toggle(
        "Align jets", value=True, key="data_aligned",
        help=("Centre each jet on its pT centroid, rotate its principal axis along η′ and "
              "flip it so its pT skews right and up before averaging (the frame the models "
              "see), so the two prongs of W/Z jets and the three of top jets line up. "
              "Off: the jets as stored."))
    image = average_image_of(jets, key, name, n_pixels, aligned)
    how = "aligned" if aligned else "as stored"
    st.plotly_chart(
        jet_image_figure(image, jets.radius, f"Average {class_label(name)} jet, {how}",
                         axis_titles=ALIGNED_AXIS_TITLES if aligned else RELATIVE_AXIS_TITLES),
        theme=None, key="data_image")
    st.caption(f"Mean pT/pT,jet per pixel over all {len(sub):,} jets of the class, on a log "
               "colour scale. "
               + ("Each jet was centred on its pT centroid, rotated so its principal axis is "
                  "horizontal (η′) and flipped so its pT-weighted third moments are positive: "
                  "the harder prong left of the centre, the softer one right. This is the "
                  "frame the models see (jetviz.physics.frame)." if aligned
                  else "Jets as stored: centred on the jet axis, not rotated."))

near, dist = neighbours_of(jets, key, name, int(index))
st.plotly_chart(
    neighbour_panels(sub.particles[near], sub.mask[near], sub.jets[near, 0], jets.radius,
                     [f"#{j}: EMD {d:.1f} GeV" for j, d in zip(near, dist, strict=True)],
                     f"Its {len(near)} nearest {class_label(name)} jets (exact EMD)",
                     class_colour(name, jets.class_names.index(name))),
    theme=None, key="data_neighbours")
st.caption(
    f"Searched: the first {min(len(sub), NEIGHBOUR_POOL):,} jets of the class. The EMD is "
    "the pT (GeV) that must move, times the distance it moves in units of R, plus the "
    "difference in total pT. Open a neighbour to see it and its own neighbours.")
for column, (j, d) in zip(st.columns(max(len(near), 1)), zip(near, dist, strict=True),
                          strict=False):
    column.button(f"Open #{j}", key=f"data_open_{j}", on_click=st.session_state.update,
                  kwargs={"data_index": int(j)},
                  help=f"Show jet #{j} (EMD {d:.1f} GeV from this one) and its neighbours.")
