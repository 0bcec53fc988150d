"""Train a model: a β-conditioned VAE on the jets in use, with live progress and loss curves."""

import streamlit as st

from jetviz.figures.beta import format_beta
from jetviz.figures.walk import loss_curves_figure
from jetviz.serving import max_training_runs, training_budget
from jetviz.vae.saving import NAME_PATTERN, train_user_model, user_root
from ui.train import session_owner, store_slider_emds, training_device, training_inputs
from ui.vae import MODEL_KEY

LOSSES = {
    "exact": "EMD (exact, network simplex)",
    "sinkhorn": "EMD (Sinkhorn, the talk's choice; biased low at small EMD)",
    "chamfer": "Chamfer + jet pT and mass terms",
    "mse": "MSE on pT-ordered particles",
}
BETA_CHOICES = [0.1, 0.3, 1.0, 3.0, 10.0, 30.0, 100.0, 300.0, 1000.0, 3000.0]  # GeV
TOY_BETA_CHOICES = [1e-4, 3e-4, 1e-3, 3e-3, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0, 30.0, 100.0]

st.title("Train a β-VAE on the jets in use")
st.markdown(
    "Train your own model on the data set chosen in the sidebar (all classes or one). The "
    "model is conditioned on β: every training jet gets its own β drawn log-uniformly over "
    "the range below, so one network serves the whole β slider. When training ends the model "
    "is scanned over β and saved; it then appears in the model picker of the β and walk pages."
)
st.latex(
    r"L = \mathbb{E}_{\log\beta\,\sim\,U}\left[\frac{\mathrm{EMD}(x, \hat x)^2}{2\beta^2}"
    r" + \sum_i \mathrm{KL}_i\right]"
)
device = training_device()
st.caption(f"Training runs on **{device}**"
           + (" (a CUDA GPU, with mixed precision)." if device.startswith("cuda")
              else " (no CUDA GPU found). Keep runs small: a few thousand jets, a few epochs.")
           + f" This server trains {max_training_runs()} model(s) at a time (others queue), "
             f"one per session, each at most {training_budget():,} jets × epochs.")

c1, c2, c3 = st.columns(3, gap="medium")
with c1:
    st.subheader("Data")
    data = training_inputs("train")
with c2:
    st.subheader("Model")
    toy = data is not None and data.n_particles == 0
    loss = st.selectbox("Reconstruction loss", list(LOSSES), format_func=LOSSES.get,
                        key="train_loss", disabled=toy,
                        help="How a jet and its reconstruction are compared: the exact EMD (GeV; "
                             "its gradient from the optimal transport plan), the talk's "
                             "entropic Sinkhorn approximation, the Chamfer distance, or MSE on "
                             "pT-ordered particles. The toy always uses the Euclidean distance.")
    latent_dim = st.slider("Latent dimensions", 2, 32, 8, key="train_latent",
                           help="D, the number of latent directions the model can use.")
    beta_range = st.select_slider(
        "β range (data units)" if toy else "β range [GeV]",
        options=TOY_BETA_CHOICES if toy else BETA_CHOICES,
        value=(3e-4, 30.0) if toy else (1.0, 1000.0), key=f"train_beta_{int(toy)}",
        format_func=lambda b: format_beta(b, ""),
        help="The range the β slider will cover; β is drawn log-uniformly from it in training.")
with c3:
    st.subheader("Training")
    epochs = st.number_input("Epochs", 1, 500, 5, key="train_epochs",
                             help="Maximum epochs; early stopping may end sooner. Jets × epochs "
                                  f"may not exceed this server's budget, "
                                  f"{training_budget():,}.")
    batch_size = st.select_slider("Batch size", [32, 64, 128, 256, 512, 1024], 256,
                                  key="train_batch", help="Jets per optimizer step.")
    with st.expander("Advanced"):
        lr = st.number_input("Learning rate", 1e-6, 1e3, 1e-3, format="%.1e", key="train_lr",
                             help="Adam's initial learning rate (cosine decay to 5 % of it).")
        seed = st.number_input("Seed", 0, 2**31 - 1, 0, key="train_seed",
                               help="Seeds the split, initial weights, shuffling and β draws.")

