"""Figure helpers: one house style, and a provenance line stamped under every figure."""

from __future__ import annotations

import textwrap

import matplotlib.pyplot as plt


def setup_style() -> None:
    import seaborn as sns

    sns.set_theme(context="notebook", style="whitegrid", palette="colorblind")
    plt.rcParams.update({"figure.dpi": 110, "savefig.bbox": "tight", "figure.figsize": (7.5, 4.2)})


def stamp(fig: plt.Figure, caption: str, width: int = 130) -> plt.Figure:
    """Write the provenance ``caption`` (see ``chaoslib.provenance.caption``) below the axes of ``fig``."""
    text = "\n".join(textwrap.wrap(caption, width))
    fig.text(0.01, -0.04, text, ha="left", va="top", fontsize=6.5, color="0.35", family="monospace")
    return fig
