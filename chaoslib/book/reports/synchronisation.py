"""Numbers and verdicts of the synchronisation chapter (sync offsets; R5: sync at the end of the transient;
R10: the reduced map).

The dataset comes from :func:`chaoslib.studies.compare.compare_networks` with
:class:`chaoslib.studies.analyses.Synchronisation` (``token_spread`` (network, sample, step),
``chaos_length`` / ``chaos_censored`` (network, sample)), labelled with
:func:`chaoslib.book.reports.exponents.with_roles` (one ``reference`` network, the network under test, and
``comparison`` random networks) and completed by :func:`with_offsets` (cheap thresholding, so the saved file
holds every plotted value). The reduced-map check (:func:`reduced_check`) is a dataset of its own.
Uncertainty: bootstrap intervals over inputs for the reference (``chaoslib.stats``), the spread over seeds for
the random networks.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import xarray as xr

from chaoslib.book.reports.exponents import split_roles
from chaoslib.book.reports.verdicts import target_record
from chaoslib.dynamics.sync import offsets_by_threshold, sync_offset
from chaoslib.stats import bootstrap_interval

__all__ = [
    "with_offsets",
    "theta_text",
    "reduced_check",
    "reduced_dataset",
    "reduced_numbers",
    "sync_numbers",
    "target_r5",
    "target_r10",
]


def with_offsets(ds: xr.Dataset, threshold: float, relative: bool, thresholds) -> xr.Dataset:
    """Add ``t_sync``, ``sync_censored``, ``theta`` (network, sample) for ``threshold`` and
    ``sweep_offset`` / ``sweep_censored`` (network, threshold, sample) for ``thresholds``
    (``chaoslib.dynamics.sync.sync_offset`` per network)."""
    per = [sync_offset(ds.token_spread.sel(network=n), threshold, relative) for n in ds.network.values]
    sweeps = [
        offsets_by_threshold(ds.token_spread.sel(network=n), thresholds, relative) for n in ds.network.values
    ]
    return (
        ds.assign(
            t_sync=(("network", "sample"), np.stack([p.offset for p in per])),
            sync_censored=(("network", "sample"), np.stack([p.censored for p in per])),
            theta=(("network", "sample"), np.stack([p.theta for p in per])),
            sweep_offset=(("network", "threshold", "sample"), np.stack([s.offset.values for s in sweeps])),
            sweep_censored=(
                ("network", "threshold", "sample"),
                np.stack([s.censored.values for s in sweeps]),
            ),
        )
        .assign_coords(threshold=np.asarray(thresholds, dtype=float))
        .assign_attrs(sync_threshold=float(threshold), relative_threshold=int(relative))
    )


def theta_text(threshold: float, relative: bool) -> str:
    """The threshold in words for the prose: ``theta = 1e-05 x sigma(0)`` (relative) or ``theta = 1e-05``."""
    return f"theta = {threshold:g}" + (" x sigma(0)" if relative else "")


def reduced_check(
    network: Any,
    inputs: Any,
    n_samples: int,
    n_steps: int,
    reduced_steps: int,
    device: Any = "cpu",
    dtype: Any = "float32",
    data_dir: str | os.PathLike | None = None,
) -> xr.Dataset:
    """The reduced map against the full layer of ``network`` (a :class:`~chaoslib.model.network.Network`),
    pads active: the first ``n_samples`` inputs are iterated ``n_steps`` steps in ``dtype``; their token means
    are lifted to exactly synchronised states and iterated ``reduced_steps`` steps by both maps side by side,
    in ``dtype`` (``"float32"`` in the dataset) and in float64 (``"float64"``); and one full step from the
    run's own end states x(T) is compared with the reduced map (:func:`reduced_dataset`)."""
    from chaoslib.dynamics.reduced_map import reduced_vs_full, reduction_error, token_mean
    from chaoslib.dynamics.sync import token_spread
    from chaoslib.studies.compare import network_map

    _, full_map, x0, _ = network_map(network, inputs, device=device, dtype=dtype, data_dir=data_dir)
    x_end = full_map.iterate(x0[:n_samples], n_steps)
    y0 = token_mean(x_end)
    full_map64 = network_map(network, inputs, device=device, dtype="float64", data_dir=data_dir)[1]
    n_tokens = x_end.shape[1]
    return reduced_dataset(
        {
            "float32": reduced_vs_full(full_map, y0, n_tokens, n_steps=reduced_steps),
            "float64": reduced_vs_full(full_map64, y0.double(), n_tokens, n_steps=reduced_steps),
        },
        reduction_error(full_map, x_end),
        token_spread(x_end),
    )


