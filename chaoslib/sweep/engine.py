"""The sweep engine behind :mod:`chaoslib.sweep` (read that docstring first).

Foundation level: imports only ``chaoslib.errors`` and ``chaoslib.store`` (and Ray, lazily, for
``executor="ray"``). Trials run in ``_execute``, the same function in both executors, which
returns a plain payload; the driver alone turns payloads into records and writes the store.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from chaoslib.errors import ChaoslibError
from chaoslib.store import TrialStore

EXECUTORS = ("local", "ray")
ON_ERROR = ("raise", "collect")
KEY_LENGTH = 20  # hex digits of sha256: 80 bits, no collision in any sweep this project runs
_ARRAY = "__ndarray__"
_RAY_OPTIONS = ("num_cpus", "num_gpus", "memory")  # the rest of a resources dict: Ray custom resources
Resources = Mapping[str, float] | Callable[[dict], Mapping[str, float]]


# --- settings and their keys -------------------------------------------------------------------------


def _plain(value: Any, where: str) -> Any:
    """JSON values only (tuples become lists, numpy scalars Python numbers); anything else is an error."""
    if isinstance(value, Mapping):
        if not all(isinstance(k, str) for k in value):
            raise ChaoslibError(f"{where} has a non-string key; settings keys must be strings.")
        return {k: _plain(v, f"{where}[{k!r}]") for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v, f"{where}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, np.generic):
        return value.item()
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise ChaoslibError(
        f"{where} is a {type(value).__name__}; trial settings must be JSON values (numbers, strings, bools, "
        f"None, lists, dicts). Describe an object by the parameters that make it (e.g. a model by its name, "
        f"init and seed) and build it inside the trial function."
    )


def canonical_settings(settings: Mapping[str, Any]) -> str:
    """The settings as canonical JSON (sorted keys, no spaces): equal settings give equal text.

    ``1`` and ``1.0`` differ (JSON keeps the type); tuples and lists are the same.
    """
    if not isinstance(settings, Mapping):
        raise ChaoslibError(f"a trial is a dict of settings; got a {type(settings).__name__}: {settings!r}.")
    return json.dumps(_plain(settings, "settings"), sort_keys=True, separators=(",", ":"))


def trial_key(settings: Mapping[str, Any]) -> str:
    """The store key of a trial: the first 20 hex digits of the sha256 of its canonical settings."""
    return hashlib.sha256(canonical_settings(settings).encode()).hexdigest()[:KEY_LENGTH]


# --- results: JSON with numpy arrays kept exactly (dtype and shape) ----------------------------------


def encode_result(value: Any, where: str = "result") -> Any:
    """A trial's result as JSON values; arrays and tensors become ``{"__ndarray__": nested list,
    "dtype", "shape"}`` (floats survive JSON exactly: Python writes the shortest round-trip repr)."""
    if hasattr(value, "detach") and hasattr(value, "numpy"):  # a torch tensor, without importing torch
        value = value.detach().cpu().numpy()
    if isinstance(value, np.ndarray):
        if value.dtype.kind not in "biuf":
            raise ChaoslibError(
                f"{where} is an array of dtype {value.dtype}; return bool, int or float arrays."
            )
        return {_ARRAY: value.tolist(), "dtype": str(value.dtype), "shape": list(value.shape)}
    if isinstance(value, Mapping):
        return {str(k): encode_result(v, f"{where}[{k!r}]") for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [encode_result(v, f"{where}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, np.generic):
        return value.item()
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise ChaoslibError(
        f"the trial function returned a {type(value).__name__} at {where}; return numbers, strings, "
        f"lists, dicts, numpy arrays or torch tensors (the driver stores results as JSON)."
    )


def decode_result(value: Any) -> Any:
    """Inverse of :func:`encode_result`: arrays come back as numpy arrays of their dtype and shape."""
    if isinstance(value, dict):
        if _ARRAY in value:
            return np.array(value[_ARRAY], dtype=value["dtype"]).reshape(value["shape"])
        return {k: decode_result(v) for k, v in value.items()}
    if isinstance(value, list):
        return [decode_result(v) for v in value]
    return value


# --- records ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TrialRecord:
    """One finished trial.

    key: :func:`trial_key` of the settings; settings: the trial's dict; result: what the trial
    function returned (arrays as numpy arrays); elapsed_s, host, pid, executor: where and how long
    it ran; cached: True when it was read from the store instead of run by this call.
    """

    key: str
    settings: dict
    result: dict
    elapsed_s: float
    host: str
    pid: int
    executor: str
    cached: bool = False


@dataclass(frozen=True)
class TrialFailure:
    """A trial that raised (or whose worker died more often than ``max_retries``)."""

    key: str
    settings: dict
    error: str  # "TypeName: message"
    traceback: str = field(repr=False, default="")

    def __str__(self) -> str:
        return f"trial {canonical_settings(self.settings)} failed: {self.error}"


class SweepResult(list):
    """The records in trial order (a list of :class:`TrialRecord`; None where a trial failed).

    failures: the :class:`TrialFailure` of each failed trial; n_run: trials run by this call;
    n_cached: trials read from the store.
    """

    def __init__(self, records, failures, n_run: int, n_cached: int):
        super().__init__(records)
        self.failures: list[TrialFailure] = list(failures)
        self.n_run = n_run
        self.n_cached = n_cached


class SweepFailed(RuntimeError):
    """Raised after every other trial has finished: ``failures`` name each failed trial's settings."""

    def __init__(self, failures: Sequence[TrialFailure], result: SweepResult, store: TrialStore | None):
        self.failures = list(failures)
        self.result = result
        lines = [f"{len(self.failures)} of {len(result)} trials failed:"]
        by_error: dict[str, list[TrialFailure]] = {}
        for failure in self.failures:  # one bad setting fails every trial alike: say it once
            by_error.setdefault(failure.error, []).append(failure)
        for error, group in by_error.items():
            lines.append(f"  - {group[0]}" if len(group) == 1 else f"  - {len(group)} trials failed with: {error}")
        finished = sum(r is not None for r in result)
        if store is not None:
            lines.append(
                f"The other {finished} trials finished and are recorded in {store.root}. Fix the cause "
                f"and run the sweep again: finished trials are not run again."
            )
        else:
            lines.append(
                f"The other {finished} trials finished (pass store=FOLDER to keep them for a rerun)."
            )
        lines.append("Tracebacks: SweepFailed.failures[i].traceback.")
        super().__init__("\n".join(lines))


