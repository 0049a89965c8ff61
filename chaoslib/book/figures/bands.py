"""The one way figures shade a spread: a band between a low and a high curve, no edge line."""

from __future__ import annotations


def shade(ax, x, low, high, color, alpha: float = 0.2, label: str | None = None) -> None:
    """Fill between ``low`` and ``high`` over ``x`` (each (n,), arrays or DataArrays) on ``ax``.

    Used for ranges over networks or input draws and for bootstrap intervals; the label says which.
    """
    ax.fill_between(x, low, high, color=color, alpha=alpha, lw=0, label=label)
