"""Theory map: events (or sets of events) of many BSM theories in one 2-D map (talk 003)."""

import streamlit as st

from jetviz.errors import JetvizInputError
from jetviz.figures.contrastive import (
    event_panels,
    mass_plane_figure,
    selection_histograms,
    theory_label,
    theory_map_figure,
)
from jetviz.serving import path_entry_allowed
from jetviz.theorymap.model import METHOD_LABELS
from ui.clicks import clicked_row, remember_click
from ui.share import share_link, share_view
from ui.theorymap import (
    UPLOAD_TYPES,
    accuracy_table,
    centroids,
    clear_user_events,
    first_events,
    load_upload,
    map_neighbours,
    selected_rows,
    stored_map,
    summary,
    try_load_user_events,
    user_events,
    user_events_error,
    user_projection,
)

PROJECTIONS = {"umap": "UMAP", "pca": "PCA"}

st.title("Theory map: one latent space for many theories")
st.markdown(
    "Each point is one simulated event — or a set of N events — from a gluino-pair SUSY point "
    "(m_g̃, m_χ̃), a Standard-Model background, or an *unphysical* sample whose features were "
    "shuffled across events. An encoder trained on the four leading jets and the missing "
    "energy places them in an 8-D latent space, shown here in 2-D; a contrastive loss needs no "
    "knowledge of the masses, yet its clusters line up like the mass plane."
)
st.latex(
    r"L = (1 - Y)\,\tfrac12 D^2 + Y\,\tfrac12 \max(0,\, m - D)^2, \qquad "
    r"D = \lVert \phi(u) - \phi(v) \rVert,\quad Y = \begin{cases}1 & \text{different theories}"
    r"\\ 0 & \text{same theory}\end{cases}"
)

info = summary()
if info is None:
    st.stop()
theories = info["theories"]
methods = info["methods"]

share_view("theory_map", ["theorymap_method", "theorymap_set_size", "theorymap_projection",
                          "theorymap_point"],
           allowed={"theorymap_method": methods, "theorymap_set_size": info["set_sizes"],
                    "theorymap_projection": list(PROJECTIONS),
                    "theorymap_point": lambda v: isinstance(v, int) and v >= 0})
share_link()
c1, c2, c3 = st.columns([3, 2, 2])
method = c1.radio(
    "Embedding method", methods, horizontal=True, key="theorymap_method",
    index=methods.index("contrastive") if "contrastive" in methods else 0,
    format_func=lambda m: METHOD_LABELS.get(m, m),
    on_change=st.session_state.pop, args=("theorymap_point", None),  # another map's points
    help="Autoencoder: reconstruct the events (MSE), no labels. Neural Embedding: latent "
         "distances copy the distances between theories in the (m_g̃, m_χ̃) plane. "
         "Contrastive: same theory together, different theories at least a margin apart.")
set_size = c2.select_slider(
    "Events per point (set size N)", options=info["set_sizes"], value=max(info["set_sizes"]),
    key="theorymap_set_size", on_change=st.session_state.pop, args=("theorymap_point", None),
    help="Each point encodes N events of one theory together (a permutation-invariant deep "
         "set); larger sets average out event-by-event fluctuations.")
projection = c3.radio(
    "2-D map", list(PROJECTIONS), horizontal=True, format_func=PROJECTIONS.get,
    key="theorymap_projection",
    help="UMAP (non-linear, computed once and stored) or PCA of the 8-D latent space "
         "(linear, the instant alternative).")

with st.expander("Project your own events onto the map",
                 expanded=user_events() is not None or user_events_error() is not None):
    u1, u2 = st.columns(2)
    upload = u1.file_uploader(
        "Upload events", type=UPLOAD_TYPES, key="theorymap_upload",
        help="A Dark Machines CSV (event id; process id; weight; MET; METphi; objects…) or a "
             "file made by `jetviz generate events`. Events are grouped into sets of N per "
             "process/theory and projected with the stored map — nothing is refitted.")
    if upload is not None and st.session_state.get("theorymap_upload_id") != upload.file_id:
        st.session_state["theorymap_upload_id"] = upload.file_id
        load_upload(upload)
    if path_entry_allowed():
        path = u2.text_input("…or a file path on the server", key="theorymap_path",
                             help="Read on the machine running jetviz, inside the folders the "
                                  "administrator allows (checkpoints/ and $JETVIZ_DATA_ROOTS), "
                                  "e.g. checkpoints/events_default.h5")
    b1, b2 = u2.columns(2)
    if path_entry_allowed() and b1.button(
            "Project file", key="theorymap_project",
            help="Read the file at this path and project its events"):
        try_load_user_events(path, path)
    if b2.button("Clear my events", key="theorymap_clear",
                 help="Remove your events from the map"):
        clear_user_events()
    if (message := user_events_error()) is not None:
        st.error(message)
    if (held := user_events()) is not None:
        events, label = held
        st.caption(f"In use: **{label}** — {len(events):,} events, theories {events.counts()}")

try:
    tmap = stored_map(method, set_size)
except JetvizInputError as err:
    st.error(f"{err}. Choose another method or set size.")
    st.stop()