# --- one trial (runs in the worker) -------------------------------------------------------------------


def _execute(fn: Callable[[dict], Mapping], settings: dict, threads: int | None) -> dict:
    """Run one trial; never raises for the trial's own errors (they come back in the payload)."""
    before = None
    try:
        if threads is not None:
            import torch  # only when asked: the sweep layer itself needs no torch

            before = torch.get_num_threads()
            torch.set_num_threads(int(threads))
        start = time.perf_counter()
        result = fn(dict(settings))
        elapsed = time.perf_counter() - start
        if not isinstance(result, Mapping):
            raise ChaoslibError(f"the trial function returned a {type(result).__name__}; return a dict.")
        return {
            "ok": True,
            "result": encode_result(result),
            "elapsed_s": elapsed,
            "host": socket.gethostname(),
            "pid": os.getpid(),
        }
    except Exception as err:  # reported with the trial's settings by the driver
        return {"ok": False, "error": f"{type(err).__name__}: {err}", "traceback": traceback.format_exc()}
    finally:
        if before is not None:
            import torch

            torch.set_num_threads(before)


# --- the driver --------------------------------------------------------------------------------------


def _as_store(store: TrialStore | str | os.PathLike | None) -> TrialStore | None:
    if store is None or isinstance(store, TrialStore):
        return store
    return TrialStore(store)


