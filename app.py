"""jetviz: start with `streamlit run app.py`. Lists the pages; every page lives in pages/."""
# ruff: noqa: E501
# (the page list below keeps one page per line, however long)

import streamlit as st

from ui.data import data_set_sidebar
from ui.nav import PageEntry as Page
from ui.nav import navigation

st.set_page_config(page_title="jetviz", layout="wide")

# ── Page list ───────────────────────────────────────────────────────────────────────────
# One line per page: Page(file, title, icon, one-line description), grouped by section.
# A file that does not exist yet is skipped, so add your line as soon as you start a page.
PAGES = {
    "Data": [
        Page("pages/home.py", "Home", ":material/home:", "what jetviz is for and the data set in use"),
        Page("pages/data.py", "Jets by class", ":material/bar_chart:", "observables by class, an event display, average jet images"),
    ],
    "β-VAE": [
        Page("pages/beta.py", "β slider", ":material/tune:", "KL per latent dimension and the dimensionality as β changes"),
        Page("pages/walk.py", "Latent walk", ":material/route:", "decode jets along a latent direction"),
        Page("pages/train.py", "Train a model", ":material/model_training:", "train a β-VAE on the loaded jets"),
    ],
    "Generation": [
        Page("pages/images.py", "Jet images", ":material/grid_on:", "average jet images: true, reconstructed, generated"),
        Page("pages/generation.py", "Generated jets", ":material/auto_awesome:", "generated versus true observables, W1 distances"),
    ],
    "Contrastive": [
        Page("pages/theory_map.py", "Theory map", ":material/map:", "a latent map of BSM theories"),
        Page("pages/representations.py", "Jet representations", ":material/hub:", "JetCLR representations and the top-tagging ROC"),
    ],
    "Unfolding": [
        Page("pages/unfolding.py", "Unfolding", ":material/undo:", "a conditional INN inverts the detector: per-event posteriors, unfolded distributions, calibration"),
    ],
}
# ── end of page list ────────────────────────────────────────────────────────────────────

page = navigation(PAGES)
data_set_sidebar()
page.run()
