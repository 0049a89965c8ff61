"""Figures and numbers of the synchronisation chapter (sigma(t), sync offsets, chaos length, reduced map).

The dataset comes from ``chaoslib.dynamics.sync_networks.network_synchronisation`` (``token_spread``
(network, sample, step), ``chaos_length`` / ``chaos_censored`` (network, sample)), labelled with
``chaoslib.book.figures.exponents.with_roles`` (one ``reference`` network, the pretrained one, and
``comparison`` random networks) and completed by :func:`with_offsets` (cheap thresholding, so the
saved file holds every plotted value). Uncertainty: bootstrap intervals over inputs for the
reference (``chaoslib.stats``), the spread over seeds for the random networks.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import xarray as xr

from chaoslib.book.figures.exponents import RAND_COLOR, REF_COLOR, _split, verdict
from chaoslib.dynamics.sync import offsets_by_threshold, sync_offset
from chaoslib.stats import bootstrap_interval

__all__ = [
    "with_offsets",
    "token_spread",
    "offsets",
    "offset_vs_chaos_length",
    "reduced_dataset",
    "reduced_map",
    "reduced_numbers",
    "sync_numbers",
    "target_r5",
    "target_r10",
    "verdict",
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


def _positive(values: np.ndarray) -> np.ndarray:
    return np.where(values > 0, values, np.nan)  # an exact 0 (tokens equal) has no place on a log axis


def token_spread(ds: xr.Dataset) -> plt.Figure:
    """sigma(t) per input, on a log axis: the reference (left) and every random network (right, one
    colour shade per seed); dashed: the median threshold theta of each panel."""
    ref, others = _split(ds)
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.9), sharey=True, squeeze=False)
    steps = ds.step.values
    for ax, names, color, title in (
        (axes[0, 0], [ref], REF_COLOR, ref),
        (axes[0, 1], others, RAND_COLOR, f"{len(others)} random networks"),
    ):
        for n in names:
            for row in ds.token_spread.sel(network=n).values:
                ax.semilogy(steps, _positive(row), color=color, lw=0.6, alpha=0.6)
        if names:
            ax.axhline(
                float(np.median(ds.theta.sel(network=names).values)),
                color="k",
                ls="--",
                lw=1,
                label=r"median $\theta$",
            )
            ax.legend(fontsize=8, loc="lower left")
        ax.set_title(title, fontsize=9)
        ax.set_xlabel("step t")
    axes[0, 0].set_ylabel(r"token spread $\sigma(t)$")
    fig.suptitle(f"Token spread of {ds.sizes['sample']} inputs, N={ds.attrs.get('n_tokens', '?')}")
    return fig


def offsets(ds: xr.Dataset) -> plt.Figure:
    """Left: histogram of t_sync, reference vs random networks pooled. Right: median t_sync against
    the threshold, one line per network (open markers: most inputs censored)."""
    ref, others = _split(ds)
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.9))
    bins = np.linspace(0, ds.attrs["n_steps"], 21)
    ax1.hist(ds.t_sync.sel(network=ref).values, bins=bins, alpha=0.6, color=REF_COLOR, label=ref)
    if others:
        ax1.hist(
            ds.t_sync.sel(network=others).values.ravel(),
            bins=bins,
            alpha=0.5,
            color=RAND_COLOR,
            label=f"{len(others)} random networks (pooled)",
        )
    ax1.set_xlabel(r"sync offset $t_{\mathrm{sync}}$ (censored at T)")
    ax1.set_ylabel("inputs")
    ax1.legend(fontsize=7)
    for n in [ref, *others]:
        median = np.median(ds.sweep_offset.sel(network=n).values, axis=1)
        most = ds.sweep_censored.sel(network=n).values.mean(axis=1) > 0.5
        color = REF_COLOR if n == ref else RAND_COLOR
        ax2.semilogx(
            ds.threshold.values,
            median,
            marker="o",
            color=color,
            lw=2 if n == ref else 0.8,
            label=n if n == ref else ("random networks" if n == others[0] else None),
        )
        ax2.scatter(
            ds.threshold.values[most], median[most], s=50, facecolor="white", edgecolor=color, zorder=3
        )
    ax2.axvline(ds.attrs["sync_threshold"], color="0.6", ls=":", lw=1)
    ax2.set_xlabel(r"threshold $\theta$" + (r" / $\sigma(0)$" if ds.attrs["relative_threshold"] else ""))
    ax2.set_ylabel(r"median $t_{\mathrm{sync}}$")
    ax2.invert_xaxis()
    ax2.legend(fontsize=7)
    return fig


def offset_vs_chaos_length(ds: xr.Dataset) -> plt.Figure:
    """t_sync against the chaos length l of the same input, one point per input and network; the
    diagonal t_sync = l with a +-tau band. Censored values sit at T."""
    ref, others = _split(ds)
    tau, horizon = ds.attrs["tau"], ds.attrs["n_steps"]
    fig, ax = plt.subplots(figsize=(5.6, 5))
    if others:
        ax.scatter(
            ds.chaos_length.sel(network=others).values.ravel(),
            ds.t_sync.sel(network=others).values.ravel(),
            s=16,
            alpha=0.5,
            color=RAND_COLOR,
            label="random networks",
        )
    ax.scatter(
        ds.chaos_length.sel(network=ref).values,
        ds.t_sync.sel(network=ref).values,
        s=26,
        alpha=0.85,
        color=REF_COLOR,
        label=ref,
    )
    line = np.array([0, horizon])
    ax.plot(line, line, color="k", lw=1)
    ax.fill_between(line, line - tau, line + tau, color="0.85", zorder=0, label=rf"$\pm\tau$ = {tau}")
    ax.set_xlim(-5, horizon + 5)
    ax.set_ylim(-5, horizon + 5)
    ax.set_xlabel("chaos length l (steps)")
    ax.set_ylabel(r"sync offset $t_{\mathrm{sync}}$")
    ax.legend(fontsize=7)
    return fig


def reduced_dataset(comparisons: dict, natural_error, end_spread) -> xr.Dataset:
    """``reduced_vs_full`` results by dtype name -> Dataset: ``relative_error`` and ``full_spread``
    (dtype, sample, step), ``one_step_error`` (dtype, sample); ``natural_error`` (sample): one step from
    the run's own (nearly) synchronised end states x(T), whose spread sigma(T) is ``end_spread`` (sample)."""
    names = list(comparisons)

    def stack(attr):
        return np.stack([getattr(comparisons[n], attr).double().cpu().numpy() for n in names])

    def array(t):
        return np.asarray(t.double().cpu().numpy() if hasattr(t, "cpu") else t, dtype=float)

    return xr.Dataset(
        {
            "relative_error": (("dtype", "sample", "step"), stack("relative_error")),
            "full_spread": (("dtype", "sample", "step"), stack("full_spread")),
            "one_step_error": (("dtype", "sample"), stack("one_step_error")),
            "natural_error": (("sample",), array(natural_error)),
            "end_spread": (("sample",), array(end_spread)),
        },
        coords={"dtype": names},
    )


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


