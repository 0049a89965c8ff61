"""A notebook's parameters: the profiles (``chaoslib/book/profiles/<profile>/<notebook>.yml``, linked from
``notebooks/profiles``) and the values of a parameters cell, checked against the offline profile's types."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from chaoslib.errors import ChaoslibError
from chaoslib.settings import PACKAGE_DIR

PROFILES_DIR = PACKAGE_DIR / "book" / "profiles"  # notebooks/profiles links here: the profiles ship with chaoslib
_LITERALS = (bool, int, float, str, list, type(None))


def profile_file(profile: str, notebook: str) -> Path:
    """The parameters of ``notebook`` (``"02_exponents"``) in ``profile``: ``chaoslib/book/profiles/<profile>/``."""
    return PROFILES_DIR / profile / f"{notebook}.yml"


def read_profile(profile: str, notebook: str) -> dict:
    """The profile's parameters of ``notebook`` (``{}`` for a page without parameters)."""
    import yaml

    path = profile_file(profile, notebook)
    return {"profile": profile, **(yaml.safe_load(path.read_text()) or {})} if path.exists() else {"profile": profile}


def notebook_parameters(namespace: Mapping[str, Any], notebook: str) -> dict:
    """The parameters cell's values from a notebook's namespace (``globals()``), checked against the offline
    profile's: names that start lowercase and hold literals. A value given as text where the profile has a list,
    number or bool (``papermill -p comparison_seeds "[1, 2]"``) is read as YAML; a value of another type than the
    profile's is refused, naming the parameter."""
    import yaml

    defaults = read_profile("offline", notebook)
    parameters = {
        k: v for k, v in namespace.items() if k[:1].islower() and not k.startswith("_") and isinstance(v, _LITERALS)
    }
    for name, value in parameters.items():
        default = defaults.get(name)
        if default is None or value is None or isinstance(default, str):
            continue
        if isinstance(value, str):
            value = yaml.safe_load(value)
        expected = (int, float) if isinstance(default, float) else type(default)
        if isinstance(value, bool) != isinstance(default, bool) or not isinstance(value, expected):
            raise ChaoslibError(
                f"parameter {name}={parameters[name]!r}: expected a {type(default).__name__} like the profile's "
                f"{default!r} (papermill: -y '{name}: {default!r}')."
            )
        parameters[name] = value
    return parameters