def _resources_of(resources: Resources | None, settings: dict) -> dict:
    declared = dict(resources(settings) if callable(resources) else (resources or {"num_cpus": 1}))
    for name, amount in declared.items():
        if not isinstance(amount, (int, float)) or amount < 0:
            raise ChaoslibError(f"resources[{name!r}]={amount!r} must be a non-negative number.")
    return declared


def _check_arguments(executor: str, ray_address: str | None, on_error: str, max_retries: int) -> None:
    if executor not in EXECUTORS:
        raise ChaoslibError(
            f"executor={executor!r}; use 'local' (in this process, one trial after another) or 'ray' "
            f"(one Ray task per trial; papermill: -p executor ray -p ray_address HOST:6379)."
        )
    if ray_address is not None and executor != "ray":
        raise ChaoslibError(
            f"ray_address={ray_address!r} is set but executor={executor!r}; pass executor='ray' to use the "
            f"cluster, or drop ray_address to run here."
        )
    if on_error not in ON_ERROR:
        raise ChaoslibError(f"on_error={on_error!r}; use 'raise' or 'collect'.")
    if max_retries < 0:
        raise ChaoslibError(f"max_retries={max_retries} must be >= 0.")


def run_sweep(
    trials: Sequence[Mapping[str, Any]],
    fn: Callable[[dict], Mapping[str, Any]],
    *,
    executor: str = "local",
    ray_address: str | None = None,
    store: TrialStore | str | os.PathLike | None = None,
    resources: Resources | None = None,
    threads: int | None = None,
    max_retries: int = 3,
    on_error: str = "raise",
    progress: bool = True,
    desc: str = "trials",
) -> SweepResult:
    """Run every trial not yet in ``store``; return their records in trial order.

    Args:
        trials: the settings of each trial (dicts of JSON values). Equal settings are one trial.
        fn: ``fn(settings) -> dict`` runs one trial. For Ray it must be picklable (a module-level
            function, or a ``functools.partial`` of one); it is sent to the cluster once.
        executor: ``"local"`` or ``"ray"`` (see the package docstring).
        ray_address: the cluster (``"HOST:6379"``, ``"auto"``); None starts a local Ray instance.
            Ignored when Ray is already initialised in this process (that connection is used).
        store: folder (or TrialStore) of finished trials; None keeps nothing (no resumption).
        resources: what one task needs on Ray (``{"num_gpus": 1}``, ``{"num_cpus": 2}``; other
            names are Ray custom resources), or ``settings -> dict``. Default one CPU. Unused locally.
        threads: torch threads inside each trial (restored after it); None leaves them as they are.
        max_retries: Ray reruns a trial whose worker died (killed, out of memory) this many times.
        on_error: ``"raise"``: after the other trials finish, raise :class:`SweepFailed`;
            ``"collect"``: return with ``None`` records and ``result.failures``.
        progress: a tqdm bar over trials.
        desc: the bar's label.
    """
    _check_arguments(executor, ray_address, on_error, max_retries)
    store = _as_store(store)
    keys = [trial_key(t) for t in trials]
    unique: dict[str, dict] = {}
    for key, settings in zip(keys, trials, strict=True):
        unique.setdefault(key, json.loads(canonical_settings(settings)))
    records: dict[str, TrialRecord] = {}
    for key, settings in unique.items():
        if store is not None and store.done(key):
            records[key] = _load(store, key, settings)
    todo = [(key, settings) for key, settings in unique.items() if key not in records]
    n_cached = len(records)
    declared = {key: _resources_of(resources, settings) for key, settings in todo}  # checked before any work
    failures: dict[str, TrialFailure] = {}

    from tqdm import tqdm

    bar = tqdm(total=len(unique), initial=n_cached, desc=desc, unit="trial", disable=not progress)

    def finish(key: str, settings: dict, payload: dict) -> None:
        """Driver side: record a returned trial (the only place that writes the store)."""
        if payload["ok"]:
            entry = {"settings": settings, "result": payload["result"]}
            entry["meta"] = {k: payload[k] for k in ("elapsed_s", "host", "pid")} | {"executor": executor}
            if store is not None:
                store.save(key, entry)
            # through JSON in both cases: a record is the same whether it was just run or read back
            records[key] = _record(key, json.loads(json.dumps(entry)), cached=False)
        else:
            failures[key] = TrialFailure(key, settings, payload["error"], payload.get("traceback", ""))
            bar.set_postfix(failed=len(failures))
        bar.update(1)

    try:
        if executor == "local":
            for key, settings in todo:
                finish(key, settings, _execute(fn, settings, threads))
        elif todo:  # nothing left to run: no cluster to connect to
            _run_ray(todo, fn, ray_address, declared, threads, max_retries, finish)
    finally:
        bar.close()
    result = SweepResult(
        [records.get(k) for k in keys],
        [failures[k] for k in unique if k in failures],
        n_run=len(todo) - len(failures),
        n_cached=n_cached,
    )
    if result.failures and on_error == "raise":
        raise SweepFailed(result.failures, result, store)
    return result


