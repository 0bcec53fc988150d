"""Home: what jetviz is for, the data set in use, and links to every page."""

import streamlit as st

from jetviz.dataset import data_set_summary
from ui.data import current_choice, jets_in_use, truncation_note
from ui.nav import listed_pages

st.title("jetviz: what do neural networks learn about jets?")
st.markdown(
    "A **jet** is the spray of particles that a quark, a gluon or a boosted W, Z or top quark "
    "leaves in a collider detector. jetviz lets you look at real simulated jets (Pythia 8, "
    "clustered with anti-k$_T$) class by class, and then at what neural networks make of "
    "them: β-VAEs whose latent dimensions switch on one physical scale at a time, generators "
    "scored against real jets, and contrastive maps of jets and of new-physics theories. "
    "Everything runs on a laptop CPU; choose the jets in the sidebar."
)

jets, key = jets_in_use()
choice = current_choice()
st.header("The data set in use")
note = truncation_note(jets)
if note:
    st.info(note)
summary = data_set_summary(jets)
left, right = st.columns([2, 3], gap="large")
with left:
    st.metric("jets", f"{len(jets):,}")
    st.markdown(
        f"**Source:** {choice.label}  \n"
        f"**File:** `{choice.path}`  \n"
        f"**Particles per jet (P):** {jets.n_particles} hardest, zero-padded  \n"
        f"**Jet radius R:** {jets.radius:g}"
    )
with right:
    st.markdown("**Classes**")
    st.table(summary.classes, hide_index=True)
if summary.provenance:
    st.markdown("**Provenance** (recorded in the file)")
    st.table(summary.provenance, hide_index=True)
if summary.details:
    with st.expander("Generator settings and statistics recorded in the file"):
        st.json(summary.details, expanded=2)
if summary.command:
    st.markdown("**Made with**")
    st.code(summary.command, language="bash", wrap_lines=True)

st.header("Pages")
for section, entries in listed_pages().items():
    st.subheader(section)
    for entry in entries:
        st.page_link(entry.path, label=f"{entry.title}: {entry.blurb}", icon=entry.icon,
                     help=entry.blurb)
