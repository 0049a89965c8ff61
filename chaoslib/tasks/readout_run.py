"""The handwriting readout's driver (the paper's supplementary experiment): STS-B pairs through networks,
one labelled result.

``chaoslib.tasks.readout`` solves and scores every window from a split's states; this module
produces those states (the [CLS] state of each pair at every step of the map) and assembles
what the chapter shows: for each network, the window grids of both scores, the best window,
its per-pair errors with a bootstrap interval over dev pairs, the paired difference to the
first (reference) network, and the best window's drawings of a few dev pairs.

    data = load_readout_data(n_train=256, n_dev=128, n_tokens=64, seed=0)
    ds = compare_readouts([network.load() for network in networks], data,
                          window_options(max_start=29, max_length=30, min_length=20))
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
import xarray as xr

from chaoslib.data.glyphs import glyph, integrate_velocity, mix_targets
from chaoslib.data.tokenization import Encoded, encode, load_tokenizer
from chaoslib.errors import ChaoslibError
from chaoslib.stats import bootstrap_interval, difference_interval
from chaoslib.tasks.glue import GlueSplit, load_glue
from chaoslib.tasks.readout import ReadoutStatistics, WindowedReadout

# ------------------------------------------------------------------------------------ trajectories


@torch.no_grad()
def token_trajectories(
    step,
    x0: torch.Tensor,
    n_steps: int,
    token: int = 0,
    attention_mask: torch.Tensor | None = None,
    batch_size: int = 256,
    progress: bool = False,
) -> np.ndarray:
    """The state of one token (default 0, [CLS]) at t = 0..n_steps, for every sample.

    Args:
        step: any map (batch, tokens, hidden) -> same (e.g. ``AlbertMap``).
        x0: (batch, tokens, hidden) initial states.
        attention_mask: (batch, tokens) for the masked variant; None = pads active (the dynamics
            chapters' default).
        batch_size: samples run together (memory: the map's activations for this many samples).

    Returns:
        (batch, n_steps + 1, hidden) float32 array.
    """
    from chaoslib.dynamics.probes import Units
    from chaoslib.dynamics.runner import run_trajectory

    if x0.ndim != 3:
        raise ChaoslibError(f"x0 must be (batch, tokens, hidden), got shape {tuple(x0.shape)}.")
    if batch_size < 1:
        raise ChaoslibError(f"batch_size={batch_size}; it must be at least 1.")
    out = []
    for lo in range(0, x0.shape[0], batch_size):
        mask = None if attention_mask is None else attention_mask[lo : lo + batch_size]
        ds = run_trajectory(
            step,
            x0[lo : lo + batch_size],
            n_steps,
            probes=(Units(tokens=[token], units=None, name="token"),),
            attention_mask=mask,
            progress=progress,
        )
        out.append(ds["token"].values[:, :, 0, :].astype(np.float32, copy=False))
    return np.concatenate(out)


@torch.no_grad()
def collect_readout_statistics(
    step,
    encoded: Encoded,
    scores: np.ndarray,
    n_steps: int,
    masked: bool = False,
    token: int = 0,
    batch_size: int = 256,
    keep_states: bool = False,
    stats_device: str | torch.device | None = None,
    progress: bool = False,
) -> tuple[ReadoutStatistics, np.ndarray | None]:
    """Run a split through the map and accumulate the readout statistics of one token's state.

    Args:
        step: an ``AlbertMap`` (needs ``embed``) whose parameters sit on the compute device.
        encoded: ``Encoded`` (batch, tokens), e.g. STS-B pairs as ``[CLS] A [SEP] B [SEP]``.
        scores: (batch,) similarity scores in [0, 5].
        n_steps: the states t = 0..n_steps are used (``WindowedReadout.steps_needed - 1``).
        masked: False (the dynamics chapters' default): pads are active units; True: masked variant.
        keep_states: also return the states (batch, n_steps + 1, hidden) float32 (the dev split's,
            for the authors' per-pair NMSE and the drawings); otherwise memory does not grow with
            the number of samples.
        stats_device: where the float64 statistics live (default: the map's device).

    Returns:
        (statistics, states or None).
    """
    scores = np.asarray(scores, dtype=np.float64)
    if len(scores) != len(encoded):
        raise ChaoslibError(f"scores has {len(scores)} entries but encoded has {len(encoded)} samples.")
    device = next(step.parameters()).device
    stats = ReadoutStatistics(stats_device if stats_device is not None else device)
    kept = []
    for lo in range(0, len(encoded), batch_size):
        batch = encoded[lo : lo + batch_size].to(device)
        states = token_trajectories(
            step,
            step.embed(batch),
            n_steps,
            token=token,
            attention_mask=batch.attention_mask if masked else None,
            batch_size=batch_size,
            progress=progress,
        )
        stats.update(states, scores[lo : lo + batch_size])
        if keep_states:
            kept.append(states)
    return stats, (np.concatenate(kept) if keep_states else None)


# ---------------------------------------------------------------------------------------------- data


@dataclass
class ReadoutData:
    """STS-B train and dev pairs, encoded as ``[CLS] A [SEP] B [SEP]`` with N tokens.

    ``train_scores`` and ``dev_scores`` (pairs,) are the scores that mix the targets: the gold
    similarity, or its integer part with ``integer_scores`` (as the authors' ``astype(int)``).
    """

    train: GlueSplit
    dev: GlueSplit
    train_encoded: Encoded
    dev_encoded: Encoded
    train_scores: np.ndarray
    dev_scores: np.ndarray
    integer_scores: bool = False


def load_readout_data(
    n_train: int | None = 256,
    n_dev: int | None = 128,
    n_tokens: int = 64,
    seed: int = 0,
    source: str = "local",
    data_dir: str | os.PathLike | None = None,
    integer_scores: bool = False,
) -> ReadoutData:
    """Seeded STS-B subsamples (None: the whole split), encoded to ``n_tokens`` tokens (truncated).

    ``integer_scores=True`` cuts the scores to integers before they mix the letters, as the
    authors' ``post_process`` (``labels.astype(int)``); the default keeps the float scores.
    """
    train = load_glue("stsb", "train", source=source, data_dir=data_dir).subsample(n_train, seed=seed)
    dev = load_glue("stsb", "validation", source=source, data_dir=data_dir).subsample(n_dev, seed=seed + 1)
    tokenizer = load_tokenizer(data_dir=data_dir)

    def mixing(scores: np.ndarray) -> np.ndarray:
        return np.floor(scores).astype(np.float64) if integer_scores else scores.astype(np.float64)

    return ReadoutData(
        train,
        dev,
        encode(tokenizer, train.text_a, train.text_b, n_tokens=n_tokens),
        encode(tokenizer, dev.text_a, dev.text_b, n_tokens=n_tokens),
        mixing(train.require_labels()),
        mixing(dev.require_labels()),
        integer_scores,
    )


# ------------------------------------------------------------------------------------------ networks


def fit_readout(
    step, data: ReadoutData, readout: WindowedReadout, masked: bool = False, batch_size: int = 256
) -> tuple[WindowedReadout, np.ndarray, float, float]:
    """Run both splits through ``step`` (an ``AlbertMap``) and fit ``readout`` on every window.

    Returns:
        (the fitted readout, dev states (pairs, steps, hidden), seconds running the map, seconds fitting).
    """
    tic = time.perf_counter()
    n_steps = readout.steps_needed - 1
    train_stats, _ = collect_readout_statistics(
        step, data.train_encoded, data.train_scores, n_steps, masked=masked, batch_size=batch_size
    )
    dev_stats, dev_states = collect_readout_statistics(
        step,
        data.dev_encoded,
        data.dev_scores,
        n_steps,
        masked=masked,
        batch_size=batch_size,
        keep_states=True,
    )
    run_seconds = time.perf_counter() - tic
    tic = time.perf_counter()
    readout.fit(train_stats, dev_stats, dev_states, data.dev_scores)
    return readout, dev_states, run_seconds, time.perf_counter() - tic


def shown_pairs(scores: np.ndarray, n_show: int) -> tuple[np.ndarray, list[str]]:
    """Dev pairs to draw: the ``n_show`` lowest, middle (nearest 2.5) and highest scores, and their groups."""
    order = np.argsort(scores, kind="stable")
    middle = np.argsort(np.abs(scores - 2.5), kind="stable")
    groups = {"low": order[:n_show], "middle": middle[:n_show], "high": order[::-1][:n_show]}
    pairs = np.concatenate(list(groups.values()))
    return pairs, [g for g, rows in groups.items() for _ in rows]


def drawings(
    readout: WindowedReadout, dev_states: np.ndarray, scores: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The best window's drawings and the target drawings of some pairs, as pen positions.

    Velocity targets are drawn as the authors do, by their cumulative sum, from the mixed letter's
    first point (:func:`chaoslib.data.glyphs.integrate_velocity`); position targets as they are.

    Args:
        dev_states: (pairs, steps, hidden) of the pairs to draw; scores: (pairs,).

    Returns:
        (drawn, target), each (pairs, points, 2): L + 1 points for velocities, L for positions.
    """
    best = readout.window()
    predicted, targets = best.predict(dev_states), readout.targets(scores, best.length)
    if readout.target_mode == "position":
        return predicted, targets
    letters = (glyph(c, best.length) for c in (readout.start_char, readout.end_char))
    first = mix_targets(scores, *letters)[:, 0]
    return integrate_velocity(predicted, first), integrate_velocity(targets, first)


def window_options(
    max_start: int,
    max_length: int,
    min_length: int = 20,
    ridge: float = 1e-4,
    targets: str = "velocity",
    metric: str = "pair",
) -> dict:
    """The :class:`WindowedReadout` options of a window grid, the ``readout_options`` of
    :func:`compare_readouts`: starts 0..max_start, lengths 1..max_length, the best window searched among
    lengths >= min_length."""
    return dict(starts=range(max_start + 1), lengths=range(1, max_length + 1), ridge=ridge, targets=targets,
                metric=metric, min_length=min_length)


def compare_readouts(
    networks: Sequence[tuple[torch.nn.Module, object]],
    data: ReadoutData,
    readout_options: dict | None = None,
    masked: bool = False,
    batch_size: int = 256,
    n_show: int = 2,
    confidence: float = 0.95,
    n_resamples: int = 2000,
    seed: int = 0,
) -> xr.Dataset:
    """The readout of every network on the same pairs; the first network is the reference.

    Args:
        networks: (model, Network) pairs, e.g. the pretrained network then random ones of the same
            architecture. Each is wrapped in an ``AlbertMap``.
        readout_options: keyword arguments of :class:`WindowedReadout` (starts, lengths, ridge,
            targets, metric, min_length).
        n_show: dev pairs drawn per similarity group (low, middle, high).
        confidence, n_resamples, seed: the bootstrap over dev pairs (``chaoslib.stats``).

    Returns:
        Dataset with dims network, start, length, pair, shown, point, xy: ``pair_nmse``,
        ``pooled_nmse``, ``train_pooled_nmse`` (network, start, length); ``blind_pair_nmse``,
        ``blind_pooled_nmse`` (length); per network ``best_start``, ``best_length``, ``best_pair_nmse``,
        ``best_pooled_nmse``, ``best_low``/``best_high`` (bootstrap interval of the best window's mean
        pair NMSE over dev pairs), ``diff_low``/``diff_high`` (paired interval of its mean pair NMSE
        minus the reference's; NaN for the reference), ``pair_errors`` (network, pair), ``drawn`` and
        ``target_drawn`` (network, shown, point, xy), ``run_seconds``, ``fit_seconds``.
    """
    from chaoslib.model.albert_map import AlbertMap

    if not networks:
        raise ChaoslibError("networks is empty; give at least one (model, info) pair.")
    options = dict(readout_options or {})
    show, groups = shown_pairs(data.dev_scores, n_show)
    fits, infos = [], []
    for model, info in networks:
        readout, dev_states, run_s, fit_s = fit_readout(
            AlbertMap(model), data, WindowedReadout(**options), masked, batch_size
        )
        drawn, target = drawings(readout, dev_states[show], data.dev_scores[show])
        fits.append((readout, drawn, target, run_s, fit_s))
        infos.append(info)
    readout0 = fits[0][0]
    labels = [info.label() for info in infos]
    points = max(f[1].shape[1] for f in fits)
    pad = lambda a: np.pad(a, ((0, 0), (0, points - a.shape[1]), (0, 0)), constant_values=np.nan)  # noqa: E731
    errors = np.stack([f[0].pair_errors_.values for f in fits])
    best_ci = [bootstrap_interval(e, np.mean, confidence, n_resamples, seed) for e in errors]
    diff_ci = [(np.nan, np.nan)] + [
        difference_interval(e, errors[0], np.mean, confidence, n_resamples, seed, paired=True)
        for e in errors[1:]
    ]
    grid = ("network", "start", "length")
    per_net = lambda values: ("network", np.asarray(values))  # noqa: E731
    ds = xr.Dataset(
        {
            "pair_nmse": (grid, np.stack([f[0].pair_nmse_.values for f in fits])),
            "pooled_nmse": (grid, np.stack([f[0].pooled_nmse_.values for f in fits])),
            "train_pooled_nmse": (grid, np.stack([f[0].train_pooled_nmse_.values for f in fits])),
            "blind_pair_nmse": ("length", readout0.blind_pair_nmse_.values),
            "blind_pooled_nmse": ("length", readout0.blind_pooled_nmse_.values),
            "best_start": per_net([f[0].best_start_ for f in fits]),
            "best_length": per_net([f[0].best_length_ for f in fits]),
            "best_pair_nmse": per_net(errors.mean(axis=1)),
            "best_pooled_nmse": per_net(
                [f[0].pooled_nmse_.sel(start=f[0].best_start_, length=f[0].best_length_).item() for f in fits]
            ),
            "best_low": per_net([c[0] for c in best_ci]),
            "best_high": per_net([c[1] for c in best_ci]),
            "diff_low": per_net([c[0] for c in diff_ci]),
            "diff_high": per_net([c[1] for c in diff_ci]),
            "pair_errors": (("network", "pair"), errors),
            "dev_score": ("pair", data.dev_scores),
            "shown_pair": ("shown", show),
            "shown_group": ("shown", np.asarray(groups)),
            "drawn": (("network", "shown", "point", "xy"), np.stack([pad(f[1]) for f in fits])),
            "target_drawn": (("network", "shown", "point", "xy"), np.stack([pad(f[2]) for f in fits])),
            "weights": per_net([info.weights for info in infos]),
            "run_seconds": per_net([f[3] for f in fits]),
            "fit_seconds": per_net([f[4] for f in fits]),
        },
        coords={
            "network": labels,
            "start": readout0.starts,
            "length": readout0.lengths,
            "pair": np.arange(len(data.dev_scores)),
            "xy": ["x", "y"],
        },
        attrs={
            "targets": readout0.target_mode,
            "metric": readout0.metric,
            "min_length": readout0.min_length,
            "ridge": readout0.ridge,
            "n_train": len(data.train),
            "n_dev": len(data.dev),
            "n_tokens": int(data.dev_encoded.input_ids.shape[1]),
            "integer_scores": int(data.integer_scores),
            "masked": int(masked),
            "confidence": confidence,
            "reference": labels[0],
        },
    )
    return ds
