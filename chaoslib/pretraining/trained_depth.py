"""The trained-depth series' analysis: each diagnostic against L, with networks (seeds) as the unit.

The records of the shipped series networks (``chaoslib/checkpoints/albert-wt2-L*-s*/diagnostics.nc``, written
by :mod:`chaoslib.pretraining.series`) are joined into one dataset with a ``network`` dimension. A network's
value of a diagnostic is a summary over its inputs (a median, a mean); comparisons across L use those values,
one per network:

- :func:`trend` tests a monotone trend in log2 L by an exact permutation test over all networks
  (:func:`chaoslib.stats.trend_test`), stating the smallest attainable p;
- :func:`scaling_law` fits ``log y = a + b log L`` where every value is positive and uncensored, with a
  bootstrap over networks for the exponent b and for the extrapolation to albert-large's L = 24;
- :func:`at_matched_loss` reads each network's diagnostics at its checkpoint whose held-out loss is nearest a
  common level, since training progress and L are otherwise confounded;
- :func:`best_mlm_depth` asks whether the depth at which a final network's own head reads best tracks its L;
- :func:`live_recheck` recomputes one shipped network now against its record, with a network of another L as
  the negative control.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
import pandas as pd
import xarray as xr

from chaoslib.errors import ChaoslibError
from chaoslib.model.network import Network
from chaoslib.stats import PermutationTest, trend_test
from chaoslib.store import load_dataset, read_json

PAPER_DEPTH = 24  # albert-large-v2 applies its layer 24 times in pretraining


DESIGN_SEEDS = (0, 1)  # the seeds every L of the design has (a third where time allows)


def _design() -> list[tuple[int, int]]:
    """The (L, seed) pairs of the design: every L of ``SERIES_DEPTHS`` with the seeds ``DESIGN_SEEDS``."""
    from chaoslib.pretraining.series import SERIES_DEPTHS

    return [(d, s) for d in SERIES_DEPTHS for s in DESIGN_SEEDS]


def _pairs(networks: list[dict]) -> set[tuple[int, int]]:
    return {(int(n["depth"]), int(n["seed"])) for n in networks}


def missing_from_design(networks: list[dict]) -> list[tuple[int, int]]:
    """The (L, seed) pairs of the design that are not among ``networks``
    (:func:`chaoslib.pretraining.series.shipped_series`): not shipped yet."""
    shipped = _pairs(networks)
    return [pair for pair in _design() if pair not in shipped]


def beyond_design(networks: list[dict]) -> list[tuple[int, int]]:
    """The (L, seed) pairs among ``networks`` that the design does not ask for (a further seed, where time
    allowed), by L then seed."""
    return sorted(_pairs(networks) - set(_design()))


def select(names: list[str] | None = None) -> list[dict]:
    """The shipped series networks named in ``names`` (None: every shipped one), by L then seed."""
    from chaoslib.pretraining.series import shipped_series

    shipped = shipped_series()
    if names is None:
        return shipped
    by_name = {n["name"]: n for n in shipped}
    unknown = [name for name in names if name not in by_name]
    if unknown:
        raise ChaoslibError(f"networks={unknown} are not shipped series networks; use names from "
                            f"{sorted(by_name)} (or None for all of them).")
    return [n for n in shipped if n["name"] in set(names)]


def series_networks(networks: list[dict]) -> list[Network]:
    """The typed descriptions of the series networks, for provenance and captions: pretrained here."""
    return [Network(n["name"], "pretrained", source="pretrained here, the trained-depth series") for n in networks]


def load_cards(networks: list[dict]) -> dict[str, dict]:
    """Each network's model card (``card.json``), by name."""
    return {n["name"]: read_json(n["folder"] / "card.json") for n in networks}


