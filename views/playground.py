"""Dimensionality playground: train a β-VAE on points of known dimension and watch D1 count it."""

import streamlit as st

from jetviz.errors import JetvizInputError
from jetviz.figures.beta import format_beta
from jetviz.figures.points import points_figure
from jetviz.vae.explore import plateau_rows
from ui.playground import (
    playground_data,
    result_figure,
    save_playground_model,
    train_live,
)
from ui.playground_family import ends_figure, family_caption, ready_examples

RESULT_KEY = "playground_result"
BUDGET_NOTE = (  # the figures: README "D1 on jet families", benchmarks/d1_jet_family.py
    "A few minutes here, with a plain posterior, give rougher plateaus than the 12-minute "
    "default of `jetviz train` (a capped posterior, 20 β per decade). That run, on the family "
    "90 / 3 / 0.1 GeV, read 3.10 / 1.96 / 0.95 / 0.00 against the true 3 / 2 / 1 / 0 "
    "(README, “D1 on jet families”, printed by `benchmarks/d1_jet_family.py`).")

st.title("Dimensionality playground: does D1 count what you know is there?")
st.markdown(
    "D1 claims to count the directions in which the data spread by more than β. Test it where "
    "you know the answer: pick a toy whose scales you set (a strip is 2-D below its thickness, "
    "1-D up to its length, a point above; a jet family's scales are EMDs in GeV), or upload "
    "your own points, train a small β-VAE for a minute or two, and watch D1 form its plateaus "
    "between the dotted lines."
)
st.latex(
    r"L = \frac{|x - \hat x|^2}{2\beta^2} + \sum_i \mathrm{KL}_i, \qquad "
    r"D_1(\beta) = -\sum_i \frac{d\langle \mathrm{KL}_i\rangle}{d\log\beta}"
    r"\;\approx\; \#\{\text{scales} > \beta\}"
)
examples = ready_examples()
if examples:
    st.caption("Ready-trained models of known scales (open them on the β slider page): "
               + ", ".join(examples) + ".")

left, right = st.columns([1, 2], gap="large")
with left:
    data = playground_data()
    if data is not None and data.jets is not None:
        latent_dim = 0  # fixed by the jets: 3P − 4 (data.model_fields)
        st.caption(BUDGET_NOTE)
    else:
        latent_dim = st.slider("Latent dimensions", 2, 12, 6, key="playground_latent",
                               help="More than the data's dimension, so D1 is free to "
                                    "overshoot.")
    minutes = st.select_slider("Training time [min]", [0.1, 0.5, 1.0, 2.0, 3.0, 5.0], 1.0,
                               key="playground_minutes",
                               help="Wall-clock budget; the learning rate decays over it. "
                                    "Longer runs resolve smaller scales.")
    seed = st.number_input("Seed", 0, 2**31 - 1, 0, key="playground_seed",
                           help="Seeds the split, the initial weights and the β draws.")
    start = st.button("Train", type="primary", key="playground_train", disabled=data is None,
                      help="Trains on this server's CPU (or GPU); the chart updates as it goes.")

with right:
    if data is not None:
        scales = ", ".join(f"{k} {format_beta(v, data.unit)}" for k, v in data.scales.items())
        if data.jets is not None:
            st.caption(f"{family_caption(data)} Known scales: {scales}.")
            if not start:
                st.plotly_chart(ends_figure(data), theme=None, key="playground_family_jets")
                st.caption("Marker area ∝ pT. The EMD between a pair's two jets is that "
                           "parameter's scale (above the high end). "
                           "Small scales move a 1 TeV jet too little to see by eye; D1 should "
                           "still count them at β below their scale.")
        else:
            st.caption(f"{len(data.points):,} points in {data.points.shape[1]} dimensions; "
                       f"known scales: {scales or 'none'}.")
            if not start:
                st.plotly_chart(points_figure(data.points[:2000], "The data (2,000 points)"),
                                theme=None, key="playground_data")
    if start and data is not None:
        progress = st.progress(0.0, text="Starting …")
        chart = st.empty()
        try:
            model, record = train_live(data, latent_dim, float(minutes), int(seed), progress,
                                       chart)
        except JetvizInputError as err:
            st.error(f"Training failed: {err}")
        else:
            progress.progress(1.0, text=f"Done: {len(record['history'])} epochs.")
            st.session_state[RESULT_KEY] = (model, record, data)
            chart.empty()

result = st.session_state.get(RESULT_KEY)
if result is not None:
    model, record, trained_on = result
    st.subheader(f"The last run: {record.get('data_source', '')}, "
                 f"{len(record['history'])} epochs")
    c1, c2 = st.columns([3, 2], gap="large")
    with c1:
        st.plotly_chart(result_figure(model, record, trained_on), theme=None,
                        key="playground_dimensionality")
    with c2:
        if trained_on.scales:
            st.dataframe(plateau_rows(record, trained_on.scales), hide_index=True,
                         key="playground_table")
            st.caption("Each window's median D1 against the number of scales above β (goal: "
                       "within ±0.3); the last row is the largest excess of D1 over that count "
                       "at β ≥ smallest scale/3 (goal: ≤ 0.5).")
        st.caption(f"Reconstruction floor δ = "
                   f"{format_beta(record['scan']['floor'], trained_on.unit)}: below it (grey) "
                   "the decoder, not the data, sets D1.")
        if trained_on.jets is not None:  # the β pages show the sidebar's jets, not a family
            st.caption("To keep a jet-family model, write the family and train it from the "
                       "command line (12 minutes by default):")
            st.code(f"{record['family_command']} --out family.h5\n"
                    "jetviz train --data family.h5 --out runs/my_family --threads 1",
                    language="bash")
        else:
            name = st.text_input("Save as", "my_manifold", key="playground_name",
                                 help="Saves the model to your models; open it on the β slider "
                                      "and Latent walk pages.")
            if st.button("Save model", key="playground_save"):
                try:
                    path = save_playground_model(name, model, record, trained_on.points)
                except JetvizInputError as err:
                    st.error(str(err))
                else:
                    st.success(f"Saved to {path}; pick it on the β slider page.")
