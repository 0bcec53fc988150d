"""Anomalies: an autoencoder trained on background jets flags what it reconstructs badly —
and its normalized version (NAE) fixes the direction in which that fails."""

import streamlit as st

from jetviz.anomaly.data import BACKGROUND_LABELS, test_start
from jetviz.anomaly.evaluate import BACKGROUND_GROUP, PAPER_NOTE
from jetviz.anomaly.explore import rocs
from jetviz.errors import JetvizInputError
from jetviz.figures.anomaly import (
    image_grid,
    jet_and_reconstruction,
    roc_figure,
    score_histogram,
)
from ui.anomaly import (
    IMAGES,
    auc_table,
    load_model,
    model_dir,
    negative_images,
    scored,
    selected_jet,
    strip_points,
)
from ui.data import current_choice, jets_in_use

METHODS = {"ae": "AE (autoencoder)", "nae": "NAE (normalized autoencoder)"}

st.title("Anomalies: autoencoder vs normalized autoencoder")
st.markdown(
    "An autoencoder trained only on background jets scores every jet by how badly it "
    "reconstructs it, so jets unlike the background should score high. Trained on QCD this "
    "tags top jets. Trained on tops, it can call QCD jets *normal* — they are simpler, and an "
    "autoencoder reconstructs simple, sparse images well whatever it was trained on (the "
    "complexity bias; the AUC table below shows whether the models in use have it). The "
    "normalized autoencoder reads the reconstruction error as the "
    "energy of a probability density and, during training, also raises the error of what its "
    "own Markov chains propose, so only the training jets keep a low score.")
st.latex(r"E_\theta(x) = \tfrac{1}{n^2}\,\lVert x - D_\theta(f_\theta(x))\rVert^2,"
         r"\qquad p_\theta(x) = \frac{e^{-E_\theta(x)}}{Z_\theta},\qquad "
         r"Z_\theta = \int dx\, e^{-E_\theta(x)}")
st.latex(r"\mathcal{L}_{\rm NAE} = \langle E_\theta\rangle_{\rm data} - "
         r"\langle E_\theta\rangle_{p_\theta},\qquad x_{t+1} = x_t - \lambda\,\nabla_x "
         r"E_\theta(x_t) + \sigma\,\epsilon_t")
st.caption("Negative samples x ~ p_θ come from Langevin chains started in the latent space "
           "(then refined in pixel space) with a replay buffer (Dillon, Favaro, Plehn, "
           "Sorrenson, Krämer, arXiv:2206.14225, after Yoon et al. arXiv:2105.05735; talk 002).")

c1, c2, c3 = st.columns(3)
with c1:
    background = st.radio(
        "Trained on (background)", ["qcd", "top"], format_func=BACKGROUND_LABELS.get,
        horizontal=True, key="anom_background",
        help="The jets the model saw in training; every other class is a signal for it.")
with c2:
    method = st.radio(
        "Method", list(METHODS), format_func=METHODS.get, horizontal=True, key="anom_method",
        help="AE: trained on the reconstruction error only. NAE: the same AE, then trained "
             "further with the normalized (energy-based) loss.")
with c3:
    images = st.radio(
        "Images", list(IMAGES), format_func=IMAGES.get, horizontal=True, key="anom_images",
        help="Sharp: each pixel holds the pT of the particles in it (a jet of 30 particles "
             "lights up ~15 pixels). Blurred: the same image smoothed by a Gaussian of one "
             "pixel, as the paper's code does; both models of a set see the same images.")

try:
    model, config, record = load_model(method, background, images)
except JetvizInputError as err:
    st.error(f"The {METHODS[method]} trained on {BACKGROUND_LABELS[background]} cannot be "
             f"used: {err}")
    smooth = " --smooth 1" if images == "blurred" else ""
    st.info(f"Make it with `python -m jetviz anomaly train --background {background} "
            f"--method {method}{smooth} --out {model_dir(method, background, images)}` "
            "(README, *Anomalies*).")
    st.stop()

jets, jets_key = jets_in_use()
try:
    result = scored(method, background, jets, jets_key, current_choice().path, images)
except JetvizInputError as err:
    st.error(f"These jets cannot be scored: {err}")
    st.stop()
own = BACKGROUND_GROUP[background]
if own not in result.groups:
    st.warning(f"The jets in use have no {BACKGROUND_LABELS[background]} jets to compare "
               "with: load a file with background jets, or pick the other model.")
    st.stop()

# ── score distributions ─────────────────────────────────────────────────────────────────
st.header("Anomaly scores of background and signals")
event = st.plotly_chart(
    score_histogram(result.by_group(), strip_points(result),
                    f"{METHODS[method]} trained on {BACKGROUND_LABELS[background]}: "
                    "reconstruction error per jet", own),
    theme=None, key="anom_hist", on_select="rerun", selection_mode=("points", "box"))