def load_records(networks: list[dict]) -> dict[str, xr.Dataset]:
    """Each network's whole diagnostics record (with the final network's MLM accuracy by depth), by name."""
    return {n["name"]: load_dataset(n["folder"] / "diagnostics.nc") for n in networks}


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
    """Each network's values at its checkpoint whose held-out loss is nearest ``level`` (default: the highest
    final loss of the series, a level every network reached; on a tie the earlier checkpoint). The checkpoints
    are log-spaced, so the losses read out are matched only to the grid: the caller reports their spread.
    Returns (values per network, with its ``checkpoint`` as a coordinate; the level)."""
    final_loss = values.mlm_loss.isel(checkpoint=-1)
    level = float(final_loss.max()) if level is None else float(level)
    if not float(values.mlm_loss.min()) <= level <= float(values.mlm_loss.max()):
        raise ChaoslibError(f"level={level:.3f} is outside the held-out losses of the series "
                            f"({float(values.mlm_loss.min()):.3f} to {float(values.mlm_loss.max()):.3f}); choose "
                            "a level inside.")
    rows = []
    for name in values.network.values:
        net = values.sel(network=name)
        rows.append(net.isel(checkpoint=int(np.argmin(np.abs(net.mlm_loss.values - level)))))
    return xr.concat(rows, "network", coords="all", compat="equals", join="outer"), level


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
    constant: bool = False  # every network has the same value: nothing to correlate


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
    if np.ptp(y) == 0:
        return Trend(quantity, test, None, None, None, None, "one value for every network", constant=True)
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


def best_mlm_depth(records: dict[str, xr.Dataset]) -> pd.DataFrame:
    """Where each final network's own head reads best: one row per network with ``network``, ``depth`` (its L),
    ``seed``, ``best_depth`` (argmax over depths 1..4L of the masked-token accuracy), ``best_accuracy``,
    ``accuracy_at_L``, ``accuracy_at_last`` (at depth 4L, the deepest read) and ``tracks`` (the best depth is L
    itself)."""
    rows = []
    for name, record in records.items():
        config = record.attrs["run_config"]
        depth = int(config["num_hidden_layers"])
        accuracy = record.mlm_accuracy_by_depth
        best = int(accuracy.mlm_depth.values[int(np.argmax(accuracy.values))])
        rows.append({"network": name, "depth": depth, "seed": int(config["seed"]), "best_depth": best,
                     "best_accuracy": float(accuracy.max()), "accuracy_at_L": float(accuracy.sel(mlm_depth=depth)),
                     "accuracy_at_last": float(accuracy.isel(mlm_depth=-1)),
                     "tracks": best == depth})
    return pd.DataFrame(rows)


def recheck_pair(networks: list[dict], checked: str | None = None, control: str | None = None) -> tuple[str, str]:
    """The network to recompute live and the negative control, a network of another L (by name). Defaults:
    the first shipped network (smallest L, then seed) and the shipped network of the largest L."""
    by_name = {n["name"]: n for n in networks}
    for given, parameter in ((checked, "recheck_network"), (control, "control_network")):
        if given is not None and given not in by_name:
            raise ChaoslibError(f"{parameter}={given!r} is not a shipped series network; use one of "
                                f"{sorted(by_name)}.")
    checked = networks[0]["name"] if checked is None else checked
    if control is None:
        others = [n for n in networks if n["depth"] != by_name[checked]["depth"]]
        if not others:
            raise ChaoslibError("the negative control needs a shipped network of another L; only "
                                f"L = {by_name[checked]['depth']} is shipped.")
        control = max(others, key=lambda n: (n["depth"], -n["seed"]))["name"]
    if by_name[control]["depth"] == by_name[checked]["depth"]:
        raise ChaoslibError(f"control_network={control!r} has the same L as {checked!r}; choose a network of "
                            "another L.")
    return checked, control


def live_recheck(checked: str, control: str, records: dict[str, xr.Dataset],
                 data_dir: str | os.PathLike | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Recompute ``checked`` now with its record's settings and compare it with its record's final entry (all
    within tolerance, or ``ChaoslibError``: a stale record) and with ``control``'s final entry, a network of
    another L (at least one quantity outside, or ``ChaoslibError``: the recheck could not tell L apart).
    Returns the two tables (quantity, record, live, difference, tolerance, within)."""
    from chaoslib.pretraining.study import live_recheck as recheck_one

    return recheck_one(checked, records[checked], data_dir, control=(records[control], control))
