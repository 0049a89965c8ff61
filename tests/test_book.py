"""The book's structure: profiles only set declared parameters, notebooks start with the Colab cell."""

from __future__ import annotations

import json
import subprocess
import sys
import types

import pytest

from chaoslib.book.build import (
    NOTEBOOKS,
    PROFILES,
    declared_parameters,
    notebook_names,
    profile_parameters,
    toc_files,
)

CHAPTERS = [name for name in notebook_names() if name not in ("results", "reproducibility")]


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


def test_every_chapter_has_both_profiles():
    for name in CHAPTERS:
        for profile in PROFILES:
            assert (NOTEBOOKS / "profiles" / profile / f"{name}.yml").exists(), (profile, name)


def _colab_cell(name: str) -> str:
    cells = json.loads((NOTEBOOKS / f"{name}.ipynb").read_text())["cells"]
    return "".join(next(c for c in cells if c["cell_type"] == "code")["source"])


def test_colab_cell_is_first_and_identical():
    sources = {_colab_cell(name) for name in CHAPTERS}
    assert len(sources) == 1, "every chapter starts with the same Colab install cell"
    assert "google.colab" in sources.pop()


def test_colab_cell_is_a_no_op_outside_colab(monkeypatch):
    calls = []
    monkeypatch.setattr(subprocess, "run", lambda *a, **k: calls.append(a))
    source = _colab_cell(CHAPTERS[0])
    monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    exec(compile(source, "colab-cell", "exec"), {})
    assert calls == []
    # and inside Colab it installs chaoslib with pip
    monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    exec(compile(source, "colab-cell", "exec"), {})
    pip = [c for c in calls if "pip" in c[0]]
    assert len(pip) == 1 and "install" in pip[0][0]


def test_every_chapter_applies_colab_parameters():
    """The cell after `parameters` switches a Colab run to the paper profile (no offline data there)."""
    for name in CHAPTERS + ["results", "reproducibility"]:
        cells = json.loads((NOTEBOOKS / f"{name}.ipynb").read_text())["cells"]
        index = next(i for i, c in enumerate(cells) if "parameters" in c.get("metadata", {}).get("tags", []))
        follow = "".join(cells[index + 1]["source"])
        assert f'colab_parameters("{name}", profile)' in follow, name


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
    wanted = {params[k] for k in ("weights", "reference_weights") if k in params}
    return wanted | set(params.get("weights_list", []))


@pytest.mark.parametrize("name", CHAPTERS)
def test_profiles_say_what_they_are(name):
    """The paper edition runs the pretrained network on a GPU; the offline edition never asks for
    pretrained weights (it has none) and runs on the CPU."""
    paper, offline = profile_parameters("paper", name), profile_parameters("offline", name)
    assert "pretrained" in _weights_requested(paper) and paper.get("device") == "cuda"
    assert "pretrained" not in _weights_requested(offline) and offline.get("device") == "cpu"
