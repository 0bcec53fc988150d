"""Jet representations: JetCLR's self-supervised map of jets, its augmentations, and the
top-vs-QCD linear probe beside the supervised ceiling and the talk's ablation."""

import streamlit as st

from jetviz.errors import JetvizInputError
from jetviz.figures.data import class_label, event_display, neighbour_panels
from jetviz.figures.jetclr import (
    augmentation_display,
    augmentation_extent,
    representation_map,
    roc_figure,
)
from jetviz.figures.style import class_colour
from jetviz.jetclr.report import ablation_rows, earlier_budget_note, ordered_curves, ordering_note
from ui.clicks import clicked_row, remember_click
from ui.data import jets_in_use, pick_random_jet
from ui.jetclr import (
    ablation_results,
    augmented_views,
    encoder_info,
    jetclr_dir,
    map_arrays,
    map_jets,
    map_neighbours,
)
from ui.share import share_link, share_view

st.title("Jet representations (JetCLR)")
st.markdown(
    "JetCLR learns what a jet *is* without ever seeing a label: it shows a network two "
    "randomly augmented copies of the same jet — rotated, shifted, with soft particles added "
    "or a particle split in two — and trains it to map both copies to the same direction "
    "while pushing different jets apart. If the augmentations encode the physics symmetries "
    "well, jets of different origin end up in different regions, and a *linear* cut on the "
    "representation can tag top jets — in the talk almost as well as a supervised network."
)
st.latex(
    r"\mathcal{L} = -\frac{1}{2B}\sum_{i=1}^{2B} \log "
    r"\frac{e^{s(z_i, z_{i^+})/\tau}}{\sum_{k\neq i} e^{s(z_i, z_k)/\tau}}, \qquad "
    r"s(z_i, z_k) = \frac{z_i\cdot z_k}{|z_i|\,|z_k|}, \quad \tau = 0.1"
)
st.caption(
    "NT-Xent loss over a batch of B jets, two views each; i⁺ is the other view of jet i "
    "(Dillon et al., arXiv:2108.04253, talk 002)."
)

missing = None
try:
    table, arrays, info = ablation_results(), map_arrays(), encoder_info()
except JetvizInputError as err:
    missing = str(err)

# ── the map ─────────────────────────────────────────────────────────────────────────────
share_view("representations", ["clr_map_method", "clr_point", "clr_class", "clr_index",
                                 "clr_seed"],
           allowed={"clr_map_method": ["UMAP", "PCA"],
                    "clr_point": lambda v: isinstance(v, int) and v >= 0,
                    "clr_class": lambda v: isinstance(v, str),
                    "clr_index": lambda v: isinstance(v, int) and v >= 0,
                    "clr_seed": lambda v: isinstance(v, int) and 0 <= v <= 10_000})
share_link()
st.header("Jets of all five classes in the learned representation")
if missing:
    st.info(f"No trained JetCLR model is shipped in `{jetclr_dir()}` ({missing}). "
            "Make it with `jetviz jetclr ablation` (README, *Jet representations*).")
else:
    method = st.radio(
        "Map", ["UMAP", "PCA"] if "umap" in arrays else ["PCA"], horizontal=True,
        key="clr_map_method",
        help=("How the representation is drawn in 2-D. UMAP keeps neighbourhoods (clusters) "
              "but not distances; PCA is the linear projection on the two directions of "
              "largest variance. Both were computed once, when the model was trained."))
    names = [str(c) for c in arrays["class_names"]]
    st.plotly_chart(
        representation_map(arrays[method.lower()], arrays["labels"], names, arrays["mass"],
                           arrays["pt"], method,
                           f"JetCLR representation ({info['config']['encoder']['rep_dim']}-D) "
                           f"of {len(arrays['labels']):,} held-out jets, {method}"),
        theme=None, key="clr_map", on_select=remember_click("clr_map", "clr_point"),
        selection_mode="points")
    st.caption(
        "The encoder was trained on top, gluon and light-quark jets without labels "
        "(all augmentations); W and Z jets were never seen in training. Every point is a jet "
        "the encoder did not train on; colours are added afterwards. Hover for mass and pT; "
        "click a jet to see it and its 5 nearest jets of the map by exact EMD.")
    point = clicked_row("clr_point", len(arrays["labels"]))
    if point is not None:
        try:
            near_jets = map_jets()
            near, dist = map_neighbours(point)
        except (JetvizInputError, OSError) as err:
            st.error(f"Cannot draw the clicked jet: {err}")
        else:
            def _colour(row: int) -> str:
                label = int(arrays["labels"][row])
                return class_colour(names[label], label)

            def _name(row: int) -> str:
                return f"#{row} {class_label(names[int(arrays['labels'][row])])}"

            left, right = st.columns([2, 3], gap="medium")
            with left:
                st.plotly_chart(
                    event_display(near_jets.particles[point], near_jets.mask[point],
                                  float(near_jets.jets[point, 0]), near_jets.radius,
                                  f"Clicked: map jet {_name(point)}", _colour(point)),
                    theme=None, key="clr_point_display")
            with right:
                st.markdown(
                    f"**Map jet {_name(point)}**: m = {float(arrays['mass'][point]):.1f} GeV, "
                    f"pT = {float(arrays['pt'][point]):.0f} GeV. Its 5 nearest jets of the "
                    "map by exact EMD — the pT (GeV) that must move, times the distance it "
                    "moves in units of R, plus the difference in total pT — do they sit near "
                    "it on the map, and are they of its class?")
                st.table([{"jet": _name(int(j)), "EMD [GeV]": f"{d:.1f}",
                           "mass [GeV]": f"{float(arrays['mass'][j]):.1f}"}
                          for j, d in zip(near, dist, strict=True)])
            st.plotly_chart(
                neighbour_panels(near_jets.particles[near], near_jets.mask[near],
                                 near_jets.jets[near, 0], near_jets.radius,
                                 [f"#{j} {names[int(arrays['labels'][j])]}: EMD {d:.1f} GeV"
                                  for j, d in zip(near, dist, strict=True)],
                                 f"Its {len(near)} nearest map jets (exact EMD, all "
                                 f"{len(near_jets):,} searched)", _colour(point)),
                theme=None, key="clr_point_neighbours")
            for column, j in zip(st.columns(max(len(near), 1)), near, strict=False):
                column.button(f"Open {_name(int(j))}", key=f"clr_open_{int(j)}",
                              on_click=st.session_state.update,
                              kwargs={"clr_point": int(j)},
                              help="Show this jet and its own nearest jets.")