held = ("test jets (never trained on, nor used to choose a model)" if result.held_out else
        "all jets of the file in use (not the model's training file)")
st.caption(f"Scores of {len(result.scores):,} {held}. Right = more anomalous. Drag a box "
           "over points in the strip under the histogram (or click one) to see that jet and "
           "its reconstruction below; with several jets selected, the first is shown.")

points = event.selection.points if event and event.selection else []
picked = [p["customdata"] for p in points if p.get("customdata") is not None]
jet = int(picked[0]) if picked else result.most_anomalous()
image, recon, energy = selected_jet(method, background, jets, jets_key, jet, images)
name = jets.class_names[jets.labels[jet]]
why = "selected" if picked else "the highest-scoring jet (select a point to choose another)"
st.plotly_chart(jet_and_reconstruction(
    image, recon, f"Jet #{jet} ({name}), {why}: E = {energy:.2e}", jets.radius),
    theme=None, key="anom_jet")

# ── ROC ─────────────────────────────────────────────────────────────────────────────────
st.header("How well the score separates signal from background")
curves, summaries = rocs(result, own)
cols = st.columns(max(1, len(summaries)))
for col, g in zip(cols, summaries, strict=False):
    s = summaries[g]
    col.metric(f"{g} vs {own}: AUC", f"{s['auc']:.3f}",
               help=f"1/ε_B = {s['inv_eb_02']:.1f} at ε_S = 0.2 and {s['inv_eb_05']:.1f} at "
                    "ε_S = 0.5. AUC < 0.5 means the signal looks *more* normal than the "
                    "background.")
st.plotly_chart(roc_figure(curves, summaries, f"ROC, {METHODS[method]} trained on "
                           f"{BACKGROUND_LABELS[background]}", own), theme=None, key="anom_roc")

# ── average images ──────────────────────────────────────────────────────────────────────
st.header("Average input and average reconstruction per class")
groups = list(result.groups)
st.plotly_chart(image_grid(
    [[result.mean_input[g] for g in groups], [result.mean_recon[g] for g in groups]],
    ["input", "reconstruction"], groups, "Average preprocessed jet image and what the model "
    "gives back", jets.radius), theme=None, key="anom_avg")
blur = (", smoothed by a Gaussian of σ = 1 pixel" if images == "blurred" else "")
st.caption("Images are centred, rotated (principal axis along η), flipped so the harder half "
           f"is positive{blur}, and divided by their sum; colour is log10 of the pT fraction per "
           "pixel. Where the reconstruction is blurrier than the input, the model cannot "
           "follow that class's substructure.")

# ── negative samples ────────────────────────────────────────────────────────────────────
st.header("What the NAE's Markov chains propose")
neg = negative_images(background, 6, images)
if not neg:
    st.info(f"No NAE trained on {BACKGROUND_LABELS[background]} is shipped with negative "
            "samples.")
else:
    real = [selected_jet(method, background, jets, jets_key, i, images)[0]
            for i in result.jets_of(own, 6)]
    st.plotly_chart(image_grid([real, neg], [f"real {own} jet", "NAE sample"],
                               [str(k + 1) for k in range(6)],
                               "Real training-class jets (top) beside the NAE's negative "
                               "samples at the training step kept (bottom)", jets.radius, 190),
                    theme=None, key="anom_neg")
    st.caption("A negative sample is where the NAE's energy was low at the training step "
               "kept: a latent Langevin chain decoded to an image, then refined by a Langevin "
               "chain in pixel space (each step divided by the image sum, like the data). The "
               "loss raises the error of these images, so the model stops reconstructing well "
               "what is not background.")

# ── AUC table ───────────────────────────────────────────────────────────────────────────
st.header("Both directions, both methods")
rows = auc_table()
st.dataframe(rows, hide_index=True, width="stretch", height=36 * (len(rows) + 1) + 3)
n_train, start = config["train"]["n_train"], test_start(config["train"])
st.caption(f"Ours: test jets of the embedded default file — the first {n_train:,} jets of each "
           "class may be trained on (a QCD model trains on g and q, a top model on t), the "
           f"next {start - n_train:,} choose the NAE's training step (the AUC of the talk's "
           f"direction, as the paper's trainer monitors it on a signal validation sample), "
           f"jets {start:,} onwards are scored here, for AE and NAE alike. Training took "
           f"{record.get('minutes', 0):.1f} min for this model on a shared CPU; commands in "
           f"README. Trained on QCD, the NAE's negative samples stay far below the data's "
           "energy on sharp images and the NAE does not beat the AE; on blurred images they "
           "reach it and it does (README, *Anomalies*). "
           f"{PAPER_NOTE.capitalize()}.")
