"""The playground's k-parameter jet family (jetviz.simulation.jet_families): its widgets, the
cached draw, the jets at the ends of each parameter's range, and the ready-trained examples."""

from __future__ import annotations

import numpy as np
import streamlit as st

from jetviz.errors import JetvizInputError
from jetviz.jets import JetSet
from jetviz.simulation.jet_families import (
    DEFAULT_SCALES,
    FAMILY_PT,
    FAMILY_RADIUS,
    MAX_SPREAD,
    PARAMETERS,
)
from ui.playground import PLAYGROUND_SEED, PlaygroundData

WHAT = {  # what each parameter moves, for the help texts
    "separation": "how far apart the jet's two prongs are",
    "sharing": "how the jet's pT is shared between the two prongs",
    "split": "how far the soft prong is split in two",
}
# ready-trained point and family models of known scales, listed when the registry finds them
EXAMPLES = ("vae_banana", "vae_strip", "vae_ribbon", "vae_family")


@st.cache_data(max_entries=8, show_spinner="Drawing the jet family …")
def _family(n: int, scales: tuple[tuple[str, float], ...]) -> tuple[JetSet, float]:
    """(n seeded jets of the family, the largest exact EMD among 300 of them in GeV)."""
    from jetviz.simulation.jet_families import family_jets
    from jetviz.vae.flat import emd_extent

    jets = family_jets(n, dict(scales), np.random.default_rng(PLAYGROUND_SEED))
    return jets, emd_extent(jets, np.random.default_rng(PLAYGROUND_SEED))


def family_data() -> PlaygroundData | None:
    """The family's widgets (k, one scale per parameter, the number of jets) and its data;
    None after a message when the scales are refused."""
    from jetviz.vae.flat import BETA_RANGE

    st.markdown(
        "Each jet is a 1 TeV jet of two prongs: the parameters move the prongs apart, share "
        "the pT between them and split the soft prong in two. A parameter's **scale** is how "
        "far its whole range moves a jet, in EMD; so D1 should count k below every scale, "
        "one fewer past each, and 0 above them all.")
    k = st.radio("Parameters (k)", [1, 2, 3], index=2, horizontal=True,
                 key="playground_family_k",
                 help="The family uses the first k of: prong separation, pT sharing, split of "
                      "the soft prong (2-particle jets for k ≤ 2, 3 for k = 3).")
    scales = {}
    for name in PARAMETERS[:k]:
        scales[name] = st.number_input(
            f"{name} scale [GeV]", min_value=0.01, max_value=MAX_SPREAD,
            value=DEFAULT_SCALES[name], format="%.4g", key=f"playground_family_{name}",
            help=f"The {name} parameter sets {WHAT[name]}. Its scale is the EMD between the "
                 "jets at the two ends of its range (the other parameters at their centres): "
                 "D1 should drop by one as β crosses it. Keep the scales ≥ 30× apart to see "
                 "a plateau between them.")
    n = st.number_input("Jets", 1000, 50_000, 10_000, step=1000, key="playground_family_n",
                        help="Jets drawn from the family (seeded); 10 % are held out.")
    try:
        jets, extent = _family(int(n), tuple(scales.items()))
    except JetvizInputError as err:
        st.error(str(err))
        return None
    command = ("jetviz generate family --scales "
               + " ".join(f"{k_}={v:g}" for k_, v in scales.items())
               + f" --jets {int(n)} --seed {PLAYGROUND_SEED}")  # the jets trained on here
    return PlaygroundData(None, scales, (extent * BETA_RANGE[0], extent * BETA_RANGE[1]),
                          {"data_source": "jet family " + " / ".join(
                               f"{k_} {v:g}" for k_, v in scales.items()) + " GeV",
                           "scales": scales,
                           "n_jets": int(n), "family_command": command},
                          jets=jets)


def ends_figure(data: PlaygroundData):
    """A row of event displays: the jets at the two ends of each parameter's range."""
    from jetviz.figures.beta import format_beta
    from jetviz.figures.jet_display import jet_extent, jet_row_figure
    from jetviz.simulation.jet_families import end_jets

    ranges = {name: tuple(r) for name, r in data.jets.attrs["parameter_ranges"].items()}
    ends = end_jets(ranges, len(data.scales))  # (k, 2, P, 3)
    jets = ends.reshape(-1, *ends.shape[2:])
    titles = [t for name, v in data.scales.items()
              for t in (name, f"+{format_beta(v, 'GeV')}")]
    return jet_row_figure(jets, None, "Each pair: a parameter's low and high end",
                          extent=jet_extent(jets, radius=FAMILY_RADIUS), radius=FAMILY_RADIUS,
                          panel_titles=titles, frame="relative")


def family_caption(data: PlaygroundData) -> str:
    """What the family's jets are, for the caption above the chart."""
    from jetviz.vae.flat import latent_dim_of_jets

    return (f"{len(data.jets):,} jets of {data.jets.n_particles} particles (pT "
            f"{FAMILY_PT:g} GeV, R = {FAMILY_RADIUS:g}); the model: jetviz train's network "
            f"for jets of ≤ 4 particles (whitened, exact EMD, "
            f"{latent_dim_of_jets(data.jets.n_particles)} latent dimensions = 3P − 4).")


def ready_examples() -> list[str]:
    """The shipped models of known scales present under the checkpoint root, by name."""
    from jetviz.vae.saving import list_models

    present = {m.path.name for m in list_models() if m.shipped}
    return [name for name in EXAMPLES if name in present]
