"""One driver for every comparison of networks: an analysis of a map, run on each network.

Each network is one trial of :func:`chaoslib.sweep.run_sweep`, so a comparison runs in this process
(``executor="local"``, one network after another, one in memory at a time) or one Ray task per network
(``executor="ray"``), and with ``store_dir`` a rerun skips the networks already finished. A trial's key is the
analysis's name and parameters, the network's :meth:`~chaoslib.model.network.Network.key` (with a digest of
its weight files), a digest of its inputs, the masking, device and dtype.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from functools import partial
from typing import Any

import numpy as np

from chaoslib.data.tokenization import Encoded
from chaoslib.errors import ChaoslibError
from chaoslib.model.network import Network
from chaoslib.studies.analyses import Analysis
from chaoslib.sweep import run_sweep


def inputs_digest(encoded: Encoded) -> str:
    """sha256 (20 hex digits) of the inputs' token ids, token types and mask, shapes and dtypes included."""
    digest = hashlib.sha256()
    for name in ("input_ids", "token_type_ids", "attention_mask"):
        tensor = getattr(encoded, name).detach().cpu().contiguous()
        digest.update(f"{name}{tuple(tensor.shape)}{tensor.dtype}".encode())
        digest.update(tensor.numpy().tobytes())
    return digest.hexdigest()[:20]


def network_map(
    network: Network,
    inputs: Encoded,
    attention_mask: bool = False,
    device: Any = "cpu",
    dtype: Any = "float32",
    data_dir: str | os.PathLike | None = None,
):
    """Load ``network`` and embed ``inputs``: ``(step, the map, x0, the loaded Network)``.

    x0: (samples, tokens, hidden). With ``attention_mask=True`` the inputs' mask is bound to ``step`` (so the
    inputs cannot be split into chunks afterwards)."""
    from chaoslib.settings import resolve_device

    device = resolve_device(device)
    the_map, loaded = network.load_map(device=device, dtype=dtype, data_dir=data_dir)
    x0 = the_map.embed(inputs.to(device))
    step = the_map.step
    if attention_mask:
        step = partial(the_map.step, attention_mask=inputs.attention_mask.to(device))
    return step, the_map, x0, loaded


def _trial(settings: dict, subjects: dict, analysis: Analysis, options: dict, progress: bool) -> dict:
    """Worker side (a sweep trial): load one network, run the analysis, return arrays and the loaded network."""
    network, inputs = subjects[settings["label"]]
    step, _, x0, loaded = network_map(network, inputs, **options)
    result = dict(analysis.run(step, x0, progress))
    result["network_record"] = loaded.as_dict()
    return result


def compare_networks(
    networks: Sequence[Network],
    analysis: Analysis,
    inputs: Encoded | Sequence[Encoded],
    labels: Sequence[str] | None = None,
    attention_mask: bool = False,
    device: Any = "cpu",
    dtype: Any = "float32",
    data_dir: str | os.PathLike | None = None,
    executor: str = "local",
    ray_address: str | None = None,
    store_dir: str | os.PathLike | None = None,
    progress: bool = False,
):
    """Run ``analysis`` on every network, on the same inputs (or one input set per network).

    Args:
        networks: the networks, e.g. :func:`chaoslib.model.network.reference_and_comparisons`.
        analysis: an :class:`~chaoslib.studies.analyses.Analysis` (``Exponents``, ``Synchronisation``,
            ``EffectiveDimensions``).
        inputs: the encoded inputs (samples, tokens), or one per network.
        labels: the ``network`` coordinate (default each network's label; give labels when one network
            appears twice, e.g. on two input draws).
        attention_mask: bind the inputs' mask to the map (pads inactive); default pads active, as the authors.
        device, dtype, data_dir: where the networks are loaded, in which precision, the offline data folder.
        executor: ``"local"`` or ``"ray"`` (one Ray task per network); ray_address: the cluster (None: a local
            Ray instance); store_dir: keep each finished network's result, a rerun skips it.
        progress: a bar over networks (and the analysis's own bars in-process).

    Returns:
        ``xarray.Dataset`` with the analysis's variables along a leading ``network`` dimension, its coordinates
        and attributes, and ``attrs["networks"]``: the loaded networks' records (``Network.as_dict``), in order.
        ``.networks`` of the returned dataset's attrs gives the same as :class:`Network` via ``loaded_networks``.
    """
    import xarray as xr

    networks = list(networks)
    if not networks:
        raise ChaoslibError("networks is empty; pass the networks to compare (e.g. reference_and_comparisons(...)).")
    if not all(isinstance(n, Network) for n in networks):
        raise ChaoslibError("networks must be chaoslib.model.network.Network descriptions, not models or dicts.")
    if isinstance(inputs, Encoded):
        inputs = [inputs] * len(networks)
    inputs = list(inputs)
    if len(inputs) != len(networks):
        raise ChaoslibError(f"inputs: {len(inputs)} input sets for {len(networks)} networks; give one, or one each.")
    labels = [n.label() for n in networks] if labels is None else [str(label) for label in labels]
    if len(set(labels)) != len(labels) or len(labels) != len(networks):
        raise ChaoslibError(f"labels {labels} must be one distinct label per network (pass labels=...).")
    analysis.check()
    if attention_mask and analysis.chunks_inputs and getattr(analysis, "batch_size", None) is not None:
        # the mask is bound to all inputs at once; a chunk of inputs would be paired with the wrong rows
        raise ChaoslibError("batch_size must be None with attention_mask=True (the mask covers all inputs).")
    device_name = str(device)
    options = dict(attention_mask=bool(attention_mask), device=device, dtype=dtype, data_dir=data_dir)
    trials = [
        {
            "analysis": analysis.name,
            "label": label,
            "network": network.key(),
            "inputs": inputs_digest(encoded),
            "attention_mask": bool(attention_mask),
            "device": device_name,
            "dtype": str(dtype).removeprefix("torch."),
            **analysis.parameters(),
        }
        for label, network, encoded in zip(labels, networks, inputs, strict=True)
    ]
    subjects = {label: (network, encoded) for label, network, encoded in zip(labels, networks, inputs, strict=True)}
    records = run_sweep(
        trials,
        partial(_trial, subjects=subjects, analysis=analysis, options=options,
                progress=progress and executor == "local"),
        executor=executor,
        ray_address=ray_address,
        store=store_dir,
        resources={"num_gpus": 1} if device_name.startswith("cuda") else {"num_cpus": 1},
        progress=progress,
        desc=analysis.name,
    )
    results = [record.result for record in records]
    ds = xr.Dataset(
        {
            name: (("network", *dims), np.stack([np.asarray(r[name]) for r in results]))
            for name, dims in analysis.variables.items()
        },
        coords={"network": labels, **analysis.coords(results[0])},
        attrs=analysis.attrs(results[0]),
    )
    ds = analysis.finish(ds)
    ds.attrs["networks"] = [r["network_record"] for r in results]
    return ds


def loaded_networks(ds) -> list[Network]:
    """The networks of a :func:`compare_networks` dataset, as loaded (``source`` filled in), in order."""
    return [Network.from_dict(record) for record in ds.attrs["networks"]]
