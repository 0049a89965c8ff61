"""Trajectories of several networks: the runner's probes on the same inputs, one network in memory at a time.

:func:`network_trajectories` loads each network once and runs every :class:`Run` of it (e.g. a short run
on the authors' input and a long run on more inputs) with :func:`chaoslib.dynamics.runner.run_trajectory`,
recording only the probes (:mod:`chaoslib.dynamics.probes`), so memory does not grow with the number of
steps. A run with an ``out_dir`` streams its chunks to disk and resumes an interrupted run.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chaoslib.data.tokenization import Encoded
from chaoslib.dynamics.probes import Probe, TokenSpread
from chaoslib.errors import ChaoslibError
from chaoslib.model.network import Network


@dataclass(frozen=True)
class Run:
    """One run of every network: its inputs (samples, tokens), its number of steps, and a folder to stream
    chunks to and resume from (``None``: in memory); each network writes under ``out_dir/<its label>``."""

    inputs: Encoded
    n_steps: int
    out_dir: str | os.PathLike | None = None


def network_trajectories(
    networks: Sequence[Network],
    runs: Mapping[str, Run],
    probes: Sequence[Probe] = (TokenSpread(),),
    load: Callable[[Network], tuple[Any, Network]] | None = None,
    attention_mask: bool = False,
    save_every: int = 10_000,
    progress: bool = False,
) -> dict[str, dict[str, Any]]:
    """Every run of every network, one network in memory at a time (its runs in the order of ``runs``).

    Args:
        networks: the networks (e.g. :func:`chaoslib.model.network.reference_and_comparisons`).
        runs: name -> :class:`Run`.
        probes: what each run records (fresh copies for each run).
        load: network -> (model, loaded network), e.g. a chapter's ``ch.load`` (which records it); default
            :meth:`Network.load` on the CPU.
        attention_mask: bind the inputs' mask (pads inactive); default pads active, as the authors.
        save_every: steps per chunk of a run written to its ``out_dir``.
        progress: the runner's progress bars.

    Returns:
        ``{run name: {network label: run_trajectory dataset}}``, networks in the order given.
    """
    from chaoslib.dynamics.runner import run_trajectory
    from chaoslib.model.network import map_of

    if not runs:
        raise ChaoslibError("runs is empty; give at least one Run (inputs, n_steps).")
    load = load or (lambda network: network.load())
    results: dict[str, dict[str, Any]] = {name: {} for name in runs}
    for network in networks:  # one network in memory at a time: every run of it
        model, loaded = load(network)
        the_map, label = map_of(model, loaded.family), loaded.label()
        device = next(model.parameters()).device
        for name, run in runs.items():
            out_dir = None if run.out_dir is None else Path(run.out_dir) / label.replace(" ", "_")
            results[name][label] = run_trajectory(
                the_map, the_map.embed(run.inputs.to(device)), run.n_steps,
                probes=[copy.deepcopy(p) for p in probes],
                attention_mask=run.inputs.attention_mask.to(device) if attention_mask else None,
                progress=progress, save_every=save_every, out_dir=out_dir,
            )
    return results
