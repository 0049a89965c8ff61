"""The sweep layer: keys, exact results, resumption after kills, failures, and Ray == local.

Trial functions live at module level and reach the Ray workers by value (this module is not
on their path; a library's trial functions are imported there by name). Executions are counted
with append-only marker files written by the trial functions themselves, never by counting
stored results.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import torch
import xarray as xr

from chaoslib.errors import ChaoslibError
from chaoslib.store import TrialStore
from chaoslib.sweep import (
    SweepFailed,
    canonical_settings,
    decode_result,
    encode_result,
    run_sweep,
    trial_key,
)

try:
    import ray

    RAY_MISSING = None
except Exception as err:  # not installed, or broken: either way the Ray tests cannot run
    ray = None
    RAY_MISSING = f"ray is not importable ({err}); install the extra: pip install -e '.[cluster]'"

requires_ray = pytest.mark.skipif(RAY_MISSING is not None, reason=RAY_MISSING or "")
EXECUTORS = ["local", pytest.param("ray", marks=requires_ray)]
TINY = dict(
    hidden_size=32, num_attention_heads=4, intermediate_size=64, num_hidden_layers=1, embedding_size=16
)
TEXTS = ["the cat sat on the mat", "a b c", "ALBERT applies one shared layer again and again."]


@pytest.fixture(scope="module")
def ray_cluster():
    """A local Ray cluster of 2 worker CPUs for the whole module (starting one takes seconds)."""
    if ray is None:
        pytest.skip(RAY_MISSING)
    options = dict(num_cpus=2, include_dashboard=False, log_to_driver=False, object_store_memory=100 * 2**20)
    # Ray workers import functions by module name; this test module is not on their path, so
    # its trial functions and classes travel by value
    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
    try:
        ray.init(**options)
    except Exception:  # Ray waits 30 s at most for its raylet; an overloaded machine can miss that once
        ray.shutdown()
        ray.init(**options)
    yield ray
    ray.shutdown()


@pytest.fixture
def use(request):
    """Parametrised executor name; starts the module's Ray cluster when it is "ray"."""
    if request.param == "ray":
        request.getfixturevalue("ray_cluster")
    return request.param


# --- trial functions (module level, so Ray workers can import them) -----------------------------------


def _mark(settings: dict, event: str) -> int:
    """Append ``event pid`` to this trial's marker file; returns how often the trial has started."""
    path = Path(settings["markers"]) / f"{settings['x']}.log"
    with path.open("a") as handle:
        handle.write(f"{event} {os.getpid()}\n")
    return sum(line.startswith("start") for line in path.read_text().splitlines())


def _events(markers: Path, x: int) -> list[str]:
    path = markers / f"{x}.log"
    return [line.split()[0] for line in path.read_text().splitlines()] if path.exists() else []


def marked_trial(settings: dict) -> dict:
    """x -> x**2 and a float64 array; blocks on its FIRST start when settings["block"] (to be killed)."""
    starts = _mark(settings, "start")
    if settings.get("block") and starts == 1:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:  # the test kills this process meanwhile
            time.sleep(0.05)
    if settings.get("fail"):
        raise ValueError(f"x={settings['x']} is not allowed")
    x = settings["x"]
    _mark(settings, "end")
    return {"square": x * x, "sines": np.sin(np.arange(4) * x / 7.0)}


def albert_map_trial(settings: dict) -> dict:
    """A real trial: a tiny random ALBERT (real code path, real tokenizer), iterated n_steps times.

    Returns the final states (samples, tokens, hidden) in float32, their norms at every step
    (steps + 1, samples) and the network's Network.
    """
    from chaoslib.data.tokenization import encode, load_tokenizer
    from chaoslib.model.albert_map import AlbertMap
    from chaoslib.model.network import load_albert

    model, info = load_albert(
        "albert-base-v2", weights="random", init=settings["init"], seed=settings["seed"], **TINY
    )
    albert = AlbertMap(model)
    x = albert.embed(encode(load_tokenizer(), TEXTS, n_tokens=settings["n_tokens"]))
    norms = [torch.linalg.vector_norm(x.flatten(1), dim=1)]
    for _ in range(settings["n_steps"]):
        x = albert.step(x)
        norms.append(torch.linalg.vector_norm(x.flatten(1), dim=1))
    return {
        "state": x,
        "norms": torch.stack(norms),
        "threads": torch.get_num_threads(),
        "info": info.as_dict(),
    }


