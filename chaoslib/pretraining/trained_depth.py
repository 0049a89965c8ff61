"""The trained-depth series' analysis: each diagnostic against L, with networks (seeds) as the unit.

The records of the shipped series networks (``chaoslib/checkpoints/albert-wt2-L*-s*/diagnostics.nc``, written
by :mod:`chaoslib.pretraining.series`) are joined into one dataset with a ``network`` dimension. A network's
value of a diagnostic is a summary over its inputs (a median, a mean); comparisons across L use those values,
one per network:

- :func:`trend` tests a monotone trend in log2 L by an exact permutation test over all networks
  (:func:`chaoslib.stats.trend_test`), stating the smallest attainable p;
- :func:`scaling_law` fits ``log y = a + b log L`` where every value is positive and uncensored, with a
  bootstrap over networks for the exponent b and for the extrapolation to albert-large's L = 24;
- :func:`at_matched_loss` reads each network's diagnostics at the first checkpoint whose held-out loss is at or
  below a common level, since training progress and L are otherwise confounded.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import xarray as xr

from chaoslib.errors import ChaoslibError
from chaoslib.stats import PermutationTest, trend_test
from chaoslib.store import load_dataset

PAPER_DEPTH = 24  # albert-large-v2 applies its layer 24 times in pretraining


def load_series(networks: list[dict] | None = None) -> xr.Dataset:
    """The shipped series' diagnostics records as one dataset: dimension ``network`` (coords ``depth``, ``seed``,
    ``name``), the records' checkpoints aligned (every network of the series saves the same steps)."""
    from chaoslib.pretraining.series import shipped_series

    networks = shipped_series() if networks is None else networks
    if not networks:
        raise ChaoslibError("no network of the trained-depth series is shipped yet; train one with "
                            "`python -m chaoslib.pretraining series --depth L --seed S`.")
    records = []
    for net in networks:
        ds = load_dataset(net["folder"] / "diagnostics.nc")
        records.append(ds.drop_vars([v for v in ("mlm_accuracy_by_depth", "mlm_loss_by_depth") if v in ds])
                       .drop_dims("mlm_depth", errors="ignore"))
    joined = xr.concat(records, "network", join="exact", combine_attrs="drop")
    joined = joined.assign_coords(network=[n["name"] for n in networks], depth=("network", [n["depth"] for n in networks]),
                                  seed=("network", [n["seed"] for n in networks]))
    joined.attrs["settings"] = records[0].attrs["settings"]
    return joined


def network_values(ds: xr.Dataset) -> xr.Dataset:
    """One value per (network, checkpoint): the first-window exponent's mean, the chaos length's and t_sync's
    medians over inputs (with their censored fractions), the ED peak, the top exponent of the spectrum (mean
    over its inputs), and the held-out masked-LM loss and accuracy."""
    return xr.Dataset({
        "lambda0": ds.lambda0.mean("sample"),
        "chaos_length": ds.chaos_length.median("sample"),
        "chaos_censored": ds.chaos_censored.mean("sample"),
        "t_sync": ds.t_sync.median("sample"),
        "sync_censored": ds.sync_censored.mean("sample"),
        "ed_peak": ds.ed_peak,
        "top_exponent": ds.spectrum.isel(k=0).mean("spectrum_input"),
        "mlm_loss": ds.mlm_loss,
        "mlm_accuracy": ds.mlm_accuracy,
    })


def at_matched_loss(values: xr.Dataset, level: float | None = None) -> tuple[xr.Dataset, float]:
    """Each network's values at its first checkpoint with held-out loss <= ``level`` (default: the highest final
    loss of the series, a level every network reached). Returns (values per network, the level)."""
    final_loss = values.mlm_loss.isel(checkpoint=-1)
    level = float(final_loss.max()) if level is None else float(level)
    rows = []
    for name in values.network.values:
        net = values.sel(network=name)
        reached = np.nonzero(net.mlm_loss.values <= level + 1e-12)[0]
        if len(reached) == 0:
            raise ChaoslibError(f"{name} never reaches the held-out loss {level:.3f}; choose a higher level.")
        rows.append(net.isel(checkpoint=int(reached[0])))
    return xr.concat(rows, "network"), level


@dataclass(frozen=True)
class Trend:
    """A diagnostic against L over networks: the exact permutation test and the fitted scaling law (if any)."""

    quantity: str
    test: PermutationTest
    exponent: float | None  # b of y ~ L^b, None where no law was fitted
    exponent_interval: tuple[float, float] | None
    at_paper_depth: float | None  # the law's value at L = 24
    at_paper_depth_interval: tuple[float, float] | None
    why_no_law: str  # empty where a law was fitted


def scaling_law(depths: np.ndarray, values: np.ndarray, n_resamples: int = 2000,
                seed: int = 0) -> tuple[float, tuple[float, float], float, tuple[float, float]]:
    """Least squares ``log y = a + b log L`` over networks; (b, its 95% interval, y(24), its interval) from a
    bootstrap that resamples networks within each L (so every resample keeps every L)."""
    depths, values = np.asarray(depths, float), np.asarray(values, float)
    if np.any(values <= 0):
        raise ChaoslibError("a power law needs positive values.")
    x, y = np.log(depths), np.log(values)

    def fit(xs, ys):
        b, a = np.polyfit(xs, ys, 1)
        return b, float(np.exp(a + b * np.log(PAPER_DEPTH)))

    b, at24 = fit(x, y)
    rng = np.random.default_rng(seed)
    groups = [np.nonzero(depths == d)[0] for d in np.unique(depths)]
    draws = []
    for _ in range(n_resamples):
        index = np.concatenate([rng.choice(g, size=len(g), replace=True) for g in groups])
        draws.append(fit(x[index], y[index]))
    draws = np.asarray(draws)
    interval = lambda column: tuple(float(q) for q in np.percentile(draws[:, column], [2.5, 97.5]))  # noqa: E731
    return float(b), interval(0), at24, interval(1)


def trend(values: xr.Dataset, quantity: str, alpha: float = 0.05, censored: str | None = None) -> Trend:
    """The exact permutation trend test of ``quantity`` against log2 L, and a scaling law where the test finds a
    trend at ``alpha`` and every value is positive and uncensored (``censored``: the variable holding each
    network's censored fraction)."""
    depths = values.depth.values.astype(float)
    y = values[quantity].values.astype(float)
    test = trend_test(y, np.log2(depths))
    why = ""
    if test.smallest_p > alpha:
        why = f"not testable with these networks: the smallest attainable p is {test.smallest_p:.2g} > {alpha}"
    elif test.p_value > alpha:
        why = f"no trend at {alpha} (p = {test.p_value:.2g})"
    elif np.any(y <= 0):
        why = "values that are not positive: no power law"
    elif censored is not None and float(values[censored].max()) > 0.5:
        why = "the median is censored at the horizon for some network"
    if why:
        return Trend(quantity, test, None, None, None, None, why)
    b, b_interval, at24, at24_interval = scaling_law(depths, y)
    return Trend(quantity, test, b, b_interval, at24, at24_interval, "")
