"""jetviz: start with `streamlit run app.py`. Lists the pages; every page lives in views/.

Not in pages/: that folder name switches on Streamlit's legacy multipage discovery, and a
fresh server then serves a deep link such as /beta without this file's navigation and sidebar.
"""
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
        Page("views/home.py", "Home", ":material/home:", "what jetviz is for and the data set in use"),
        Page("views/data.py", "Jets by class", ":material/bar_chart:", "observables by class, an event display, average jet images"),
    ],
    "β-VAE": [
        Page("views/beta.py", "β slider", ":material/tune:", "KL per latent dimension and the dimensionality as β changes"),
        Page("views/walk.py", "Latent walk", ":material/route:", "decode jets along a latent direction"),
        Page("views/train.py", "Train a model", ":material/model_training:", "train a β-VAE on the loaded jets"),
        Page("views/playground.py", "Dimensionality playground", ":material/science:", "train on points of known dimension and watch D1 count it"),
    ],
    "Generation": [
        Page("views/images.py", "Jet images", ":material/grid_on:", "average jet images: true, reconstructed, generated"),
        Page("views/generation.py", "Generated jets", ":material/auto_awesome:", "generated versus true observables, W1 distances"),
    ],
    "Contrastive": [
        Page("views/theory_map.py", "Theory map", ":material/map:", "a latent map of BSM theories"),
        Page("views/representations.py", "Jet representations", ":material/hub:", "JetCLR representations and the top-tagging ROC"),
    ],
    "Anomalies": [
        Page("views/anomalies.py", "Anomalies", ":material/crisis_alert:", "autoencoder vs normalized autoencoder: anomaly scores, ROC, both directions"),
    ],
    "Unfolding": [
        Page("views/unfolding.py", "Unfolding", ":material/undo:", "a conditional INN inverts the detector: per-event posteriors, unfolded distributions, calibration"),
    ],
}
# ── end of page list ────────────────────────────────────────────────────────────────────

page = navigation(PAGES)
data_set_sidebar()
page.run()
