"""β slider: how many latent directions a β-VAE uses at each resolution β (talk 000)."""

import streamlit as st

from jetviz.figures.beta import (
    beta_sweep_figure,
    dimensionality_figure,
    format_beta,
    kl_curves_figure,
)
from jetviz.figures.beta_step import beta_step_figure, kl_bar_figure
from jetviz.figures.jet_display import jet_extent, jet_row_picture
from jetviz.figures.points import banana_figure
from jetviz.vae.explore import dimensionality_note, kl_at_beta, scan_reading
from jetviz.vae.slider_emd import ALL_CLASSES
from ui.charts import COLUMN_PX, ROW_PX, fixed_chart
from ui.vae import (
    beta_slider,
    family_scales,
    model_and_class,
    reconstruction_at,
    sample_for,
    share_beta,
    share_model_and_class,
    toy_name,
    toy_scales,
)

N_PAIRS = 4  # jets shown beside their reconstructions

st.title("β slider: what a β-VAE encodes at each resolution")
st.markdown(
    "A β-VAE pays for every bit of information it stores about a jet. β, measured in GeV like "
    "the EMD, is both the price and the resolution: a latent direction switches on only when "
    "the feature it encodes changes the jet by more than about β. Drag β down and watch "
    "dimensions switch on one by one; the dimensionality curves count how many are active at "
    "each scale."
)
st.latex(
    r"L = \frac{\mathrm{EMD}(x, \hat x)^2}{2\beta^2} + \sum_i \mathrm{KL}_i, \qquad"
    r"\mathrm{KL}_i = -\tfrac12\left(1 + \log\sigma_i^2 - \mu_i^2 - \sigma_i^2\right) "
)
st.latex(
    r"D_1(\beta) = -\sum_i \frac{d\langle \mathrm{KL}_i\rangle}{d\log\beta}, \qquad "
    r"D_2(\beta) = \frac{d\langle \mathrm{EMD}^2\rangle}{d(\beta^2)}"
)

share_model_and_class("beta", {"beta_sweep_on": [True, False]})
picked = model_and_class("beta")
if picked is None:
    st.stop()
loaded, scan, class_name = picked

unit = loaded.unit
if st.toggle("▶ β sweep animation, for a lecture", key="beta_sweep_on",
             help=("Shows an animation over the whole β grid, from large β (nothing encoded) "
                   "to small β: press ▶ play inside the figure. It runs in the browser, so it "
                   "is smooth and needs no recomputation.")):
    st.plotly_chart(beta_sweep_figure(scan.betas, scan.kl, scan.d1, unit), theme=None,
                    key="beta_sweep")


@st.fragment
def at_beta() -> None:
    """Everything the β slider drives; a slider move reruns only this part of the page."""
    share_beta("beta", "beta_slider", loaded, scan)  # here: a slider move reruns only this
    beta = beta_slider(scan, unit, key="beta_slider", model=loaded.path)
    st.caption(
        f"The KL bars and the curves further down come from the β-scan stored with the model "
        f"({len(scan.betas)} values of β from {format_beta(scan.betas[0], unit)} to "
        f"{format_beta(scan.betas[-1], unit)}); the reconstructions and their distances are "
        f"computed at this β by one model that serves every β (it is conditioned on β)."
    )

    kl = kl_at_beta(scan.betas, scan.kl, beta)
    sample = sample_for(loaded, class_name)
    rec = None if sample is None else reconstruction_at(loaded, sample, beta)
    if rec is None:  # nothing to reconstruct (said why): the KL bars alone
        fixed_chart(kl_bar_figure(kl, beta, unit), COLUMN_PX, key="beta_kl_bars")
    else:  # what β changes, in one figure the browser draws in one pass
        fixed_chart(beta_step_figure(kl, rec.distance, beta, unit,
                                     "distance" if loaded.is_toy else "EMD",
                                     "points" if loaded.is_toy else "jets"),
                    ROW_PX, key="beta_step")
        st.caption(f"Left: how many nats each latent dimension stores at this β. Right: how "
                   f"far each reconstruction (at z = μ) is from its input, for "
                   f"{sample.description}; {rec.distance_source} per jet.")
        reconstructions(rec, loaded, beta, class_name)

    # the scan's curves below (outside this fragment: the same at every β), read at this β
    st.caption(scan_reading(scan, beta, unit))
    st.caption(dimensionality_note(scan, beta, unit))


def reconstructions(rec, loaded, beta: float, class_name: str) -> None:
    """The sample's first jets (or the toy's points) above their reconstructions at β."""
    unit = loaded.unit
    if loaded.is_toy:
        fixed_chart(banana_figure(rec.originals, rec.recon, beta, unit,
                                  name=toy_name(loaded).capitalize()),
                    ROW_PX, key="beta_reconstructions")
        return
    k = min(N_PAIRS, len(rec.originals))
    jets, radius = rec.originals[:k], loaded.config.radius
    extent = jet_extent(jets, radius=radius)  # the jets' extent: the same at every β
    title = f"The first {k} jets of the sample (marker area ∝ pT)"
    st.image(jet_row_picture(jets, rec.mask[:k], title, extent=extent, radius=radius,
                             width=ROW_PX), alt=title)
    title = f"Their reconstructions at β = {format_beta(beta, unit)}"
    st.image(jet_row_picture(rec.recon[:k], None, title, extent=extent, role="reconstructed",
                             radius=radius, width=ROW_PX,
                             panel_titles=[f"jet {j + 1} rebuilt: EMD {d:.3g} {unit}"
                                           for j, d in enumerate(rec.distance[:k])]),
             alt=title)
    st.caption(
        "Jets are shown in the frame the model sees: centred on their pT centroid, rotated so "
        "their principal axis lies along η and flipped so the softer, farther prong sits on "
        "+η. "
        f"{'Class filter: ' + class_name if class_name != ALL_CLASSES else ''}"
    )


at_beta()

# The stored scan over every β: no β marker, so a slider step neither re-sends nor redraws them
left, right = st.columns(2, gap="medium")
with left:
    fixed_chart(kl_curves_figure(scan.betas, scan.kl, None, unit), COLUMN_PX,
                key="beta_kl_curves")
with right:
    scales = toy_scales(loaded) if loaded.is_toy else family_scales(loaded) or None
    fixed_chart(dimensionality_figure(scan.betas, scan.d1, scan.d2, None, unit, scales,
                                      loaded.config.latent_dim, scan.diagnostics),
                COLUMN_PX, key="beta_dimensionality")
    if scales:
        st.caption("Expect D1 to step down by one at each dotted line (the data's known "
                   f"scales: {', '.join(scales)}), to 0 above the largest.")
