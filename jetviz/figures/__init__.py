"""Plotly figure builders. They take arrays already computed and return go.Figure; they never
import streamlit. One module per page topic; shared colours live in ``style``."""
