"""Effective dimension (the participation ratio of the states' covariance) against a numpy SVD of the
centred state matrix."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import tiny_model

from chaoslib.dynamics.effective_dimension import (
    centred_gram,
    effective_dimension,
    effective_dimension_trajectory,
)
from chaoslib.errors import ChaoslibError


def numpy_effective_dimension(x: np.ndarray) -> float:
    """Independent reference: covariance eigenvalues from the singular values of the centred matrix."""
    rows = x.reshape(x.shape[0], -1).astype(np.float64)
    singular = np.linalg.svd(rows - rows.mean(0), compute_uv=False)
    eigenvalues = singular**2 / (rows.shape[0] - 1)
    return eigenvalues.sum() ** 2 / (eigenvalues**2).sum()


def test_known_values():
    # an isotropic simplex of M points spans M - 1 equal directions; a line spans 1
    simplex = torch.eye(5, dtype=torch.float64)
    assert effective_dimension(simplex) == pytest.approx(4.0, rel=1e-12)
    line = torch.arange(7, dtype=torch.float64)[:, None] * torch.tensor([[1.0, -2.0, 3.0]])
    assert effective_dimension(line) == pytest.approx(1.0, rel=1e-12)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_matches_numpy_svd_batched_and_unbatched(dtype):
    generator = torch.Generator().manual_seed(0)
    # anisotropic cloud with a large common offset (centring must be done right)
    scales = torch.logspace(0, -2, 6 * 5, dtype=torch.float64).reshape(6, 5)
    x = (3.0 + torch.randn(23, 6, 5, generator=generator, dtype=torch.float64) * scales).to(dtype)
    reference = numpy_effective_dimension(x.numpy())
    assert 1.5 < reference < 22  # a non-trivial value
    assert effective_dimension(x) == pytest.approx(reference, rel=1e-6)
    batches = list(x.split(7))  # uneven batches: 7, 7, 7, 2
    assert effective_dimension(batches) == pytest.approx(reference, rel=1e-6)
    gram = centred_gram(batches)
    assert torch.allclose(gram, gram.T)
    assert torch.allclose(gram, centred_gram([x]), rtol=1e-12, atol=1e-12)


def _toy_map(x: torch.Tensor) -> torch.Tensor:
    """A fixed nonlinear map on (batch, 3, 4) states; per sample, so batching cannot change it."""
    weight = torch.linspace(-1.0, 1.0, 16, dtype=x.dtype).reshape(4, 4) * 1.7
    return torch.tanh(x @ weight + 0.1 * x.roll(1, dims=1))


@pytest.mark.parametrize("batch_size", [None, 5, 8])
def test_trajectory_matches_reference_on_recorded_states(batch_size):
    generator = torch.Generator().manual_seed(1)
    x0 = torch.randn(17, 3, 4, generator=generator, dtype=torch.float64)
    n_steps = 6
    result = effective_dimension_trajectory(_toy_map, x0, n_steps, batch_size=batch_size)
    states, x = [x0], x0
    for _ in range(n_steps):
        x = _toy_map(x)
        states.append(x)
    reference = np.array([numpy_effective_dimension(s.numpy()) for s in states])
    np.testing.assert_array_equal(result.steps, np.arange(n_steps + 1))
    np.testing.assert_allclose(result.effective_dimension, reference, rtol=1e-6)
    total_variance = [s.reshape(17, -1).var(0, unbiased=True).sum().item() for s in states]
    np.testing.assert_allclose(result.total_variance, total_variance, rtol=1e-10)
    assert result.n_samples == 17 and result.steps_per_second > 0
    ds = result.to_dataset(attrs={"model": "toy"})
    assert ds.effective_dimension.dims == ("step",) and ds.attrs["model"] == "toy"


def test_trajectory_on_albert_passes_mask_per_batch():
    from chaoslib.model.albert_map import AlbertMap

    model, _ = tiny_model(
        init="mlm", seed=0, hidden_size=32, intermediate_size=64, num_hidden_layers=1, embedding_size=16
    )
    albert = AlbertMap(model)
    x0 = torch.randn(10, 6, 32, generator=torch.Generator().manual_seed(2))
    mask = torch.ones(10, 6, dtype=torch.long)
    mask[::2, 4:] = 0
    whole = effective_dimension_trajectory(albert.step, x0, 3, attention_mask=mask)
    batched = effective_dimension_trajectory(albert.step, x0, 3, batch_size=3, attention_mask=mask)
    reference = numpy_effective_dimension(albert.iterate(x0, 3, mask).numpy())
    assert whole.effective_dimension[-1] == pytest.approx(reference, rel=1e-5)
    np.testing.assert_allclose(batched.effective_dimension, whole.effective_dimension, rtol=1e-5)
    unmasked = effective_dimension_trajectory(albert.step, x0, 3)
    assert abs(unmasked.effective_dimension[-1] - whole.effective_dimension[-1]) > 1e-2  # the mask mattered


def test_bad_input():
    with pytest.raises(ChaoslibError, match="at least 2"):
        effective_dimension(torch.zeros(1, 3))
    with pytest.raises(ChaoslibError, match="state shape"):
        effective_dimension([torch.zeros(2, 3), torch.zeros(2, 4)])
    with pytest.raises(ChaoslibError, match="batch_size"):
        effective_dimension_trajectory(_toy_map, torch.zeros(4, 3, 4), 2, batch_size=0)
    with pytest.raises(ChaoslibError, match="attention_mask"):
        effective_dimension_trajectory(_toy_map, torch.zeros(4, 3, 4), 2, attention_mask=torch.ones(3, 3))


def test_compare_networks_effective_dimensions_labels_each_network(tokenizer):
    from chaoslib.data.tokenization import encode
    from chaoslib.model.network import Network
    from chaoslib.studies.analyses import EffectiveDimensions
    from chaoslib.studies.compare import compare_networks, network_map

    texts = ["the cat", "a b c", "one two", "dogs bark", "x y z", "hello", "sat on", "the mat", "it is"]
    encoded = encode(tokenizer, texts, n_tokens=4)
    networks = [Network("albert-wikitext2", "random", init="tf", seed=s) for s in (1, 2)]
    ds = compare_networks(networks, EffectiveDimensions(n_steps=4, batch_size=4), encoded, dtype="float64")
    assert ds.effective_dimension.dims == ("network", "step")
    assert list(ds.network.values) == [n.label() for n in networks]
    step, _, x0, _ = network_map(networks[1], encoded, dtype="float64")
    single = effective_dimension_trajectory(step, x0, 4)
    second = ds.effective_dimension.sel(network=networks[1].label())
    np.testing.assert_allclose(second, single.effective_dimension, rtol=1e-12)
    first = ds.effective_dimension.sel(network=networks[0].label())
    assert not np.allclose(first[1:], single.effective_dimension[1:])


def test_collapsed_cloud_is_flagged_unresolved():
    """A contraction onto a fixed point leaves only rounding noise, whose ED must not be read."""
    x0 = torch.randn(12, 3, 4, generator=torch.Generator().manual_seed(4))
    offset = torch.linspace(1.0, 2.0, 12).reshape(3, 4)
    result = effective_dimension_trajectory(lambda x: 0.5 * x + offset, x0, 60)
    variance = result.total_variance
    # the spread halves each step: the variance falls 4x per step while resolved
    np.testing.assert_allclose(variance[1:6] / variance[:5], 0.25, rtol=1e-4)
    np.testing.assert_allclose(result.relative_variance, variance / result.mean_square_norm)
    assert result.resolved[:10].all() and not result.resolved[-10:].any()
    assert result.state_eps == pytest.approx(torch.finfo(torch.float32).eps)
    assert bool(result.to_dataset().resolved[0]) and not bool(result.to_dataset().resolved[-1])
