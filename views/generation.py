"""Generated jets: true vs generated observables, W1 distances beside the truth baseline, and
the JetNet protocol's FPD/KPD/W1 scores beside theirs."""

import streamlit as st

from jetviz.generation.metrics import LABELS
from ui.generation import (
    PAGE_DEFAULTS,
    available_generators,
    batch_size_for,
    class_label,
    fixed_observables,
    generated,
    generator_and_truth,
    generator_picker,
    histogram_figure,
    score_table,
    truth_key,
    warm_up_note,
)
from ui.generation_jetnet import jetnet_table
from ui.share import share_link, share_view

st.title("Generated jets")
st.markdown(
    "A VAE's decoder turns a latent vector z into a jet, so drawing z from a prior generates "
    "new jets. With the VAE's own prior z ~ N(0, 1) the decoder sees latents unlike the ones "
    "it was trained on (the aggregate posterior q(z) is not N(0, 1)); a normalizing flow "
    "fitted to q(z) fixes that. The *EMD + mass-MMD* generators go one step further (talk "
    "004): their decoder was fine-tuned with a maximum-mean-discrepancy term between "
    "generated and real jet masses, which sharpens the W, Z and top peaks. Below, the "
    "distributions of generated and true jets are overlaid, and the table scores each "
    "observable with the Wasserstein-1 distance — next to the W1 between two independent "
    "sets of real jets of the same size, the best any generator can do. A second table scores "
    "the whole jet with the JetNet evaluation protocol (FPD, KPD and W1s on energy-flow "
    "polynomials), again beside two sets of real jets."
)
st.latex(
    r"W_1(P, Q) = \int \big|F_P(x) - F_Q(x)\big|\, dx, \qquad "
    r"q(z) = \frac{1}{N}\sum_{j} \mathcal{N}\big(z;\ \mu(x_j), \sigma^2(x_j)\big)"
    r"\ \approx\ p_{\text{flow}}(z)"
)
st.latex(
    r"\mathcal{L}_{\text{MMD}} = \frac{\langle \mathrm{EMD}(x, \hat x)^2\rangle}{2\beta^2}"
    r" + \lambda\, \mathrm{MMD}^2(m_{\text{gen}}, m_{\text{true}}), \quad "
    r"\mathrm{MMD}^2 = \langle k(x, x')\rangle + \langle k(y, y')\rangle - 2\langle k(x, y)"
    r"\rangle"
)

specs = available_generators()
if not specs:
    st.info("No generators found. Fit one with `jetviz gen prior --vae <checkpoint> --beta "
            "<GeV> --out checkpoints/gen_<name>` (see README).")
    st.stop()

N_CHOICES, BATCH_CHOICES = [2_000, 5_000, 10_000, 20_000, 50_000], [500, 1_000, 2_000, 5_000]
share_view("generation", ["gen_generator", "gen_n", "gen_seed", "gen_batch"], allowed={
    "gen_generator": [s.label for s in specs], "gen_n": N_CHOICES, "gen_batch": BATCH_CHOICES,
    "gen_seed": lambda v: isinstance(v, int) and 0 <= v <= 10_000})
share_link()
if (note := warm_up_note()) is not None:
    st.caption(note)
left, mid, right, far = st.columns([3, 1, 1, 1])
with left:
    spec = generator_picker(
        specs, "gen_generator",
        "VAE (its training loss and jet class), prior over the latents and the β the decoder "
        "is conditioned on. Each VAE comes with both priors: compare them.")
with mid:
    n_jets = st.select_slider(
        "Generated jets", N_CHOICES, value=PAGE_DEFAULTS["n"],
        key="gen_n", help="How many jets to generate (cached; above 5,000 a progress bar "
                          "shows the sampling).")
with right:
    seed = int(st.number_input("Seed", 0, 10_000, PAGE_DEFAULTS["seed"], key="gen_seed",
                               help="Seeds the latents and the jet pT draws."))
