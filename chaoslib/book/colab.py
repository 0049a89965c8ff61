"""Colab support: the launch buttons open a chapter's notebook there, where the offline data folder
does not exist. A notebook's first cell clones the repository and installs chaoslib (only in Colab);
the cell after its parameters applies :func:`colab_parameters`, which in Colab switches a run that
still has the default ``offline`` profile to the ``paper`` profile (GPU, pretrained weights, online
data), and says so. Outside Colab it returns nothing and changes nothing.
"""

from __future__ import annotations

import sys

import yaml

from chaoslib.settings import REPO_ROOT

COLAB_REPO_DIR = "/content/transient-chaos-bert"


def in_colab() -> bool:
    return "google.colab" in sys.modules


def colab_parameters(notebook: str, profile: str) -> dict:
    """The paper profile's parameters for ``notebook`` when running in Colab with the default profile, else {}."""
    if not in_colab() or profile != "offline":
        return {}
    path = REPO_ROOT / "notebooks" / "profiles" / "paper" / f"{notebook}.yml"
    params = yaml.safe_load(path.read_text()) or {}
    params["profile"] = "paper"
    print(f"Colab: no offline data folder here, so this run uses the paper profile ({path.name}): {params}")
    return params
