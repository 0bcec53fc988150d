"""Latent walk: decode jets along one direction of a β-VAE's latent space (talk 000)."""

from pathlib import Path

import streamlit as st

from jetviz.figures.beta import dim_name
from jetviz.figures.jet_display import event_display, jet_extent
from jetviz.figures.points import toy_walk_figure
from jetviz.figures.style import ROLE_COLOURS, latent_colour
from jetviz.figures.walk import walk_animation_figure, walk_observables_figure
from jetviz.vae.explore import WALK_UNITS, dimensions_by_kl, kl_at_beta
from ui.share import share_view
from ui.vae import (
    beta_slider,
    model_and_class,
    reconstruction_at,
    sample_for,
    share_beta,
    share_model_and_class,
)
from ui.walk import jet_class_of, pick_random, principal_variances, walk_path

DIRECTIONS = {
    "dimension": "one latent dimension",
    "principal": "a principal direction of the latent means",
    "line": "the straight line to a second jet",
}

st.title("Latent walk: what each direction of the latent space does to a jet")
st.markdown(
    "Encode one jet, then move its latent point along a direction and decode it at every "
    "step. Along an active dimension the decoded jet changes in one physical way (its mass, "
    "its prong spacing, its width …); along an inactive one nothing happens, because at this "
    "β the model stores no information there. The observables along the whole path are "
    "plotted beside the jet."
)
st.latex(r"z(t) = \mu(x) + t\,\hat v, \qquad \hat x(t) = \mathrm{decoder}\big(z(t);\ \beta\big)")

share_model_and_class("walk", {
    "walk_jet": lambda v: isinstance(v, int) and v >= 0, "walk_kind": list(DIRECTIONS),
    "walk_end": lambda v: isinstance(v, int) and v >= 0})
picked = model_and_class("walk")
if picked is None:
    st.stop()
loaded, scan, class_name = picked
share_beta("walk", "walk_beta", loaded, scan)
# the direction pickers' keys name the model: a new model gets new widgets (the browser would
# otherwise keep showing the old model's dimension), and a link carries the model's own choice
dim_key, pc_key = (f"{key}:{Path(loaded.path).name}" for key in ("walk_dim", "walk_pc"))
share_view(f"walk_directions:{Path(loaded.path).name}", [dim_key, pc_key],
           allowed=dict.fromkeys((dim_key, pc_key), lambda v: isinstance(v, int) and v >= 0))
beta = beta_slider(scan, loaded.unit, key="walk_beta", model=loaded.path)
sample = sample_for(loaded, class_name)
if sample is None:
    st.stop()
rec = reconstruction_at(loaded, sample, beta)
if rec is None:
    st.stop()
n = len(rec.mu)
for key, size in (("walk_jet", n), ("walk_end", n), (dim_key, rec.mu.shape[1]),
                  (pc_key, rec.mu.shape[1])):
    if st.session_state.get(key, 0) >= size:  # from a link to a larger sample or model
        st.session_state.pop(key, None)
what = "point" if loaded.is_toy else "jet"

c1, c2, c3 = st.columns([2, 1, 3], vertical_alignment="bottom")
with c1:
    jet = st.number_input(
        f"Start {what} (0 – {n - 1} of the sample)", min_value=0, max_value=n - 1, step=1,
        key="walk_jet", help=f"Which of the {sample.description} the walk starts from.")
with c2:
    st.button(f"Random {what}", on_click=pick_random, args=("walk_jet", n),
              help=f"Start from a {what} of the sample drawn at random.")
with c3:
    kind = st.radio("Direction", list(DIRECTIONS), format_func=DIRECTIONS.get,
                    horizontal=True, key="walk_kind",
                    help=("Move along one latent axis z_i, along a principal direction of the "
                          "latent means μ of the sample, or interpolate straight to the latent "
                          "point of a second jet."))

kl_now = kl_at_beta(scan.betas, scan.kl, beta)
order = dimensions_by_kl(kl_now)
if kind == "dimension":
    which = st.selectbox(
        "Latent dimension (ordered by KL at this β)", order, key=dim_key,
        format_func=lambda i: f"{dim_name(i)} — ⟨KL⟩ = {kl_now[i]:.3g} nats",
        help="The most informative dimensions at this β come first; KL ≈ 0 means inactive.")
    colour = latent_colour(which)
elif kind == "principal":
    variances = principal_variances(loaded, sample, beta)
    which = st.selectbox(
        "Principal direction of the latent means", list(range(len(variances))),
        key=pc_key,
        format_func=lambda k: f"direction {k + 1} — variance of μ {variances[k]:.3g}",
        help="Principal components of the posterior means μ of the sample, largest first.")
    colour = ROLE_COLOURS["reconstructed"]
else:
    which = st.number_input(
        f"End {what} (0 – {n - 1} of the sample)", min_value=0, max_value=n - 1, step=1,
        value=min(1, n - 1), key="walk_end",
        help=f"The walk interpolates straight from the start {what}'s μ to this {what}'s μ.")
    colour = ROLE_COLOURS["generated"]

path = walk_path(loaded, sample, int(jet), beta, kind, int(which))
if path is None:
    st.stop()


@st.fragment
def along_path() -> None:
    """The position slider and what it drives; dragging reruns only this part."""
    t = st.select_slider(
        "Position along the path", options=list(range(len(path.positions))),
        value=path.start_index, key=f"walk_t_{kind}",
        format_func=lambda k: f"{path.positions[k]:+.2f}",
        help=("Drag to move along the path; the path is decoded once, so dragging only looks up "
              "the decoded jet. 0 is the start jet's own reconstruction."),
    )
    position = float(path.positions[t])

    left, right = st.columns([1, 1], gap="medium")
    with left:
        if loaded.is_toy:
            st.plotly_chart(toy_walk_figure(rec.originals, path.jets, t, colour), theme=None,
                            key="walk_event")
        else:
            start_class = jet_class_of(sample, int(jet))
            title = (f"Decoded at {position:+.2f} ({start_class} jet {int(jet)}, "
                     f"β = {beta:.3g} GeV)")
            start = (rec.originals[int(jet)], rec.mask[int(jet)])
            st.plotly_chart(
                event_display(path.jets[t], jet_pt=float(rec.jet_pt[int(jet)]),
                              radius=loaded.config.radius, title=title, colour=colour,
                              name="decoded", overlay=start[0], overlay_mask=start[1],
                              overlay_name="start jet",
                              extent=jet_extent(path.jets, start[0][start[1]],
                                                radius=loaded.config.radius),
                              frame="aligned"),
                theme=None, key="walk_event")
            m1, m2, m3 = st.columns(3)
            m1.metric("mass", f"{path.observables['mass'][t]:.0f} GeV")  # fits its column, as pT
            m2.metric("pT", f"{path.observables['pT'][t]:.0f} GeV")
            m3.metric("τ21", f"{path.observables['τ21'][t]:.3f}")
    with right:
        st.plotly_chart(
            walk_observables_figure(
                path.positions, path.observables, position, path.x_title, WALK_UNITS, colour,
                "Coordinates of the decoded point along the path" if loaded.is_toy
                else "Observables of the decoded jet along the path"),
            theme=None, key="walk_observables")


along_path()

if st.toggle("▶ Walk animation", key="walk_animation_on",
             help="An animation of the decoded jet along the whole path: press ▶ play in "
                  "the figure. It runs in the browser from the path decoded once."):
    st.plotly_chart(
        walk_animation_figure(path.positions, path.jets, loaded.config.radius,
                              None if loaded.is_toy else float(rec.jet_pt[int(jet)]), colour,
                              path.x_title),
        theme=None, key="walk_animation")
