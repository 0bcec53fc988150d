"""Streamlit-side helpers shared by the pages: cached loaders and common widgets.

Only this package and ``views/`` import streamlit; the engine (``jetviz/``) never does."""
