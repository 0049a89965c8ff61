"""One object per chapter: where its results go, its provenance, its figures, glued numbers and targets.

A chapter notebook is its parameters cell (literal assignments), a handful of calls and prose::

    ch = Chapter.from_notebook("02_exponents", globals())   # the parameters cell's values, checked
    p = ch.p                                       # p.n_steps, p.comparison_seeds, ...
    result = ch.compare(ch.networks(), Exponents(eps=p.eps, tau=p.tau, n_steps=p.n_steps), ch.inputs())
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
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import matplotlib.pyplot as plt

from chaoslib import provenance
from chaoslib.book import plotting
from chaoslib.errors import ChaoslibError
from chaoslib.book.parameters import notebook_parameters
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
        device: ``"auto"``, ``"cpu"`` or ``"cuda"``; TF32 is switched off (float32 means float32 on every GPU).
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

    @classmethod
    def from_notebook(cls, notebook: str, namespace: Mapping[str, Any], seed_parameter: str = "seed") -> Chapter:
        """The chapter of a notebook (``"02_exponents"``), built from its parameters cell's values (``globals()``).

        In Colab, a run with the default ``offline`` profile switches to the ``paper`` profile (no offline data
        there) and says so. ``ch.p`` holds the parameters as attributes; ``seed_parameter`` names the one that
        seeds the chapter's inputs (recorded in every caption)."""
        from chaoslib.book.colab import colab_parameters

        parameters = notebook_parameters(namespace, notebook)
        parameters.update(colab_parameters(notebook, parameters.get("profile", "offline")))
        name = notebook.split("_", 1)[1] if notebook[:2].isdigit() else notebook
        return cls(name, parameters.get("profile", "offline"), parameters.get("results_dir"),
                   parameters.get("device", "auto"), parameters.get(seed_parameter), parameters)

    @property
    def p(self) -> SimpleNamespace:
        """The run's parameters as attributes (``ch.p.n_steps``)."""
        return SimpleNamespace(**self.parameters)

    # networks and inputs ----------------------------------------------------------------------
    def networks(self) -> list:
        """The network under test, then the random networks it is compared with, from the parameters
        ``model_name``, ``reference_weights``, ``reference_init``, ``reference_seed``, ``comparison_init``,
        ``comparison_seeds``, ``weights_dir`` (:func:`chaoslib.model.network.reference_and_comparisons`)."""
        from chaoslib.model.network import reference_and_comparisons

        p = self.parameters
        return reference_and_comparisons(
            p["model_name"], p.get("reference_weights", "pretrained"), p.get("reference_init", "tf"),
            p.get("reference_seed", 0), p.get("comparison_init", "tf"), p.get("comparison_seeds", []),
            p.get("weights_dir"),
        )

    @property
    def load_options(self) -> dict:
        """Where and how the chapter's networks load: its device, the ``dtype`` and ``data_dir`` parameters."""
        return dict(device=self.device, dtype=self.parameters.get("dtype", "float32"),
                    data_dir=self.parameters.get("data_dir"))

    def load(self, network, head: str = "base", **options):
        """Load a :class:`~chaoslib.model.network.Network` on the chapter's device; it is recorded.
        Returns ``(model, the loaded Network)``."""
        model, loaded = network.load(head=head, **{**self.load_options, **options})
        self.add_models(loaded)
        return model, loaded

    def inputs(self, n_samples: int | None = None, n_tokens: int | None = None, kind: str | None = None,
               seed: int | None = None):
        """The dynamics inputs (:func:`chaoslib.data.corpus.dynamics_inputs`), by default of the parameters
        ``n_samples``, ``n_tokens``, ``input_kind``, ``seed``, ``corpus``, ``data_dir``: Encoded (samples, tokens)."""
        from chaoslib.data.corpus import dynamics_inputs
        from chaoslib.data.tokenization import load_tokenizer

        p = self.parameters
        encoded, _ = dynamics_inputs(
            load_tokenizer(data_dir=p.get("data_dir")), p["n_samples"] if n_samples is None else n_samples,
            p["n_tokens"] if n_tokens is None else n_tokens, seed=p["seed"] if seed is None else seed,
            kind=p.get("input_kind", "pair") if kind is None else kind, source=p.get("corpus", "wikitext-2"),
            data_dir=p.get("data_dir"),
        )
        return encoded

    def compare(self, networks, analysis, inputs, **options):
        """:func:`chaoslib.studies.compare.compare_networks` with the chapter's device, dtype, data folder,
        masking and executor; the loaded networks are recorded for the provenance."""
        from chaoslib.studies.compare import compare_networks, loaded_networks

        p = self.parameters
        settings = {**self.load_options, "attention_mask": p.get("attention_mask", False),
                    "executor": p.get("executor", "local"), "ray_address": p.get("ray_address"), **options}
        ds = compare_networks(networks, analysis, inputs, **settings)
        self.add_models(loaded_networks(ds))
        return ds

    def add_models(self, networks) -> None:
        """Record networks (a ``Network`` or a sequence of them) for the provenance and captions."""
        for network in [networks] if hasattr(networks, "as_dict") else list(networks):
            if network not in self.models:
                self.models.append(network)

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

    def target(self, target_id: str, claim: str, measured: str, holds: bool | None, note: str = "",
               **fields) -> None:
        """Report a reproduction target for the results page; ``holds=None``: not testable here (``reason``
        in ``fields`` says why); ``fields``: ``unit``, ``interval``, ``controls``, ``reason``."""
        provenance.report_target(self.results_dir, target_id, claim, measured, holds, note, chapter=self.name,
                                 **fields)

    def verdict(self, record: dict, glue: str | None = None) -> None:
        """Report a target's record (:func:`chaoslib.book.reports.verdicts.target_record`) for the results page
        and, with ``glue``, glue its verdict (``holds``, ...) for the prose."""
        from chaoslib.book.reports.verdicts import verdict

        self.target(**record)
        if glue:
            self.glue(glue, verdict(record))

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