def reduced_dataset(comparisons: dict, natural_error, end_spread) -> xr.Dataset:
    """``reduced_vs_full`` results by dtype name -> Dataset: ``relative_error`` and ``full_spread``
    (dtype, sample, step), ``one_step_error`` (dtype, sample); ``natural_error`` (sample): one step from
    the run's own (nearly) synchronised end states x(T), whose spread sigma(T) is ``end_spread`` (sample)."""
    names = list(comparisons)

    def array(t):
        return np.asarray(t.double().cpu().numpy() if hasattr(t, "cpu") else t, dtype=float)

    by_dtype = xr.concat([comparisons[n].to_dataset().drop_vars("step") for n in names], dim="dtype")
    return by_dtype.assign(natural_error=("sample", array(natural_error)), end_spread=("sample", array(end_spread))
                           ).assign_coords(dtype=names)


def reduced_numbers(ds: xr.Dataset) -> dict:
    """Prose numbers of the reduced-map check (keys prefixed ``red_``)."""
    e = ds.one_step_error
    spread32 = float(ds.full_spread.sel(dtype="float32").max())
    return {
        "red_one_step32": float(e.sel(dtype="float32").max()),
        "red_one_step64": float(e.sel(dtype="float64").max())
        if "float64" in ds.dtype.values
        else float("nan"),
        "red_natural": float(ds.natural_error.max()),
        "red_end_spread": float(ds.end_spread.max()),
        "red_spread32": f"{spread32:.1g}" if spread32 > 0 else "exactly 0",
        "red_last32": float(np.median(ds.relative_error.sel(dtype="float32").values[:, -1])),
        "red_steps": int(ds.sizes["step"] - 1),
        "red_samples": int(ds.sizes["sample"]),
    }