# --- keys and results ----------------------------------------------------------------------------------


def test_key_is_the_hash_of_canonical_settings():
    a = {"task": "stsb", "depth": 12, "lr": 1e-5, "seeds": (0, 1)}
    b = {"seeds": [0, 1], "lr": 0.00001, "depth": 12, "task": "stsb"}  # other order, list for tuple
    assert canonical_settings(a) == '{"depth":12,"lr":1e-05,"seeds":[0,1],"task":"stsb"}'
    assert trial_key(a) == trial_key(b)
    import hashlib

    assert trial_key(a) == hashlib.sha256(canonical_settings(a).encode()).hexdigest()[:20]
    assert trial_key({**a, "depth": 13}) != trial_key(a)
    assert trial_key({**a, "depth": 12.0}) != trial_key(a)  # JSON keeps int and float apart
    with pytest.raises(ChaoslibError, match=r"settings\['model'\] is a Linear"):
        trial_key({"model": torch.nn.Linear(2, 2)})
    with pytest.raises(ChaoslibError, match="dict of settings"):
        trial_key([("depth", 1)])


def test_results_survive_json_exactly():
    rng = np.random.default_rng(0)
    result = {
        "f64": rng.standard_normal((3, 4)),
        "f32": rng.standard_normal(5).astype(np.float32),
        "flags": np.array([True, False]),
        "special": np.array([np.inf, -np.inf, np.nan, 5e-324]),
        "tensor": torch.arange(6, dtype=torch.int64).reshape(2, 3),
        "nested": [{"a": np.float32(0.1)}, 3, "x", None],
    }
    back = decode_result(json.loads(json.dumps(encode_result(result))))
    for name in ("f64", "f32", "flags", "special"):
        assert back[name].dtype == result[name].dtype and back[name].shape == result[name].shape
        np.testing.assert_array_equal(back[name], result[name])  # bit for bit, NaN where NaN
    np.testing.assert_array_equal(back["tensor"], result["tensor"].numpy())
    assert back["nested"] == [{"a": float(np.float32(0.1))}, 3, "x", None]
    with pytest.raises(ChaoslibError, match=r"result\['bad'\]"):
        encode_result({"bad": object()})


def test_bad_arguments_name_the_fix(tmp_path):
    with pytest.raises(ChaoslibError, match="executor='dask'"):
        run_sweep([{"x": 1}], marked_trial, executor="dask")
    with pytest.raises(ChaoslibError, match="executor='ray'"):
        run_sweep([{"x": 1}], marked_trial, ray_address="10.0.0.1:6379")
    with pytest.raises(ChaoslibError, match="num_gpus"):
        run_sweep([{"x": 1, "markers": str(tmp_path)}], marked_trial, resources={"num_gpus": -1})
    assert not list(tmp_path.iterdir())  # checked before any trial ran


# --- the local executor: resumption and failures ------------------------------------------------------


def test_finished_trials_are_never_run_again(tmp_path):
    markers = tmp_path / "markers"
    markers.mkdir()
    trials = [{"x": x, "markers": str(markers)} for x in range(4)]
    first = run_sweep(trials[:2], marked_trial, store=tmp_path / "store", progress=False)
    assert [r.result["square"] for r in first] == [0, 1] and first.n_run == 2
    # the whole list, with a duplicate: the two finished ones are read back, the duplicate runs once
    second = run_sweep(trials + [dict(trials[3])], marked_trial, store=tmp_path / "store", progress=False)
    assert second.n_cached == 2 and second.n_run == 2
    assert [r.cached for r in second] == [True, True, False, False, False]
    assert second[3] is second[4]
    for x in range(4):
        assert _events(markers, x) == ["start", "end"]
    # a record read back equals the one returned when it ran
    assert first[1].result["sines"].tolist() == second[1].result["sines"].tolist()
    assert {r["settings"]["x"] for r in TrialStore(tmp_path / "store").all()} == {0, 1, 2, 3}


