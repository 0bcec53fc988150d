"""Average jet images of true, reconstructed and generated jets, and their ratio."""

import streamlit as st

from jetviz.figures.generation import image_panels
from ui.generation import (
    MIXED,
    available_generators,
    average_images,
    class_label,
    generator_and_truth,
    image_betas,
    models_of_class,
)
from ui.share import share_link, share_view

st.title("Average jet images")
st.markdown(
    "The average jet image shows where a class of jets puts its transverse momentum: one hot "
    "core for a gluon, two or three prongs for a W or a top. Comparing the average image of "
    "true jets with that of their VAE reconstructions and of generated jets shows, pixel by "
    "pixel, what a model gets right and what it smears out; the last panel is the ratio."
)
st.latex(
    r"\bar I(\eta_a, \phi_b) = \frac{1}{N} \sum_{j=1}^{N} \sum_{i \in j} p_{T,i}^{\rm rel}\;"
    r"\mathbf 1\big[(\eta_i, \phi_i) \in \text{pixel}(a, b)\big]"
)

specs = available_generators()
if not specs:
    st.info("No generators found. Fit one with `jetviz gen prior` (see README).")
    st.stop()

class_options = sorted({s.classes for s in specs}, key=lambda c: (len(c) > 1, c))
directories = {s.directory.name: s.directory for s in specs}
share_view("images", ["img_class", "img_model", "img_prior", "img_beta", "img_pixels",
                      "img_compare"],
           allowed={"img_class": class_options, "img_prior": ["flow", "gaussian"],
                    "img_beta": lambda v: isinstance(v, int | float) and v > 0,
                    "img_pixels": [16, 25, 33, 50, 75, 100],
                    "img_compare": ["generated", "reconstructed"]},
           codecs={"img_class": (lambda c: ",".join(c), lambda t: tuple(t.split(","))),
                   "img_model": (lambda d: d.name, directories.__getitem__)})
share_link()
c1, c2, c3 = st.columns([1, 2, 1])
with c1:
    classes = st.selectbox(
        "Class", class_options, format_func=class_label, key="img_class",
        index=next((i for i, c in enumerate(class_options) if c == ("g",)), 0),
        help=f"The jets averaged; '{MIXED}' is a model trained on every class at once.")
models = models_of_class(specs, classes)  # generator folder → its label; EMD models first
if st.session_state.get("img_model") not in models:  # a shared link's model of another class
    st.session_state.pop("img_model", None)
with c2:
    directory = st.selectbox(
        "Model", list(models), key="img_model", format_func=models.__getitem__,
        help="The VAE whose decoder reconstructs and generates (its training loss in the "
             "name).")
with c3:
    prior = st.radio("Prior for generation", ["flow", "gaussian"], key="img_prior",
                     format_func=lambda p: {"flow": "flow prior",
                                            "gaussian": "Gaussian N(0, 1)"}[p],
                     help="Where the latents of the generated jets come from.")
spec = next(s for s in specs if s.directory == directory and s.prior == prior)
gen, truth = generator_and_truth(spec)

betas = image_betas(gen)
if st.session_state.get("img_beta") not in betas:  # not on this model's grid
    st.session_state.pop("img_beta", None)
d1, d2, d3 = st.columns([2, 2, 1])
with d1:
    beta = st.select_slider(
        "β [GeV]", betas, value=spec.beta, key="img_beta",
        help="The resolution scale of the β-VAE: reconstructions are sharp below it and "
             f"blurred above. The flow prior was fitted at β = {spec.beta:g} GeV; at other β "
             "it is only approximately the aggregate posterior.")
with d2:
    n_pixels = st.select_slider(
        "Pixels per side", [16, 25, 33, 50, 75, 100], value=50, key="img_pixels",
        help="Resolution of the images in (η_rel, φ_rel) over ±R (up to 100 × 100).")
with d3:
    compare = st.radio("Ratio panel", ["generated", "reconstructed"], key="img_compare",
                       help="Which image the last panel divides by the true one.")

n_jets = min(5000, len(truth.reference))
images = average_images(spec, gen, truth, float(beta), n_jets, 0, int(n_pixels))
st.plotly_chart(
    image_panels(images, gen.radius, compare=compare,
                 title=f"Average {class_label(classes)} jet image, {n_pixels}×{n_pixels} "
                       f"pixels, β = {beta:g} GeV, {directory.name}"),
    theme=None, key="img_panels")
st.caption(
    f"{n_jets:,} true jets in the VAE's frame (30 hardest particles, centred on the pT "
    "centroid, principal axis along η, flipped so the softer, farther prong sits on +η), their "
    "reconstructions with z = μ(x) at β, and as many generated jets. Colour: pT fraction "
    "per pixel on one log scale for all three; blank pixels hold less than 10⁻⁵ of the "
    "brightest. Ratio: red where the model puts more pT than the true jets, blue less.")
