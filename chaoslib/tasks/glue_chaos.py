"""The chaos length of the GLUE networks on the task's own inputs, to compare with the score's depth.

The chaos length (:func:`chaoslib.dynamics.lyapunov.chaos_length`) is measured with the attention
mask by default: exactly the system whose pooled outputs the frozen arm reads.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np
import torch

from chaoslib.data.tokenization import Encoded, load_tokenizer
from chaoslib.dynamics.lyapunov import local_exponents
from chaoslib.model.albert_map import AlbertMap
from chaoslib.model.network import Network
from chaoslib.stats import bootstrap_interval
from chaoslib.tasks.glue_features import MAX_SEQ_LENGTH, encode_split, load_subsets, trimmed


def chaos_time_scale(
    albert_map: AlbertMap,
    encoded: Encoded,
    masked: bool = True,
    eps: float = 1e-2,
    tau: int = 10,
    n_steps: int = 100,
    seed: int = 0,
) -> dict:
    """Chaos length (:func:`chaoslib.dynamics.lyapunov.chaos_length`) of the network on GLUE inputs.

    encoded: (n, tokens) inputs (e.g. a few dev pairs at max_seq_length). ``masked=True`` runs
    the map with their attention mask, i.e. the system whose pooled outputs the sweep reads;
    ``False`` runs the authors' dynamics (pads active). Returns per-input ``lengths`` and
    ``censored`` (numpy), the ``median`` length with its bootstrap interval (``median_low``,
    ``median_high``), the mean exponent per window and the settings.
    """
    device = albert_map.w_qkv.device
    enc = encoded.to(device)
    mask = enc.attention_mask if masked else None
    x0 = albert_map.embed(enc)
    result = local_exponents(
        lambda x: albert_map.step(x, mask), x0, eps=eps, tau=tau, n_steps=n_steps, seed=seed
    )
    lengths, censored = result.chaos_length()
    lengths = lengths.numpy()
    low, high = bootstrap_interval(lengths, np.median, seed=seed) if len(lengths) > 1 else (np.nan, np.nan)
    return {
        "lengths": lengths,
        "censored": censored.numpy(),
        "median": float(np.median(lengths)),
        "median_low": low,
        "median_high": high,
        "mean_exponent": result.mean().numpy(),
        "window_end": result.steps.numpy(),
        "eps": eps,
        "tau": tau,
        "n_steps": n_steps,
        "masked": masked,
    }


def chaos_time_scales(
    networks: Sequence[Network],
    task: str = "stsb",
    n_samples: int = 16,
    subsample_seed: int = 0,
    data_source: str = "local",
    n_tokens: int = MAX_SEQ_LENGTH,
    masked: bool = True,
    eps: float = 1e-2,
    tau: int = 10,
    n_steps: int = 100,
    seed: int = 0,
    device: str | torch.device = "cpu",
    dtype: str = "float32",
    data_dir: str | os.PathLike | None = None,
    config_overrides: dict | None = None,
) -> dict[str, dict]:
    """:func:`chaos_time_scale` of each of ``networks`` (those of
    :func:`chaoslib.tasks.glue_sweep.glue_by_depth`) on ``n_samples`` dev pairs of ``task``, keyed by the
    loaded network's label.

    Columns that are padding in every pair are cut first (under the mask they never influence the
    real tokens).
    """
    _, dev = load_subsets(task, 1, n_samples, subsample_seed, data_source, data_dir)
    encoded = trimmed(encode_split(load_tokenizer(data_dir=data_dir), dev, n_tokens))
    out = {}
    for network in networks:
        overrides = dict(config_overrides or {})
        model, info = network.load(device=device, dtype=dtype, data_dir=data_dir, **overrides)
        out[info.label()] = chaos_time_scale(
            AlbertMap(model), encoded, masked=masked, eps=eps, tau=tau, n_steps=n_steps, seed=seed
        )
        del model
    return out