xy = tmap.umap if projection == "umap" else tmap.pca
projected = None
try:
    projected = user_projection(method, set_size)
except JetvizInputError as err:
    st.error(f"Your events are not shown at this set size: {err}")

left, right = st.columns([3, 2])  # the accuracy table needs ≈ 450 px for its 4 columns
with left:
    fig = theory_map_figure(
        xy, tmap.theory, theories, set_size=set_size, axis=PROJECTIONS[projection],
        title=f"{METHOD_LABELS.get(method, method)} map, N = {set_size} "
              f"({len(xy):,} training {'events' if set_size == 1 else 'sets'})",
        user_xy=None if projected is None else getattr(projected, projection),
        user_names=None if projected is None else projected.names)
    chart_key = f"theorymap_{method}_{set_size}_{projection}"
    event = st.plotly_chart(fig, on_select=remember_click(chart_key, "theorymap_point"),
                            selection_mode=("points", "box", "lasso"), key=chart_key)
with right:
    st.subheader(f"KDE accuracy, N = {set_size}")
    # a static table wraps its headers: every column and header fits the narrow column
    st.table(accuracy_table(info, set_size).set_index("method"))
    st.caption(
        "A Gaussian KDE per theory on training embeddings assigns each held-out set to the "
        "densest theory (Scott bandwidth, equal priors); "
        f"{next(iter(info['table'].values()))[str(set_size)]['n_test_sets']} held-out sets, "
        f"chance {100 / len(theories):.0f} %. Talk 003: ≈ 43 % (Neural Embedding, single events), "
        "≈ 70 % (sets). Mass-plane ρ: Spearman correlation of SUSY cluster distances in the "
        "latent space with their distances in the (m_g̃, m_χ̃) plane.")

rows = selected_rows(event)
if rows.size:
    st.markdown(f"**{rows.size} selected points** ({rows.size * set_size:,} events).")
else:
    st.caption("Pick the box or lasso tool (top right of the map) and draw on the map to "
               "compare the selected events with the whole sample; click one point to see its "
               "events and its nearest neighbours below.")
st.plotly_chart(selection_histograms(tmap.met[rows], tmap.met, tmap.j1_pt[rows], tmap.j1_pt))

point = clicked_row("theorymap_point", len(xy))
if point is not None:
    near, dist = map_neighbours(method, set_size, point)
    what = "event" if set_size == 1 else f"set of {set_size} events"

    def _name(row: int) -> str:
        return f"#{row} {theory_label(theories[int(tmap.theory[row])])}"

    st.subheader(f"The clicked {what} and its {len(near)} nearest in the latent space")
    shown = first_events(info, tmap, [point, *near])
    first = "" if set_size == 1 else " (the first of its set)"

    def _panel(k: int, row: int, d: float | None) -> str:
        label = theory_label(theories[int(tmap.theory[row])])
        head = f"#{row}" + ("" if d is None else f": d = {d:.3f}")
        return f"{head}<br>{label}" + ("" if shown is None or shown[1][k] else " (shuffled)")

    left, right = st.columns([2, 3], gap="medium")
    with right:
        st.markdown(
            f"**Point {_name(point)}**. Its neighbours are the points whose "
            f"{tmap.latent.shape[1]}-D latent vectors lie closest (Euclidean distance, in the "
            "encoder's units): the model's own notion of similar events, which the 2-D map "
            "keeps only roughly. Same theory, or a theory of similar masses?")
        st.table([{"point": _name(int(j)), "latent distance": f"{d:.3f}",
                   "mean MET [GeV]": f"{float(tmap.met[j].mean()):.0f}",
                   "mean pT,j1 [GeV]": f"{float(tmap.j1_pt[j].mean()):.0f}"}
                  for j, d in zip(near, dist, strict=True)])
    if shown is None:
        st.info(f"The event file the maps were trained on ({info.get('events')}) is not here, "
                "so the events cannot be drawn; the neighbours and distances above stand.")
    else:
        features, stored = shown
        with left:
            st.plotly_chart(event_panels(features[:1], [_panel(0, point, None)],
                                         f"Clicked{first}", height=420),
                            key="theorymap_point_display")
        st.plotly_chart(event_panels(features[1:], [
            _panel(k + 1, int(j), float(d)) for k, (j, d) in enumerate(zip(near, dist,
                                                                           strict=True))],
            f"Its {len(near)} nearest points in the latent space{first}"),
            key="theorymap_point_neighbours")
        st.caption("Transverse plane: each of the four leading jets is an arrow of length pT "
                   "along its φ (blue), the missing transverse momentum a dashed red arrow; "
                   "hover for η and mass. Shuffled: the unphysical sample, whose events are "
                   "not stored.")
    for column, j in zip(st.columns(max(len(near), 1)), near, strict=False):
        column.button(f"Open #{int(j)}", key=f"theorymap_open_{int(j)}",
                      on_click=st.session_state.update, kwargs={"theorymap_point": int(j)},
                      help="Show this point's events and its own nearest neighbours.")

st.plotly_chart(mass_plane_figure(centroids(method, set_size, projection), theories,
                                  axis=PROJECTIONS[projection]))
