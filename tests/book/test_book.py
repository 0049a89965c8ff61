"""The book's structure: profiles only set declared parameters, notebooks start with the Colab cell."""

from __future__ import annotations

import sys
import types

import pytest

from chaoslib.book.build import (
    NOTEBOOKS,
    PROFILES,
    SUMMARY_PAGES,
    declared_parameters,
    notebook_names,
    profile_parameters,
    toc_files,
)

CHAPTERS = [name for name in notebook_names() if name not in SUMMARY_PAGES]


def test_every_toc_page_exists():
    from chaoslib.book.build import BOOK

    for name in toc_files():
        assert (NOTEBOOKS / f"{name}.ipynb").exists() or (BOOK / f"{name}.md").exists(), name


@pytest.mark.parametrize("profile", PROFILES)
@pytest.mark.parametrize("name", notebook_names())
def test_profile_parameters_are_declared(profile, name):
    declared = declared_parameters(NOTEBOOKS / f"{name}.ipynb")
    assert {"profile"} <= declared
    undeclared = set(profile_parameters(profile, name)) - declared
    assert not undeclared, f"{profile}/{name}.yml sets {undeclared} not in the parameters cell"


@pytest.mark.parametrize("profile", PROFILES)
@pytest.mark.parametrize("name", CHAPTERS)
def test_every_profile_value_has_the_type_of_the_notebook_default(profile, name):
    """Each chapter has both profiles, and each value a profile passes has the type of the parameter's default,
    so the chapter accepts it (`Chapter.from_notebook` refuses a value of another type, naming it)."""
    from chaoslib.book.parameters import notebook_parameters, profile_file

    assert profile_file(profile, name).is_file(), f"{profile}/{name}.yml is missing"
    values = profile_parameters(profile, name)
    assert notebook_parameters(values, name) == values  # refuses, naming the parameter, where a type differs


def test_colab_parameters(monkeypatch):
    from chaoslib.book.colab import colab_parameters

    monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    assert colab_parameters(CHAPTERS[0], "offline") == {}
    monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    params = colab_parameters(CHAPTERS[0], "offline")
    assert params["profile"] == "paper" and params == {
        **profile_parameters("paper", CHAPTERS[0]),
        "profile": "paper",
    }
    assert colab_parameters(CHAPTERS[0], "paper") == {}


def _weights_requested(params: dict) -> set[str]:
    return {params["reference_weights"]} if "reference_weights" in params else set()


SHIPPED = {p.name for p in (NOTEBOOKS.parent / "chaoslib" / "checkpoints").glob("*") if p.is_dir()}


@pytest.mark.parametrize("name", CHAPTERS)
def test_profiles_say_what_they_are(name):
    """The paper edition runs the pretrained albert-large-v2 on a GPU. The offline edition runs on
    the CPU and asks for pretrained weights only of a network shipped in chaoslib/checkpoints
    ("pretrained here"), never of a hub model it cannot download."""
    paper, offline = profile_parameters("paper", name), profile_parameters("offline", name)
    assert offline.get("device") == "cpu"
    offline_model = offline.get("model_name", offline.get("checkpoint"))
    if "pretrained" in _weights_requested(offline):
        assert offline_model in SHIPPED, f"offline {name} asks for pretrained {offline_model}"
    if paper.get("model_name", paper.get("checkpoint")) in SHIPPED:
        return  # a chapter about the shipped network itself (beyond the paper)
    if "networks" in paper:  # a chapter about the shipped trained-depth series (beyond the paper)
        assert all(n in SHIPPED for n in (paper["networks"] or []) + (offline.get("networks") or []))
        return
    assert "pretrained" in _weights_requested(paper) and paper.get("device") == "cuda"


def test_a_value_of_another_type_is_refused_naming_the_parameter():
    from chaoslib.book.parameters import notebook_parameters
    from chaoslib.errors import ChaoslibError

    assert notebook_parameters({"comparison_seeds": "[1, 2]"}, "02_exponents")["comparison_seeds"] == [1, 2]
    with pytest.raises(ChaoslibError, match="parameter n_steps='many'"):
        notebook_parameters({"n_steps": "many"}, "02_exponents")
    with pytest.raises(ChaoslibError, match="parameter comparison_same_as_series=1"):
        notebook_parameters({"comparison_same_as_series": 1}, "02_exponents")
