"""The trajectory runner: same states as plain iteration, bounded recording, exact resume."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from chaoslib.dynamics.probes import FullState, Internal, StateNorm, TokenSpread, Units
from chaoslib.dynamics.runner import final_state, run_trajectory
from chaoslib.errors import ChaoslibError
from chaoslib.store import load_dataset, save_dataset


def test_records_equal_plain_iteration(tiny_map, encoded):
    x0 = tiny_map.embed(encoded)
    ds = run_trajectory(
        tiny_map,
        x0,
        23,
        probes=[FullState(), Units(tokens=[0, 2], units=[1, 5]), TokenSpread(), StateNorm()],
        block_size=5,
        progress=False,
    )
    assert ds.sizes["step"] == 24 and list(ds.step.values) == list(range(24))
    x, states = x0, [x0]
    for _ in range(23):
        x = tiny_map(x)
        states.append(x)
    ref = torch.stack(states, 1).numpy()  # (batch, step, tokens, hidden)
    np.testing.assert_allclose(ds.state.values, ref, rtol=0, atol=0)
    np.testing.assert_allclose(ds.units.values, ref[:, :, [0, 2]][:, :, :, [1, 5]])
    np.testing.assert_allclose(ds.token_spread.values, ref.std(axis=2).mean(axis=-1), rtol=1e-5)
    np.testing.assert_allclose(
        ds.state_norm.values, np.linalg.norm(ref.reshape(3, 24, -1), axis=-1), rtol=1e-5
    )


def test_internal_probe(tiny_map, encoded):
    x0 = tiny_map.embed(encoded)
    ds = run_trajectory(tiny_map, x0, 4, probes=[Internal("attention_probs", heads=[1])], progress=False)
    probs = ds.attention_probs.values
    assert np.isnan(probs[:, 0]).all()  # no layer has run at t=0
    np.testing.assert_allclose(probs[:, 1:].sum(-1), 1.0, rtol=1e-5)
    _, internals = tiny_map.step_with_internals(tiny_map(x0))
    np.testing.assert_allclose(probs[:, 2], internals["attention_probs"][:, [1]].numpy(), rtol=1e-6)


def test_masked_run_uses_the_mask(tiny_map, encoded):
    x0 = tiny_map.embed(encoded)
    ds = run_trajectory(
        tiny_map, x0, 3, probes=[FullState()], attention_mask=encoded.attention_mask, progress=False
    )
    ref = tiny_map.iterate(x0, 3, encoded.attention_mask)
    np.testing.assert_allclose(ds.state.values[:, -1], ref.numpy())
    assert ds.attrs["attention_mask"] == "masked"


class Interrupt(Exception):
    pass


def test_interrupted_run_resumes_to_identical_records(tiny_map, encoded, tmp_path, monkeypatch):
    x0 = tiny_map.embed(encoded)
    probes = lambda: [TokenSpread(), Units(tokens=[0], units=[0, 1, 2])]  # noqa: E731
    whole = run_trajectory(tiny_map, x0, 60, probes=probes(), block_size=4, save_every=8, progress=False)

    import chaoslib.dynamics.runner as runner

    real_save = runner.save_dataset
    calls = {"n": 0}

    def crash_on_third_chunk(ds, path):
        calls["n"] += 1
        if calls["n"] == 3:
            raise Interrupt
        return real_save(ds, path)

    monkeypatch.setattr(runner, "save_dataset", crash_on_third_chunk)
    with pytest.raises(Interrupt):
        run_trajectory(
            tiny_map, x0, 60, probes=probes(), block_size=4, save_every=8, out_dir=tmp_path, progress=False
        )
    assert final_state(tmp_path)[0] == 16  # two chunks of 8 finished
    monkeypatch.setattr(runner, "save_dataset", real_save)
    resumed = run_trajectory(
        tiny_map, x0, 60, probes=probes(), block_size=4, save_every=8, out_dir=tmp_path, progress=False
    )
    assert list(resumed.step.values) == list(range(61))
    np.testing.assert_array_equal(resumed.token_spread.values, whole.token_spread.values)
    np.testing.assert_array_equal(resumed.units.values, whole.units.values)
    step, x = final_state(tmp_path)
    assert step == 60 and torch.equal(x, tiny_map.iterate(x0, 60))


def test_other_run_in_same_folder_is_refused(tiny_map, encoded, tmp_path):
    x0 = tiny_map.embed(encoded)
    run_trajectory(tiny_map, x0, 5, out_dir=tmp_path, progress=False)
    with pytest.raises(ChaoslibError, match="different run"):
        run_trajectory(tiny_map, x0, 7, out_dir=tmp_path, progress=False)


def test_any_map_works():
    """The runner is not tied to ALBERT: a linear contraction on (batch, tokens, hidden) states."""
    x0 = torch.ones(2, 3, 4)
    ds = run_trajectory(lambda x: 0.5 * x, x0, 10, probes=[StateNorm()], progress=False)
    np.testing.assert_allclose(ds.state_norm.values[0], np.sqrt(12) * 0.5 ** np.arange(11), rtol=1e-6)


def test_saved_dataset_round_trip(tmp_path):
    import xarray as xr

    ds = xr.Dataset(
        {"a": (("step",), np.arange(3.0))}, attrs={"provenance": {"seed": 1, "models": ["x"]}, "n": 3}
    )
    path = save_dataset(ds, tmp_path / "a.nc")
    back = load_dataset(path)
    assert back.attrs["provenance"] == {"seed": 1, "models": ["x"]} and back.attrs["n"] == 3
    np.testing.assert_array_equal(back.a.values, ds.a.values)
