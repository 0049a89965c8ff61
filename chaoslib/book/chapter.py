"""One object per chapter: where its results go, its provenance, its figures, glued numbers and targets.

A chapter notebook is its parameters cell, a handful of calls and prose::

    ch = Chapter("trajectories", profile=profile, results_dir=results_dir, device=device)
    model, info = ch.load(model_name, weights=weights, init=init, seed=init_seed, ...)
    result = ...                                   # one call into chaoslib
    ch.save(result, "short_run")                   # labelled netCDF with the chapter's provenance
    ch.figure("traj_units", figures.unit_trajectories(result))   # stamped, glued for {glue:figure}
    ch.glue("traj_sigma0", 0.123)                  # for {glue:text}`traj_sigma0:.3g` in the prose
    ch.target("R3", claim=..., measured=..., holds=...)
    ch.finish()                                    # writes provenance.json (and the glued numbers)

Figures are drawn by functions of a labelled result (``chaoslib.book.figures``), so they can be
redrawn from a saved file without the notebook. ``figure`` stamps the provenance line under the
figure and glues it, so the Markdown places it with a numbered caption::

    ```{glue:figure} traj_units
    :name: fig-traj-units

    Hidden units of the first tokens ...
    ```
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt

from chaoslib import provenance
from chaoslib.book import plotting
from chaoslib.errors import ChaoslibError
from chaoslib.settings import disable_tf32, resolve_device, results_root
from chaoslib.store import save_dataset, write_json


def default_results_dir(profile: str) -> Path:
    """The book's results of ``profile``: ``<results root>/<profile>``, where the root is
    ``$CHAOSLIB_RESULTS``, else ``<repo>/results`` in a checkout, else ``./results`` (an installed chaoslib
    never writes into site-packages). Only the book build writes here (it passes this folder as
    ``results_dir``); the summary pages read it."""
    return results_root() / profile


def exploration_dir(profile: str, name: str, parameters: dict) -> Path:
    """Where a chapter run outside the book build writes: ``<results root>/explore/<profile>/<name>-<key>``,
    the key a digest of the run's parameters, so that reruns with other settings never touch the book's
    results and the same settings find the same folder."""
    import hashlib
    import json

    key = hashlib.sha256(json.dumps(parameters, sort_keys=True, default=str).encode()).hexdigest()[:10]
    return results_root() / "explore" / profile / f"{name}-{key}"


class Chapter:
    """Bookkeeping of one chapter run.

    Args:
        name: the chapter's results folder name (e.g. ``"trajectories"``).
        profile: ``"offline"`` or ``"paper"``.
        results_dir: the results folder; the book build passes the profile's (:func:`default_results_dir`).
            None (a notebook run by hand, papermill, Colab): a folder of this run's own,
            :func:`exploration_dir`, which the run announces; the book's results stay as they are.
        device: ``"auto"``, ``"cpu"`` or ``"cuda"``; TF32 is switched off (SPEC 1).
        seed: the chapter's input-sampling seed (recorded in every caption).
        parameters: the notebook's parameters, recorded in the provenance.
    """

    def __init__(
        self,
        name: str,
        profile: str,
        results_dir: str | os.PathLike | None = None,
        device: str = "auto",
        seed: int | None = None,
        parameters: dict | None = None,
    ):
        disable_tf32()
        plotting.setup_style()
        self.name, self.profile, self.seed = name, profile, seed
        self.device = resolve_device(device)
        self.parameters = dict(parameters or {})
        if results_dir:
            self.results_dir = Path(results_dir)
        else:
            self.results_dir = exploration_dir(profile, name, self.parameters)
            print(f"This run writes its results to {self.results_dir} (an exploration folder of its own); the "
                  f"book's results/{profile}/ is written only by `make book`.")
            write_json(self.results_dir / "parameters.json", {"chapter": name, **self.parameters})
        self.out = provenance.chapter_dir(self.results_dir, name)
        self.models: list = []
        self.numbers: dict[str, Any] = {}
        self._glued: dict[str, str] = {}

    # networks -------------------------------------------------------------------------------
    def load(self, model_name: str, **kwargs):
        """``chaoslib.model.loading.load_albert`` on the chapter's device; the network is recorded."""
        from chaoslib.model.loading import load_albert

        model, info = load_albert(model_name, device=kwargs.pop("device", self.device), **kwargs)
        self.add_models(info)
        return model, info

    def add_models(self, infos) -> None:
        """Record networks (``ModelInfo`` or a sequence of them) for the provenance and captions."""
        for info in [infos] if hasattr(infos, "as_dict") else list(infos):
            if info not in self.models:
                self.models.append(info)

    # provenance -----------------------------------------------------------------------------
    def provenance(self, models: Sequence | None = None) -> dict:
        return provenance.collect(
            self.profile, self.device, self.models if models is None else models, self.seed, self.parameters
        )

    def caption(self, models: Sequence | None = None, extra: str = "") -> str:
        """The provenance line of a figure (networks, data seed, profile, device, versions, commit)."""
        return provenance.caption(self.models if models is None else models, self.profile, self.device, self.seed, extra)

    # results --------------------------------------------------------------------------------
    def path(self, name: str) -> Path:
        return self.out / name

    def save(self, ds, name: str, models: Sequence | None = None):
        """Save an ``xarray.Dataset`` as ``<results>/<chapter>/<name>.nc`` with the provenance in its attrs."""
        ds.attrs["provenance"] = self.provenance(models)
        save_dataset(ds, self.out / f"{name}.nc")
        return ds

    def figure(self, name: str, fig: plt.Figure, models: Sequence | None = None, extra: str = "") -> None:
        """Stamp the provenance under ``fig``, save it as PNG beside the results, and glue it as ``name``.

        Returns nothing, so a cell that ends with this call does not show the figure a second time
        (uncaptioned) besides its ``{glue:figure}``."""
        self._claim(name, "figure")
        plotting.stamp(fig, self.caption(models, extra))
        fig.savefig(self.out / f"{name}.png", dpi=110, bbox_inches="tight")
        _glue(name, fig)
        plt.close(fig)

    def glue(self, name: str, value: Any) -> None:
        """Glue a number or text for ``{glue:text}`` in the prose, and keep it for the results page.

        Returns nothing, so a cell ending with this call shows no repr of the value on the page."""
        self._claim(name, "value")
        self.numbers[name] = value.item() if hasattr(value, "item") else value
        _glue(name, value)

    def _claim(self, name: str, kind: str) -> None:
        """One glue key, one thing: a second glue under the same key would make the rendered page show one of
        the two at random (myst-nb only warns)."""
        if name in self._glued:
            raise ChaoslibError(
                f"glue key {name!r} is already used for a {self._glued[name]}; give this {kind} another name."
            )
        self._glued[name] = kind

    def glue_many(self, **values: Any) -> None:
        for name, value in values.items():
            self.glue(name, value)

    def target(self, target_id: str, claim: str, measured: str, holds: bool | None, note: str = "") -> None:
        """Report a reproduction target (SPEC 3) for the results page; ``holds=None``: not checkable here."""
        provenance.report_target(self.results_dir, target_id, claim, measured, holds, note, chapter=self.name)

    def finish(self) -> None:
        """Write ``provenance.json`` (with every glued number) for the results and reproducibility pages.

        Returns nothing: a chapter's last cell shows no path of the machine that built it."""
        provenance.save_chapter_provenance(self.name, self.provenance(), self.results_dir)
        write_json(self.out / "numbers.json", self.numbers)


def _glue(name: str, value: Any) -> None:
    try:
        from myst_nb import glue
    except ImportError:  # outside the book (a plain script): nothing to glue into
        return
    glue(name, value, display=False)