def sync_numbers(ds: xr.Dataset, seed: int = 0) -> dict:
    """Numbers of the prose and of R5 (keys prefixed ``sync_``): median t_sync of the reference with a
    bootstrap interval over inputs; of the random networks (pooled) with its interval and the range of
    the seeds' medians; censored counts; per network group, the fraction of inputs with
    |t_sync - l| <= tau among those with both times uncensored (bootstrap interval over inputs)."""
    ref, others = split_roles(ds)
    tau = ds.attrs["tau"]
    out: dict = {
        "ref_label": ref,
        "n_random": len(others),
        "n_samples": ds.sizes["sample"],
        "tau": tau,
        "T": ds.attrs["n_steps"],
    }
    for key, names in (("ref", [ref]), ("rand", others)):
        if not names:
            continue
        t = ds.t_sync.sel(network=names).values
        both = ~ds.sync_censored.sel(network=names).values & ~ds.chaos_censored.sel(network=names).values
        gap = (t - ds.chaos_length.sel(network=names).values)[both]
        within = (np.abs(gap) <= tau).astype(float)
        out[f"{key}_median"] = float(np.median(t))
        out[f"{key}_median_low"], out[f"{key}_median_high"] = (
            bootstrap_interval(t.ravel(), np.median, seed=seed) if t.size > 1 else (float(t.ravel()[0]),) * 2
        )
        out[f"{key}_censored"] = int(ds.sync_censored.sel(network=names).values.sum())
        out[f"{key}_inputs"] = int(t.size)
        out[f"{key}_chaos_median"] = float(np.median(ds.chaos_length.sel(network=names).values))
        out[f"{key}_pairs"] = int(both.sum())
        out[f"{key}_within"] = float(100 * within.mean()) if within.size else float("nan")
        out[f"{key}_within_low"], out[f"{key}_within_high"] = (
            tuple(100 * v for v in bootstrap_interval(within, np.mean, seed=seed))
            if within.size > 1
            else (float("nan"), float("nan"))
        )
        out[f"{key}_gap_median"] = float(np.median(gap)) if gap.size else float("nan")
        out[f"{key}_within_text"] = (
            f"{out[f'{key}_within']:.0f}% (95% bootstrap interval {out[f'{key}_within_low']:.0f} to "
            f"{out[f'{key}_within_high']:.0f}%) of the {within.size} inputs with both times "
            "inside the horizon"
            if within.size > 1
            else f"not measurable: {within.size} inputs have both times inside the horizon"
        )
        out[f"{key}_floor"] = float(np.median(ds.token_spread.sel(network=names).isel(step=-1).values))
        if key == "rand":
            seed_medians = np.median(t, axis=1)
            out["rand_seed_min"], out["rand_seed_max"] = float(seed_medians.min()), float(seed_medians.max())
    sweep = np.median(ds.sweep_offset.sel(network=ref).values, axis=1)
    out.update(
        sweep_lo=float(ds.threshold.values[0]),
        sweep_hi=float(ds.threshold.values[-1]),
        ref_sweep_lo=float(sweep[0]),
        ref_sweep_hi=float(sweep[-1]),
    )
    return {"sync_" + k: v for k, v in out.items()}


def target_r5(numbers: dict, model: str, reference_is_pretrained: bool) -> dict:
    """R5 on the reference network: most inputs synchronise within T and most inputs with both times
    inside the horizon have |t_sync - l| <= tau (bootstrap interval of that fraction stated)."""
    n = {k[len("sync_") :]: v for k, v in numbers.items()}
    synchronised = 1 - n["ref_censored"] / n["ref_inputs"]
    measured = (
        f"{model}, {n['ref_label']}: {100 * synchronised:.0f}% of {n['ref_inputs']} inputs synchronise "
        f"within "
        f"T={n['T']}; |t_sync - l| <= tau={n['tau']} for {n['ref_within']:.0f}% "
        f"[{n['ref_within_low']:.0f}, {n['ref_within_high']:.0f}] of {n['ref_pairs']} inputs with both times "
        f"inside the horizon (median t_sync - l = {n['ref_gap_median']:.0f})"
    )
    holds = None if n["ref_pairs"] < 2 else bool(synchronised >= 0.5 and n["ref_within"] >= 50)
    note = "holds = most inputs synchronise and most have |t_sync - l| <= tau"
    if not reference_is_pretrained:
        note = "the reference is a random network; " + note
    return target_record(
        target_id="R5",
        claim="tokens synchronise at the end of the transient",
        measured=measured,
        holds=holds,
        note=note,
    )


def target_r10(ds: xr.Dataset, model: str, label: str, n_tokens: int) -> dict:
    """R10 on the reference network: the float32 one-step error on exactly synchronised states < 1e-5."""
    e32 = float(ds.one_step_error.sel(dtype="float32").max())
    e64 = (
        float(ds.one_step_error.sel(dtype="float64").max()) if "float64" in ds.dtype.values else float("nan")
    )
    measured = (
        f"{model}, {label}: one-step relative error {e32:.1e} (float32), {e64:.1e} (float64) on exactly "
        f"synchronised states; {float(ds.natural_error.max()):.1e} from the run's end states; N={n_tokens}"
    )
    return target_record(
        target_id="R10",
        claim="reduced map equals the full layer on synchronised states",
        measured=measured,
        holds=bool(e32 < 1e-5),
        note="holds = float32 one-step error < 1e-5",
    )
