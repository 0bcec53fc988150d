"""Colours and layout shared by every figure, so a class or a role looks the same everywhere."""

from __future__ import annotations

import plotly.express as px

# One colour per jet class, the same on every page.
CLASS_COLOURS: dict[str, str] = {
    "g": "#1f77b4",  # gluon
    "q": "#2ca02c",  # light quark
    "t": "#d62728",  # top
    "w": "#ff7f0e",  # W
    "z": "#9467bd",  # Z
}
# The three roles compared on the generation and image pages.
ROLE_COLOURS: dict[str, str] = {
    "true": "#222222",
    "reconstructed": "#1f77b4",
    "generated": "#d62728",
}
# Latent dimensions: a long qualitative palette indexed by dimension number.
LATENT_PALETTE: list[str] = px.colors.qualitative.Dark24 + px.colors.qualitative.Light24


def latent_colour(dim: int) -> str:
    """The colour of latent dimension ``dim`` (the same in every figure)."""
    return LATENT_PALETTE[dim % len(LATENT_PALETTE)]


def class_colour(name: str, index: int = 0) -> str:
    """The colour of a jet class; classes not in the default five get a palette colour."""
    return CLASS_COLOURS.get(name, px.colors.qualitative.Set2[index % 8])


FONT_SIZE = 15  # readable when projected in a lecture room
TEMPLATE = "plotly_white"


def layout(fig, title: str | None, height: int, *, title_size: int = FONT_SIZE + 4,
           margin: dict | None = None, subtitle: str = "", **extra):
    """Apply jetviz's look to ``fig``: template, projected-room font sizes, title, height.

    Works on a ``go.Figure`` and on a ``jetviz.figures.spec.Spec`` alike (both have
    ``update_layout``). Call it before any margin a builder sets for itself.

    Args:
        fig: a plotly figure or Spec (changed in place and returned).
        title: the title text, or None for no title.
        height: figure height in px.
        title_size: title font size.
        margin: plotly margins (default leaves room for a title, subtitle and axis titles).
        subtitle: a smaller second line under the title.
        extra: further ``update_layout`` arguments (legend placement, ...).
    """
    heading: dict = {"text": title, "font": {"size": title_size}}
    if subtitle:
        heading["subtitle"] = {"text": subtitle, "font": {"size": FONT_SIZE - 1}}
    top = (90 if subtitle else 80) if title else 40
    fig.update_layout(
        template=TEMPLATE,
        font={"size": FONT_SIZE},
        height=height,
        margin=margin or {"l": 70, "r": 30, "t": top, "b": 60},
        hoverlabel={"font": {"size": FONT_SIZE}},
        **({"title": heading} if title else {}),
        **extra,
    )
    return fig