def reduced_map(ds: xr.Dataset) -> plt.Figure:
    """Median over states of ||full - lifted R|| / ||full|| by step from an exactly synchronised state,
    per dtype, with the range over states as a band."""
    fig, ax = plt.subplots()
    steps = ds.step.values[1:]
    for i, name in enumerate(ds.dtype.values):
        error = ds.relative_error.sel(dtype=name).values[:, 1:]
        ax.fill_between(steps, error.min(0), error.max(0), color=f"C{i}", alpha=0.2, lw=0)
        ax.semilogy(
            steps, np.median(error, axis=0), marker=".", color=f"C{i}", label=f"{name}: median over states"
        )
    ax.set_xlabel("steps from the synchronised state")
    ax.set_ylabel(r"$\|x_{full} - \mathrm{lift}(y_R)\| / \|x_{full}\|$")
    ax.legend(fontsize=7)
    return fig


def sync_numbers(ds: xr.Dataset, seed: int = 0) -> dict:
    """Numbers of the prose and of R5 (keys prefixed ``sync_``): median t_sync of the reference with a
    bootstrap interval over inputs; of the random networks (pooled) with its interval and the range of
    the seeds' medians; censored counts; per network group, the fraction of inputs with
    |t_sync - l| <= tau among those with both times uncensored (bootstrap interval over inputs)."""
    ref, others = _split(ds)
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
    return dict(
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
    return dict(
        target_id="R10",
        claim="reduced map equals the full layer on synchronised states",
        measured=measured,
        holds=bool(e32 < 1e-5),
        note="holds = float32 one-step error < 1e-5",
    )
