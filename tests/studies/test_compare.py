"""The one comparison driver: any analysis of a map, on several networks, through the sweep layer."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import xarray as xr

from chaoslib.data.tokenization import encode, load_tokenizer
from chaoslib.dynamics.effective_dimension import effective_dimension_trajectory
from chaoslib.dynamics.lyapunov import chaos_length, local_exponents
from chaoslib.dynamics.probes import TokenSpread
from chaoslib.dynamics.runner import run_trajectory
from chaoslib.errors import ChaoslibError
from chaoslib.model.albert_map import AlbertMap
from chaoslib.model.network import Network
from chaoslib.studies.analyses import (
    EffectiveDimensions,
    EpsSensitivity,
    Exponents,
    Spectrum,
    Synchronisation,
)
from chaoslib.studies.compare import compare_networks, loaded_networks

TINY = {"hidden_size": 32, "num_attention_heads": 2, "intermediate_size": 64, "num_hidden_layers": 2}
TEXTS = ["The cat sat on the mat.", "Chaos in transformers is transient.", "A third sentence, somewhat longer."]


@pytest.fixture(scope="module")
def encoded():
    return encode(load_tokenizer(), TEXTS, n_tokens=8)


def tiny(seed: int, init: str = "tf") -> Network:
    return Network("albert-base-v2", "random", init=init, seed=seed, config=TINY)


def direct(network: Network, encoded):
    model, _ = network.load(dtype="float64")
    the_map = AlbertMap(model)
    return the_map, the_map.embed(encoded)


def test_exponents_of_each_network_equal_a_direct_run(encoded):
    networks = [tiny(0), tiny(1), tiny(2)]
    ds = compare_networks(networks, Exponents(eps=1e-3, tau=5, n_steps=40), encoded, dtype="float64")
    assert list(ds.network.values) == [n.label() for n in networks]
    assert ds.exponent.shape == (3, 3, 8) and list(ds.window_end.values) == [5, 10, 15, 20, 25, 30, 35, 40]
    for i, network in enumerate(networks):
        the_map, x0 = direct(network, encoded)
        run = local_exponents(the_map.step, x0, eps=1e-3, tau=5, n_steps=40)
        np.testing.assert_array_equal(ds.exponent.values[i], run.exponents.numpy())
        length, censored = run.chaos_length()
        assert ds.chaos_length.values[i].tolist() == length.tolist()
        assert ds.chaos_censored.values[i].tolist() == censored.tolist()
    finite = np.where(np.isfinite(ds.exponent), ds.exponent, np.nan)
    np.testing.assert_array_equal(ds.mean_exponent.values, np.nanmean(finite, axis=1))
    assert loaded_networks(ds) == networks and all(n.source == "random" for n in loaded_networks(ds))


def test_synchronisation_and_effective_dimension_equal_direct_runs(encoded):
    network = tiny(3, "mlm")
    the_map, x0 = direct(network, encoded)
    sync = compare_networks([network], Synchronisation(n_steps=10, tau=5, eps=1e-3), encoded, dtype="float64")
    spread = run_trajectory(the_map.step, x0, 10, probes=(TokenSpread(),))["token_spread"].values
    np.testing.assert_array_equal(sync.token_spread.values[0], spread)
    run = local_exponents(the_map.step, x0, eps=1e-3, tau=5, n_steps=10)
    length, censored = chaos_length(run.exponents, 5, 10)
    assert sync.chaos_length.values[0].tolist() == length.tolist()
    ed = compare_networks([network], EffectiveDimensions(n_steps=4), encoded, dtype="float64")
    expected = effective_dimension_trajectory(the_map.step, x0, 4)
    np.testing.assert_array_equal(ed.effective_dimension.values[0], expected.effective_dimension)
    assert ed.attrs["n_samples"] == 3


def test_spectrum_and_eps_sensitivity_run_through_the_driver(encoded):
    from chaoslib.dynamics.lyapunov import eps_sensitivity
    from chaoslib.dynamics.spectrum import lyapunov_spectrum

    network = tiny(4)
    the_map, x0 = direct(network, encoded)
    spectrum = compare_networks([network], Spectrum(k=2, n_steps=4, window=2, n_samples=2), encoded, dtype="float64")
    expected = lyapunov_spectrum(the_map.step, x0[:2], k=2, n_steps=4, window=2)
    np.testing.assert_array_equal(spectrum.exponent.values[0], expected.exponents.numpy())
    assert list(spectrum.window_end.values) == expected.window_steps.tolist()
    sensitivity = compare_networks([network], EpsSensitivity((1e-3, 1e-1), tau=2, n_steps=4, n_samples=2), encoded,
                                   dtype="float64").isel(network=0)
    xr.testing.assert_equal(sensitivity[["exponent", "chaos_length"]].drop_vars("network"),
                            eps_sensitivity(the_map.step, x0[:2], (1e-3, 1e-1), tau=2, n_steps=4)[
                                ["exponent", "chaos_length"]])


def test_inputs_per_network_and_labels(encoded):
    other = encode(load_tokenizer(), TEXTS[::-1], n_tokens=8)
    network = tiny(5)
    ds = compare_networks([network, network], Exponents(eps=1e-3, tau=2, n_steps=4), [encoded, other],
                          labels=["draw 0", "draw 1"], dtype="float64")
    assert list(ds.network.values) == ["draw 0", "draw 1"]
    assert not np.array_equal(ds.exponent.values[0], ds.exponent.values[1])  # other inputs, other exponents
    with pytest.raises(ChaoslibError, match="one distinct label"):
        compare_networks([network, network], Exponents(eps=1e-3, tau=2, n_steps=4), encoded)


def test_store_resumes_and_keys_by_network_and_parameters(encoded, tmp_path, monkeypatch):
    builds = []
    original = Network.load

    def counting(self, *args, **kwargs):
        builds.append(self.seed)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Network, "load", counting)
    analysis = Exponents(eps=1e-3, tau=2, n_steps=6)
    plain = compare_networks([tiny(1), tiny(2)], analysis, encoded, dtype="float64")
    stored = compare_networks([tiny(1), tiny(2)], analysis, encoded, dtype="float64", store_dir=tmp_path)
    again = compare_networks([tiny(1), tiny(2)], analysis, encoded, dtype="float64", store_dir=tmp_path)
    assert builds == [1, 2, 1, 2]  # the third call built nothing
    xr.testing.assert_identical(plain, stored)
    xr.testing.assert_identical(plain, again)
    compare_networks([tiny(1), tiny(3)], analysis, encoded, dtype="float64", store_dir=tmp_path)
    assert builds[4:] == [3]  # only the new network
    compare_networks([tiny(1)], Exponents(eps=1e-2, tau=2, n_steps=6), encoded, dtype="float64", store_dir=tmp_path)
    assert builds[5:] == [1]  # another eps: computed again


def test_bad_settings_are_refused_before_any_network_is_loaded(encoded, monkeypatch):
    monkeypatch.setattr(Network, "load", lambda *a, **k: pytest.fail("no network should be loaded"))
    with pytest.raises(ChaoslibError, match="n_steps=95 must be a positive multiple of tau=10"):
        compare_networks([tiny(i) for i in range(11)], Exponents(eps=1e-2, tau=10, n_steps=95), encoded)
    with pytest.raises(ChaoslibError, match="batch_size must be None"):
        compare_networks([tiny(0)], Exponents(batch_size=2), encoded, attention_mask=True)
    with pytest.raises(ChaoslibError, match="Network descriptions"):
        compare_networks([object()], Exponents(), encoded)


def test_the_mask_is_tiled_over_both_copies():
    encoded = encode(load_tokenizer(), TEXTS, n_tokens=16)  # the short texts are padded
    assert not encoded.attention_mask.all()
    network = tiny(6, "mlm")
    masked = compare_networks([network], Exponents(eps=1e-7, tau=2, n_steps=4), encoded, attention_mask=True,
                              dtype="float64")
    unmasked = compare_networks([network], Exponents(eps=1e-7, tau=2, n_steps=4), encoded, dtype="float64")
    assert np.isfinite(masked.exponent).all()
    assert not np.allclose(masked.exponent, unmasked.exponent)  # the mask changes the dynamics
    the_map, x0 = direct(network, encoded)
    run = local_exponents(lambda x: the_map.step(x, attention_mask=encoded.attention_mask), x0, eps=1e-7, tau=2,
                          n_steps=4)
    np.testing.assert_array_equal(masked.exponent.values[0], run.exponents.numpy())
    assert torch.is_tensor(x0)