def test_progress_bar_counts_trials(tmp_path, capsys):
    trials = [{"x": x, "markers": str(tmp_path)} for x in range(3)]
    run_sweep(trials, marked_trial, progress=True, desc="squares")
    err = capsys.readouterr().err
    assert "squares" in err and "3/3" in err
    run_sweep(trials, marked_trial, progress=False)
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize("use", EXECUTORS, indirect=True)
def test_a_failing_trial_is_reported_with_its_settings_and_the_others_finish(use, tmp_path):
    markers = tmp_path / "markers"
    markers.mkdir()
    trials = [{"x": x, "markers": str(markers), "fail": x == 2} for x in range(4)]
    with pytest.raises(SweepFailed) as failed:
        run_sweep(trials, marked_trial, executor=use, store=tmp_path / "store", progress=False)
    message = str(failed.value)
    assert "1 of 4 trials failed" in message
    assert canonical_settings(trials[2]) in message and "ValueError: x=2 is not allowed" in message
    assert "marked_trial" in failed.value.failures[0].traceback
    assert [r is None for r in failed.value.result] == [False, False, True, False]
    for x in (0, 1, 3):
        assert _events(markers, x) == ["start", "end"]
    assert sorted(r["settings"]["x"] for r in TrialStore(tmp_path / "store").all()) == [0, 1, 3]
    # collected instead of raised
    collected = run_sweep(trials, marked_trial, executor=use, store=tmp_path / "store", on_error="collect")
    assert [f.settings["x"] for f in collected.failures] == [2] and collected.n_cached == 3
    for x in (0, 1, 3):
        assert _events(markers, x) == ["start", "end"]  # finished trials were not rerun
    assert _events(markers, 2) == ["start", "start"]  # the failed one was tried again


def test_driver_killed_mid_trial_then_rerun_records_every_trial_once(tmp_path):
    """A driver process killed with SIGKILL while trial 2 runs; the rerun completes the sweep."""
    markers, store = tmp_path / "markers", tmp_path / "store"
    markers.mkdir()
    trials = [{"x": x, "markers": str(markers), "block": x == 2} for x in range(5)]
    script = (
        "import json, sys\n"
        f"sys.path.insert(0, {str(Path(__file__).parent)!r})\n"
        "from test_sweep import marked_trial\n"
        "from chaoslib.sweep import run_sweep\n"
        f"run_sweep(json.loads({json.dumps(trials)!r}), marked_trial, store={str(store)!r}, progress=False)\n"
    )
    driver = subprocess.Popen([sys.executable, "-c", script], env={**os.environ, "HF_HUB_OFFLINE": "1"})
    try:
        deadline = time.monotonic() + 240
        while _events(markers, 2) != ["start"]:
            assert driver.poll() is None, "the driver ended before trial 2 started"
            assert time.monotonic() < deadline, "trial 2 never started"
            time.sleep(0.05)
        driver.send_signal(signal.SIGKILL)
    finally:
        driver.kill()
        driver.wait()
    before = {r["settings"]["x"]: r for r in TrialStore(store).all()}
    assert sorted(before) == [0, 1]  # finished before the kill and recorded by the driver
    result = run_sweep(trials, marked_trial, store=store, progress=False)
    assert result.n_cached == 2 and result.n_run == 3
    for x in (0, 1, 3, 4):
        assert _events(markers, x) == ["start", "end"]  # 0, 1 not rerun; 3, 4 run once
    assert _events(markers, 2) == ["start", "start", "end"]  # killed once, then finished once
    after = {r["settings"]["x"]: r for r in TrialStore(store).all()}
    assert sorted(after) == [0, 1, 2, 3, 4]
    for x in (0, 1):
        assert after[x] == before[x]  # the old records, written by the killed driver, untouched
        assert after[x]["meta"]["pid"] == driver.pid
    assert [r.result["square"] for r in result] == [0, 1, 4, 9, 16]


# --- Ray ----------------------------------------------------------------------------------------------


