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
    assert "pretrained" in _weights_requested(paper) and paper.get("device") == "cuda"


# --- the repository URL: _config.yml is the one place -------------------------------------------


def test_every_colab_cell_clones_the_configured_repository():
    """The Colab cell runs before the repository exists, so the URL is written into it; it must be
    _config.yml's repository.url (fix: `make set-repo-url`, which rewrites the cells from it)."""
    from chaoslib.book.colab import colab_cell_url, repository_url

    url = repository_url()
    assert url.startswith("https://")
    urls = {name: colab_cell_url(NOTEBOOKS / f"{name}.ipynb") for name in notebook_names()}
    assert all(urls[name] is not None for name in CHAPTERS), "every chapter has a Colab cell"
    wrong = {name: u for name, u in urls.items() if u is not None and u != url}
    assert not wrong, f"Colab cells clone {wrong}, _config.yml says {url}: run `make set-repo-url`"


def test_set_repo_url_rewrites_config_and_cells_only(tmp_path):
    from chaoslib.book.colab import REPO_ROOT, colab_cell_url, repository_url, set_repo_url

    config, notebooks = tmp_path / "_config.yml", tmp_path / "notebooks"
    notebooks.mkdir()
    config.write_text((REPO_ROOT / "_config.yml").read_text())
    names = [n for n in notebook_names() if colab_cell_url(NOTEBOOKS / f"{n}.ipynb")]
    for name in names:
        (notebooks / f"{name}.ipynb").write_text((NOTEBOOKS / f"{name}.ipynb").read_text())
    new = "https://github.com/someone-else/a-fork"
    changed = set_repo_url(new, config=config, notebooks=notebooks)
    assert repository_url(config) == new
    assert set(changed) == {config} | {notebooks / f"{n}.ipynb" for n in names}
    before = (REPO_ROOT / "_config.yml").read_text().splitlines()
    after = config.read_text().splitlines()
    assert [(a, b) for a, b in zip(before, after, strict=True) if a != b] == [
        (a, a.replace(repository_url(), new)) for a in before if repository_url() in a and "url:" in a
    ]
    for name in names:
        assert colab_cell_url(notebooks / f"{name}.ipynb") == new
        old_cells = json.loads((NOTEBOOKS / f"{name}.ipynb").read_text())["cells"]
        new_cells = json.loads((notebooks / f"{name}.ipynb").read_text())["cells"]
        differ = [i for i, (a, b) in enumerate(zip(old_cells, new_cells, strict=True)) if a != b]
        assert len(differ) == 1 and "google.colab" in "".join(new_cells[differ[0]]["source"])
    assert set_repo_url(config=config, notebooks=notebooks) == []  # in step: nothing to do