c1, c2, c3 = st.columns([2, 1, 1], vertical_alignment="bottom")
with c1:
    name = st.text_input("Model name", "my_vae", key="train_name",
                         help=f"Saved to {user_root()}/<name>/ (pattern {NAME_PATTERN}).")
with c2:
    overwrite = st.checkbox("overwrite", key="train_overwrite",
                            help="Replace an existing model of this name when the run succeeds.")
with c3:
    start = st.button("Train", type="primary", key="train_start", disabled=data is None,
                      help="Start training. Changing any control while it runs stops the run "
                           "(nothing is saved, earlier models stay).")

if start and data is not None:
    config, train_config, jets, provenance = data.build(
        loss=loss, latent_dim=latent_dim, beta_min=beta_range[0], beta_max=beta_range[1],
        epochs=int(epochs), batch_size=int(batch_size), lr=float(lr), seed=int(seed))
    progress = st.progress(0.0, text="Starting …")
    left, right = st.columns(2)
    curves = (left.empty(), right.empty())  # one unit per axis: nats, and GeV
    history: dict[str, list[float]] = {"epoch": [], "validation loss": [],
                                       "validation distance d": []}

    def on_epoch(epoch: int, record: dict) -> bool:
        h = record["history"][-1]
        history["epoch"].append(h["epoch"])
        history["validation loss"].append(h["val_loss"])
        history["validation distance d"].append(h["val_distance"])
        done = (epoch + 1) / train_config.epochs
        progress.progress(min(done, 1.0), text=(
            f"epoch {h['epoch']}/{train_config.epochs}: validation loss {h['val_loss']:.4g} "
            f"nats, EMD {h['val_distance']:.3g} GeV, {h['jets_per_s']:.0f} jets/s"
            + (" — then a β-scan …" if epoch + 1 >= train_config.epochs else "")))
        curves[0].plotly_chart(
            loss_curves_figure(history["epoch"], {"validation loss": history["validation loss"]},
                               "Validation loss per epoch (live)", "loss per jet [nats]"),
            theme=None, key=f"train_loss_{epoch}")
        curves[1].plotly_chart(
            loss_curves_figure(history["epoch"],
                               {"validation distance d": history["validation distance d"]},
                               "Reconstruction distance per epoch (live)",
                               "mean distance [GeV]" if not toy else "mean distance (data units)"),
            theme=None, key=f"train_emd_{epoch}")
        return True

    def on_scan(done: int, total: int) -> None:
        progress.progress(done / total, text=f"β-scan of the trained model: {done}/{total} β "
                                             "values (KL per dimension, D1, D2) …")

    def on_wait(position: int) -> None:
        progress.progress(0.0, text=(
            f"Waiting for a free training slot: you are number {position} in the queue "
            f"({max_training_runs()} run(s) at a time on this server) …"))

    try:
        with st.spinner("Training …"):
            path, record = train_user_model(name, config, jets, train_config, on_epoch,
                                            overwrite, provenance, session_owner(), on_wait,
                                            on_scan)
    except Exception as err:  # diverged, bad data, bad name: say so, keep earlier models
        progress.empty()
        st.error(f"Training failed: {err}. Earlier checkpoints are untouched.")
    else:
        progress.progress(1.0, text=f"Done: {len(record['history'])} epochs "
                                    f"({record['stopped'].replace('_', ' ')}).")
        store_slider_emds(path)
        st.session_state[MODEL_KEY] = str(path)
        st.success(f"Saved to {path}. Open the **β slider** or **Latent walk** page: the model "
                   f"is selected there as {path.name} (yours).")