@requires_ray
def test_a_worker_killed_mid_trial_is_retried_and_recorded_once(ray_cluster, tmp_path):
    markers, store = tmp_path / "markers", tmp_path / "store"
    markers.mkdir()
    trials = [{"x": x, "markers": str(markers), "block": x == 1} for x in range(4)]
    killed = []

    def kill_trial_1():
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            lines = (markers / "1.log").read_text().split() if (markers / "1.log").exists() else []
            if len(lines) >= 2:  # "start PID" written
                killed.append(int(lines[1]))
                os.kill(killed[0], signal.SIGKILL)  # the Ray worker process running trial 1
                return
            time.sleep(0.05)

    killer = threading.Thread(target=kill_trial_1)
    killer.start()
    result = run_sweep(trials, marked_trial, executor="ray", store=store, progress=False)
    killer.join()
    assert killed and killed[0] != os.getpid()
    assert _events(markers, 1) == ["start", "start", "end"]  # retried by Ray on another worker
    for x in (0, 2, 3):
        assert _events(markers, x) == ["start", "end"]
    assert result[1].pid != killed[0] and result[1].result["square"] == 1
    records = TrialStore(store).all()
    assert sorted(r["settings"]["x"] for r in records) == [0, 1, 2, 3]
    again = run_sweep(trials, marked_trial, executor="ray", store=store, progress=False)
    assert again.n_cached == 4 and again.n_run == 0
    assert sum(len(_events(markers, x)) for x in range(4)) == 9  # nothing ran again


@requires_ray
def test_albert_sweep_gives_identical_records_locally_and_on_two_ray_workers(ray_cluster, tmp_path):
    trials = [
        {"init": init, "seed": seed, "n_tokens": 8, "n_steps": 6} for init in ("tf", "mlm") for seed in (0, 1)
    ]
    local = run_sweep(trials, albert_map_trial, store=tmp_path / "local", threads=1, progress=False)
    remote = run_sweep(
        trials, albert_map_trial, executor="ray", store=tmp_path / "ray", threads=1, progress=False
    )
    assert {r.executor for r in local} == {"local"} and {r.executor for r in remote} == {"ray"}
    assert {r.pid for r in local} == {os.getpid()} and os.getpid() not in {r.pid for r in remote}
    for a, b in zip(local, remote, strict=True):
        assert a.key == b.key and a.settings == b.settings
        assert a.result.keys() == b.result.keys()
        assert a.result["threads"] == b.result["threads"] == 1
        assert a.result["info"] == b.result["info"] and a.result["info"]["seed"] == a.settings["seed"]
        for name in ("state", "norms"):
            assert a.result[name].dtype == b.result[name].dtype == np.float32
            np.testing.assert_array_equal(a.result[name], b.result[name])  # bit for bit
    assert local[0].result["state"].shape == (3, 8, 32) and local[0].result["norms"].shape == (7, 3)
    assert not np.allclose(local[0].result["state"], local[1].result["state"])  # the seeds matter
    # the stored files agree too, apart from where and how long each trial ran
    for a, b in zip(TrialStore(tmp_path / "local").all(), TrialStore(tmp_path / "ray").all(), strict=True):
        assert (a["key"], a["settings"], a["result"]) == (b["key"], b["settings"], b["result"])


# --- the comparison driver on the sweep layer (its local behaviour: tests/test_compare.py) --------------


@requires_ray
def test_comparison_driver_on_ray_equals_local(ray_cluster, one_thread):
    """compare_networks with executor="ray" gives the local datasets (analyses of exponents, synchronisation,
    effective dimension) and the loaded networks' records, built in the workers."""
    from chaoslib.data.tokenization import encode, load_tokenizer
    from chaoslib.model.network import Network
    from chaoslib.studies.analyses import EffectiveDimensions, Exponents, Synchronisation
    from chaoslib.studies.compare import compare_networks

    encoded = encode(load_tokenizer(), TEXTS[:2], n_tokens=8)
    networks = [Network("albert-base-v2", "random", init="tf", seed=s, config=TINY) for s in (1, 2)]
    for analysis in (Exponents(eps=1e-3, tau=2, n_steps=6), Synchronisation(n_steps=6, tau=2, eps=1e-3),
                     EffectiveDimensions(n_steps=5)):
        local = compare_networks(networks, analysis, encoded, dtype="float64")
        remote = compare_networks(networks, analysis, encoded, dtype="float64", executor="ray")
        timing = [v for v in ("steps_per_second",) if v in local]
        xr.testing.assert_identical(local.drop_vars(timing), remote.drop_vars(timing))