# ── the augmentations ───────────────────────────────────────────────────────────────────
st.header("The augmentations, on one jet")
jets, key = jets_in_use()
present = [n for n, c in jets.counts().items() if c > 0]
if st.session_state.get("clr_class") not in present:  # a shared link's class not in this set
    st.session_state.pop("clr_class", None)
c1, c2, c3, c4 = st.columns([2, 2, 1, 2], vertical_alignment="bottom")
with c1:
    name = st.selectbox("Class", present, format_func=class_label, key="clr_class",
                        index=present.index("t") if "t" in present else 0,
                        help="The class of the jet to augment.")
n_class = jets.counts()[name]
if st.session_state.get("clr_index", 0) >= n_class:
    st.session_state["clr_index"] = 0
with c2:
    index = st.number_input(f"Jet number (0 – {n_class - 1})", min_value=0,
                            max_value=n_class - 1, step=1, key="clr_index",
                            help="Which jet of this class to augment, in file order.")
with c3:
    st.button("Random jet", on_click=pick_random_jet, args=("clr_index", n_class),
              key="clr_random", help="Pick a jet of this class at random.")
with c4:
    seed = st.number_input("Augmentation seed", min_value=0, max_value=10_000, value=0,
                           step=1, key="clr_seed",
                           help="Seed of the random augmentations: change it to draw new ones.")

sub = jets.of_class(name)
jet_pt = float(sub.jets[index, 0])
colour = class_colour(name, jets.class_names.index(name))
views = augmented_views(sub.particles[index], sub.mask[index], jet_pt, int(seed), jets.radius)
extent = augmentation_extent(views, jets.radius)
panels = [("original", None), *views.items()]
for row in range(0, len(panels), 3):
    for col, (title, view) in zip(st.columns(3, gap="small"), panels[row:row + 3],
                                  strict=False):
        with col:
            aug, aug_mask = view if view is not None else (None, None)
            st.plotly_chart(
                augmentation_display(sub.particles[index], sub.mask[index], aug, aug_mask,
                                     jet_pt, jets.radius,
                                     f"{class_label(name)} #{index}: {title}", colour, extent),
                theme=None, key=f"clr_aug_{title}")
st.caption(
    "Marker area ∝ pT (same scale in every panel); grey rings are the original particles. "
    "Rotation turns the jet about its axis and translation moves it: both keep its mass "
    "exactly. Soft smearing moves each particle by ≈ 0.1 GeV/pT and soft noise adds up to "
    "5 particles below 1 GeV (infrared safety); collinear splitting cuts up to 5 particles "
    "into two at the same point (collinear safety). Permutation reorders the particles, which "
    "the encoder ignores by construction.")

# ── the linear probe ────────────────────────────────────────────────────────────────────
st.header("Top vs QCD with a linear classifier on the representation")
if not missing:
    runs = table["runs"]
    sup = table.get("supervised")
    m1, m2, m3 = st.columns(3)
    m1.metric("AUC, linear probe (all augmentations)", f"{runs['all']['auc']:.4f}",
              help="Logistic regression on the frozen representation, held-out jets.")
    m2.metric("1/ε_B at ε_S = 0.5", f"{runs['all']['inv_eb']:.1f}",
              help="QCD jets rejected per one kept, when half the top jets are kept.")
    if sup is not None:
        m3.metric("probe AUC / supervised AUC", f"{runs['all']['auc'] / sup['auc']:.3f}",
                  help="The supervised ceiling is the same encoder trained with labels.")
    left, right = st.columns([1, 1], gap="medium")
    with left:
        curves = ordered_curves(table)
        st.plotly_chart(roc_figure(curves, "Top vs QCD on held-out jets"), theme=None,
                        key="clr_roc")
    with right:
        st.markdown("**Augmentation ablation: ours beside the talk's** (talk: top-tagging data "
                    "set, arXiv:2108.04253). 1/ε_B is taken at ε_S = 0.5.")
        st.dataframe(ablation_rows(table), hide_index=True, width="stretch")
        n_train = info["record"]["n_train_jets"]
        steps, batch = info["config"]["steps"], info["config"]["batch_size"]
        st.caption(
            f"Ours: {n_train:,} training jets (t, g, q), {steps} steps of batch {batch} "
            f"(≈ {steps * batch / n_train:.0f} epochs) for every row, a "
            f"{info['config']['encoder']['kind']} encoder per row; the probe's regularisation "
            "is chosen on a validation part of the training jets, probe and ceiling are scored "
            "on the same held-out jets. The talk's encoders trained on ≈ 1 M jets with up to 50 "
            f"particles each. {ordering_note(table)} {earlier_budget_note(table)} "
            f"Commands: `{table.get('command') or 'jetviz jetclr ablation'}`.")