with far:
    batch_size = st.select_slider(
        "W1 batch size", BATCH_CHOICES, value=PAGE_DEFAULTS["batch_size"],
        key="gen_batch",
        help="Jets per batch for W1 (JetNet protocol: 5 batches, mean ± std). Larger batches "
             "give smaller W1 for real and generated jets alike; the baseline uses the same "
             "size.")

gen, truth = generator_and_truth(spec)
batch_size = batch_size_for(batch_size, truth, n_jets)
fake, _ = generated(spec, gen, n_jets, seed)

st.plotly_chart(
    histogram_figure(spec, seed, n_jets, truth, fake),
    theme=None, key="gen_histograms")
pt_source = ("with their shape from the flow prior over (latents, log pT)" if gen.joint_pt
             else "from the training jets' pT distribution, independently of their shape")
st.caption(
    f"True: {len(truth.reference):,} real jets (half of the data set's "
    f"{class_label(spec.classes)} jets), prepared as the VAE sees them (30 hardest particles, "
    "ptrel renormalised, centred, rotated, flipped); generated: "
    f"{n_jets:,} decoded jets whose pT is drawn {pt_source}. "
    "All observables come from the particles (massless), for both. Decoded particles with "
    "ptrel < 10⁻⁴ count as absent. Densities are normalised to unit area; the ratio panel "
    "is generated / true.")

st.header("Wasserstein-1 distance per observable")
table = score_table(spec, seed, n_jets, batch_size, PAGE_DEFAULTS["n_batches"], truth, fake)
st.dataframe(table, hide_index=True, width="stretch", height=36 * (len(table) + 1) + 4,
             key="gen_table")
fixed = fixed_observables(truth_key(), spec.classes, truth.reference)
if fixed:
    st.caption(
        "**Not judged:** " + "; ".join(f"{LABELS.get(n, n)} — {why}" for n, why in fixed.items())
        + ". They stay in the histograms to show how far the generated jets stray from the "
        "frame, but their W1 against a spike says nothing about the physics.")
st.caption(
    f"JetNet protocol (arXiv:2106.11535): 5 batches of {batch_size:,} jets from each sample, "
    "W1 by scipy per batch, mean ± std. Truth vs truth: the same between the reference half "
    "and the other half of the real jets — a generator within about two standard deviations "
    "of it is 'as good as real data' at this sample size. MMD²: unbiased, Gaussian kernel "
    "exp(−Δ²/2σ²) with σ the median pairwise distance (≤ 1,000 values per batch). "
    "Relative mass m/pT is the JetNet paper's W1M observable.")

st.header("JetNet protocol: FPD, KPD and W1")
jetnet, small_sample = jetnet_table(spec, seed, n_jets, truth_key(), truth, fake)
st.dataframe(jetnet, hide_index=True, width="stretch", key="gen_jetnet")
if small_sample:
    st.caption(small_sample)
st.caption(
    "The evaluation protocol of Kansal et al. (arXiv:2211.10295) with jetnet 0.2.5's defaults "
    "and units. **FPD**: the Fréchet distance between Gaussians fitted to the 36 energy-flow "
    "polynomials (EFPs, all of degree ≤ 4) of each sample, extrapolated to infinitely many "
    "jets from batches of 20,000–50,000 (×10³). **KPD**: the unbiased MMD² of the same "
    "features with the kernel (x·y/36 + 1)⁴, median of 10 batches of 5,000 (×10⁶). Both "
    "divide each EFP by its largest value among the real jets first. **W1M**: W1 of the "
    "relative mass m/pT (×10³); **W1P**: of the particle pT_rel, η_rel, φ_rel, averaged "
    "(×10³); **W1EFP**: of the five connected EFPs with 4 vertices and 4 edges, averaged "
    "(×10⁵); 5 batches of 50,000 jets, mean ± std. Real jets: the reference half; truth vs "
    "truth: the reference half against the other half. A generator whose FPD and KPD are "
    "within the truth-vs-truth values is as good as real data by these measures.")