def _record(key: str, entry: dict, cached: bool) -> TrialRecord:
    meta = entry.get("meta", {})
    return TrialRecord(
        key=key,
        settings=entry["settings"],
        result=decode_result(entry["result"]),
        elapsed_s=float(meta.get("elapsed_s", float("nan"))),
        host=str(meta.get("host", "")),
        pid=int(meta.get("pid", -1)),
        executor=str(meta.get("executor", "")),
        cached=cached,
    )


def _load(store: TrialStore, key: str, settings: dict) -> TrialRecord:
    entry = store.load(key)
    if canonical_settings(entry.get("settings", {})) != canonical_settings(settings):
        raise ChaoslibError(
            f"{store.path(key)} holds the settings {entry.get('settings')!r}, not {settings!r} "
            f"(an edited file or a hash collision); delete that file to run the trial again."
        )
    return _record(key, entry, cached=True)


# --- Ray -----------------------------------------------------------------------------------------------


def _import_ray():
    try:
        import ray
    except ImportError as err:
        raise ChaoslibError(
            f"executor='ray' needs Ray, which cannot be imported ({err}). Install the extra: "
            f"pip install -e '.[cluster]' (or pip install 'ray>=2.9'), or use executor='local'."
        ) from err
    return ray


def _ray_options(declared: dict, max_retries: int, key: str) -> dict:
    options = {name: declared[name] for name in _RAY_OPTIONS if name in declared}
    options.setdefault("num_cpus", 1)
    custom = {name: amount for name, amount in declared.items() if name not in _RAY_OPTIONS}
    if custom:
        options["resources"] = custom
    return {**options, "max_retries": max_retries, "name": f"trial-{key}"}


def _run_ray(todo, fn, ray_address, declared, threads, max_retries, finish) -> None:
    """One Ray task per trial; results are recorded by ``finish`` as each task returns."""
    ray = _import_ray()
    started_here = not ray.is_initialized()
    if started_here:
        if ray_address is None:
            ray.init(include_dashboard=False)  # a local instance on this machine's cores
        else:
            ray.init(address=ray_address)
    try:
        task = ray.remote(_execute)
        fn_ref = ray.put(fn)  # shipped once, not once per trial
        pending = {}
        for key, settings in todo:
            options = _ray_options(declared[key], max_retries, key)
            pending[task.options(**options).remote(fn_ref, settings, threads)] = (key, settings)
        try:
            while pending:
                done, _ = ray.wait(list(pending), num_returns=1)
                for ref in done:
                    key, settings = pending.pop(ref)
                    try:
                        payload = ray.get(ref)
                    except ray.exceptions.RayError as err:  # the worker died more than max_retries times
                        payload = {"ok": False, "error": f"{type(err).__name__}: {err}", "traceback": ""}
                    finish(key, settings, payload)
        except BaseException:
            for ref in pending:  # interrupted driver: stop the cluster's work too
                ray.cancel(ref, force=True)
            raise
    finally:
        if started_here:
            ray.shutdown()
