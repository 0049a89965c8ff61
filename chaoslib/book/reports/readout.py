"""Numbers of the handwriting-readout chapter: the reference network's best window against the score-blind
level and against the random networks of its architecture.

The dataset comes from :func:`chaoslib.tasks.readout_run.compare_readouts`: window grids ``pair_nmse`` (the
authors' score) and ``pooled_nmse`` (ours) over (network, start, length), the best window of each network with
a bootstrap interval over dev pairs (``best_low``, ``best_high``), the paired difference to the first,
reference network (``diff_low``, ``diff_high``) and the score-blind levels (length); ``attrs["reference"]``
names the reference network.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from chaoslib.book.reports.phrasing import ranges_from


def numbers(ds: xr.Dataset) -> dict[str, float | int | str]:
    """Numbers for the prose: the reference network's best window and score with its interval,
    the other networks' best scores (mean and range over seeds), and how many of them are worse
    than the reference with a paired interval that excludes 0."""
    ref = ds.attrs["reference"]
    others = [n for n in ds.network.values if n != ref]
    at = lambda var, n=ref: ds[var].sel(network=n).item()  # noqa: E731
    out = {
        "hw_ref": ref,
        "hw_n_train": ds.attrs["n_train"],
        "hw_n_dev": ds.attrs["n_dev"],
        "hw_min_length": ds.attrs["min_length"],
        "hw_best_start": int(at("best_start")),
        "hw_best_length": int(at("best_length")),
        "hw_best_pair": at("best_pair_nmse"),
        "hw_best_low": at("best_low"),
        "hw_best_high": at("best_high"),
        "hw_best_pooled": at("best_pooled_nmse"),
        "hw_blind_pair": ds.blind_pair_nmse.sel(length=int(at("best_length"))).item(),
        "hw_n_windows": int(np.isfinite(ds.pair_nmse.sel(network=ref).values).sum()),
        "hw_run_seconds": float(ds.run_seconds.sum()),
        "hw_fit_seconds": float(ds.fit_seconds.sum()),
        "hw_n_others": len(others),
    }
    out["hw_blind_verdict"] = (
        "below the score-blind level: the readout carries information about the similarity beyond the "
        "average letter"
        if out["hw_best_high"] < out["hw_blind_pair"]
        else "not below the score-blind level: the readout does not beat drawing the average letter for "
        "every pair, so it has not read the similarity out of the trajectory"
    )
    if others:
        scores = ds.best_pair_nmse.sel(network=others).values
        out.update(
            hw_others_mean=float(scores.mean()),
            hw_others_min=float(scores.min()),
            hw_others_max=float(scores.max()),
            hw_others_pooled_mean=float(ds.best_pooled_nmse.sel(network=others).mean()),
            hw_n_worse=int((ds.diff_low.sel(network=others).values > 0).sum()),
            hw_n_better=int((ds.diff_high.sel(network=others).values < 0).sum()),
            hw_diff_low=float(ds.diff_low.sel(network=others).min()),
            hw_diff_high=float(ds.diff_high.sel(network=others).max()),
            hw_verdict=comparison_text(ds),
        )
        out["hw_others_text"] = others_text(scores)
    return out


def others_text(scores: np.ndarray) -> str:
    """The other networks' best errors as the end of a sentence: ``are 0.594 on average (the seeds range from
    0.590 to 0.600)``, ``are 0.594 for every seed``, or ``is 0.594`` for one network."""
    if scores.size == 1:
        return f"is {float(scores[0]):.3f}"
    spread = ranges_from(float(scores.min()), float(scores.max()), ".3f", each="seed")
    if spread.startswith("are "):
        return spread
    return f"are {float(scores.mean()):.3f} on average (the seeds {spread})"


def comparison_text(ds: xr.Dataset) -> str:
    """The reference against the other networks in words, from the paired intervals of the difference."""
    ref = ds.attrs["reference"]
    others = [n for n in ds.network.values if n != ref]
    worse = int((ds.diff_low.sel(network=others).values > 0).sum())  # the other network's NMSE is higher
    better = int((ds.diff_high.sel(network=others).values < 0).sum())
    n = len(others)
    if worse == n:
        return f"lower than that of each of the {n} other networks (every paired interval excludes 0)"
    if better == n:
        return f"higher than that of each of the {n} other networks (every paired interval excludes 0)"
    if not worse and not better:
        if n == 1:
            return "not separated from the other network: the paired interval includes 0"
        return f"not separated from the other networks: every one of the {n} paired intervals includes 0"
    return (
        f"not separated from the other networks: {worse} of {n} score worse and {better} better with "
        "a paired interval that excludes 0, the rest are within the uncertainty"
    )


def caption_extra(ds: xr.Dataset) -> str:
    """The run's data under each figure: ``STS-B 256 train / 128 dev pairs, N=64, velocity targets``."""
    return (f"STS-B {ds.attrs['n_train']} train / {ds.attrs['n_dev']} dev pairs, N={ds.attrs['n_tokens']}, "
            f"{ds.attrs['targets']} targets")
