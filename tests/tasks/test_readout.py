"""The windowed handwriting readout (chaoslib.tasks.readout): prefix-sum solver vs numpy.linalg.lstsq,
the authors' per-pair NMSE by hand, the best-window rule (lengths >= 20), and the driver."""

import numpy as np
import pytest
import torch

from chaoslib.data.glyphs import glyph_targets, mix_targets
from chaoslib.errors import ChaoslibError
from chaoslib.tasks.readout import ReadoutStatistics, WindowedReadout, pair_nmse, readout_statistics
from chaoslib.tasks.readout_run import collect_readout_statistics, token_trajectories

HIDDEN, STEPS = 6, 24


def toy_split(n, seed, layernorm=False):
    """States (n, STEPS, HIDDEN) with structure over time, scores (n,) in [0, 5]."""
    rng = np.random.default_rng(seed)
    scores = rng.uniform(0, 5, n)
    t = np.arange(STEPS)[None, :, None]
    freqs = rng.uniform(0.1, 0.6, HIDDEN)
    states = np.sin(freqs * t + scores[:, None, None]) + 0.3 * rng.standard_normal((n, STEPS, HIDDEN))
    if layernorm:  # rows of a LayerNorm output: exactly collinear with the bias column
        states = (states - states.mean(-1, keepdims=True)) / states.std(-1, keepdims=True)
    return states, scores


def design(states, scores, start, length, mode="velocity"):
    """The explicit least-squares problem of one window: X (n*L, hidden+1), Y (n*L, 2)."""
    window = states[:, start : start + length]
    x = np.concatenate([window, np.ones(window.shape[:2] + (1,))], axis=-1).reshape(-1, HIDDEN + 1)
    y = mix_targets(scores, glyph_targets("U", length, mode), glyph_targets("S", length, mode)).reshape(-1, 2)
    return x, y


def lstsq_window(states, scores, start, length, ridge, mode="velocity"):
    """Reference ridge fit: lstsq on the design matrix and sqrt(alpha) * I rows (bias unpenalised)."""
    x, y = design(states, scores, start, length, mode)
    alpha = ridge * np.sum(x[:, :HIDDEN] ** 2) / HIDDEN
    penalty = np.sqrt(alpha) * np.eye(HIDDEN + 1)[:HIDDEN]
    x_aug, y_aug = np.vstack([x, penalty]), np.vstack([y, np.zeros((HIDDEN, 2))])
    return np.linalg.lstsq(x_aug, y_aug, rcond=None)[0]


def pooled_direct(weights, states, scores, start, length, mode="velocity"):
    """Our pooled, centred NMSE of explicit predictions."""
    x, y = design(states, scores, start, length, mode)
    return np.sum((x @ weights - y) ** 2) / np.sum((y - y.mean(0)) ** 2)


def pair_direct(weights, states, scores, start, length, mode="velocity"):
    """The authors' NMSE written out: per pair sum err^2 / sum target^2 (uncentred), mean over pairs."""
    x, y = design(states, scores, start, length, mode)
    err = ((x @ weights - y) ** 2).reshape(len(scores), -1).sum(1)
    return np.mean(err / (y**2).reshape(len(scores), -1).sum(1))


WINDOWS = [(0, 2), (0, 5), (3, 2), (2, 12), (7, 9), (10, 14), (22, 2), (0, 24)]


@pytest.fixture(scope="module", params=["velocity", "position"])
def fitted(request):
    train, dev = toy_split(40, seed=1), toy_split(25, seed=2)
    readout = WindowedReadout(
        starts=range(0, 24), lengths=range(1, 25), ridge=1e-3, targets=request.param, min_length=4
    )
    readout.fit(readout_statistics(*train, batch_size=16), readout_statistics(*dev), *dev)
    return readout, train, dev


@pytest.mark.parametrize("start,length", WINDOWS)
def test_prefix_sum_solution_equals_lstsq(fitted, start, length):
    readout, train, dev = fitted
    mode = readout.target_mode
    fit = readout.window(start, length)
    reference = lstsq_window(*train, start, length, ridge=1e-3, mode=mode)
    np.testing.assert_allclose(fit.weights, reference, rtol=1e-6, atol=1e-6 * np.abs(reference).max())
    # the grids' dev and train scores equal the errors of explicit predictions
    assert readout.pooled_nmse_.sel(start=start, length=length).item() == pytest.approx(
        pooled_direct(reference, *dev, start, length, mode), rel=1e-6
    )
    assert readout.train_pooled_nmse_.sel(start=start, length=length).item() == pytest.approx(
        pooled_direct(reference, *train, start, length, mode), rel=1e-6
    )
    assert readout.pair_nmse_.sel(start=start, length=length).item() == pytest.approx(
        pair_direct(reference, *dev, start, length, mode), rel=1e-6
    )
    # predict() reads the same steps as the design matrix
    x, _ = design(*dev, start, length)
    np.testing.assert_allclose(fit.predict(dev[0]).reshape(-1, 2), x @ fit.weights, rtol=1e-10, atol=1e-12)


def test_tiny_ridge_approaches_plain_lstsq_when_full_rank():
    train, dev = toy_split(30, seed=3), toy_split(10, seed=4)
    readout = WindowedReadout(starts=[2], lengths=[6], ridge=1e-12, metric="pooled", min_length=1).fit(
        readout_statistics(*train), readout_statistics(*dev)
    )
    x, y = design(*train, 2, 6)
    plain = np.linalg.lstsq(x, y, rcond=None)[0]
    np.testing.assert_allclose(readout.window().weights, plain, rtol=1e-6, atol=1e-8)


def test_layernorm_states_are_solvable_with_the_default_ridge():
    """[h; 1] of LayerNorm rows is singular: the ridge makes it solvable, and lstsq agrees."""
    train, dev = toy_split(30, seed=5, layernorm=True), toy_split(10, seed=6, layernorm=True)
    x, _ = design(*train, 0, 8)
    assert np.linalg.matrix_rank(x) == HIDDEN  # one less than the number of columns
    readout = WindowedReadout(starts=[0], lengths=[8], min_length=8).fit(
        readout_statistics(*train), readout_statistics(*dev), *dev
    )
    reference = lstsq_window(*train, 0, 8, ridge=readout.ridge)
    np.testing.assert_allclose(
        readout.window().weights, reference, rtol=1e-6, atol=1e-6 * np.abs(reference).max()
    )


def test_grid_marks_impossible_windows_and_finds_the_minimum(fitted):
    readout, _, _ = fitted
    nmse = readout.pair_nmse_.values
    starts, lengths = np.meshgrid(readout.starts, readout.lengths, indexing="ij")
    assert np.all(np.isnan(nmse[starts + lengths > STEPS]))
    possible = (starts + lengths <= STEPS) & (lengths >= 2)
    assert np.all(np.isfinite(nmse[possible]))
    # velocity: a closed stroke drawn in one step does not move, so length 1 has no score
    assert np.all(np.isnan(nmse[:, 0])) == (readout.target_mode == "velocity")
    eligible = np.where(lengths >= readout.min_length, nmse, np.nan)
    assert readout.best_nmse_ == np.nanmin(eligible)
    assert (
        readout.pair_nmse_.sel(start=readout.best_start_, length=readout.best_length_).item()
        == readout.best_nmse_
    )
    # the best window's per-pair errors average to its grid entry
    assert readout.pair_errors_.mean().item() == pytest.approx(readout.best_nmse_, rel=1e-9)
    # a readout that sees the score (states carry sin(f t + s)) beats the constant output on train;
    # velocities turn with the stroke, which six toy sinusoids follow less well than positions
    assert np.nanmin(readout.train_pooled_nmse_.values) < (0.5 if readout.target_mode == "position" else 0.95)


def test_pair_nmse_by_hand():
    """Two samples, two steps: sum of squared error over sum of squared target, per sample, uncentred."""
    target = np.array([[[1.0, 0.0], [0.0, 2.0]], [[3.0, 4.0], [0.0, 0.0]]])
    prediction = np.array([[[1.0, 1.0], [0.0, 0.0]], [[3.0, 0.0], [0.0, 0.0]]])
    # sample 0: errors (0, 1), (0, -2) -> 5, target 1 + 4 = 5; sample 1: error (0, -4) -> 16 over 9 + 16
    np.testing.assert_allclose(pair_nmse(prediction, target), [1.0, 16 / 25])
    # a centred denominator would differ: sample 0's targets around their mean (0.5, 1) sum to 2.5
    assert np.sum((target[0] - target[0].mean(0)) ** 2) == 2.5


def test_best_window_ignores_lengths_below_min_length():
    """Short windows that fit better are skipped: the search starts at min_length (the authors' 20)."""
    readout = WindowedReadout(starts=range(3), lengths=range(1, 26))
    assert readout.min_length == 20
    grid = np.full((3, 25), 0.5)
    grid[1, 4] = 0.01  # length 5: the best overall, but too short
    grid[2, 21] = 0.2  # length 22: the best of the eligible windows
    assert readout.best_window(grid) == (2, 22)
    grid[:, 19:] = np.nan
    with pytest.raises(ChaoslibError, match="min_length"):
        readout.best_window(grid)
    with pytest.raises(ChaoslibError, match="min_length"):
        WindowedReadout(lengths=range(1, 11))


def test_best_window_of_a_fit_respects_min_length():
    """On data where a short window wins overall, the fitted best window is still >= min_length."""
    train, dev = toy_split(40, seed=1), toy_split(25, seed=2)
    free = WindowedReadout(starts=range(0, 4), lengths=range(1, 21), min_length=1)
    free.fit(readout_statistics(*train), readout_statistics(*dev), *dev)
    assert free.best_length_ < 20  # the unconstrained minimum is a short window (checked, not assumed)
    strict = WindowedReadout(starts=range(0, 4), lengths=range(1, 21), min_length=20)
    strict.fit(readout_statistics(*train), readout_statistics(*dev), *dev)
    assert strict.best_length_ == 20
    assert strict.best_nmse_ == pytest.approx(np.nanmin(free.pair_nmse_.sel(length=20).values))


def test_statistics_accumulate_over_batches_exactly():
    states, scores = toy_split(20, seed=7)
    whole = ReadoutStatistics().update(states, scores)
    parts = readout_statistics(states, scores, batch_size=7)
    torch.testing.assert_close(parts.gram_prefix, whole.gram_prefix, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(parts.a, whole.a, rtol=1e-12, atol=1e-12)
    assert parts.n_samples == 20


def test_token_trajectories_record_token_zero_of_the_map():
    step = lambda x: torch.tanh(1.5 * x.roll(1, dims=1))  # noqa: E731 a toy map that moves tokens
    x0 = torch.randn(5, 4, 3, generator=torch.Generator().manual_seed(0))
    got = token_trajectories(step, x0, n_steps=6, batch_size=2)
    assert got.shape == (5, 7, 3)
    x = x0
    expected = [x[:, 0]]
    for _ in range(6):
        x = step(x)
        expected.append(x[:, 0])
    np.testing.assert_allclose(got, torch.stack(expected, 1).numpy(), rtol=1e-6)


def test_bad_input_is_rejected():
    with pytest.raises(ChaoslibError, match="ridge"):
        WindowedReadout(ridge=0.0)
    with pytest.raises(ChaoslibError, match="lengths"):
        WindowedReadout(lengths=[0, 1])
    with pytest.raises(ChaoslibError, match="scores"):
        ReadoutStatistics().update(np.zeros((2, 3, 4)), [1.0, 7.0])
    train = readout_statistics(*toy_split(5, seed=0))
    dev = readout_statistics(np.zeros((3, STEPS, HIDDEN + 1)), [1.0, 2.0, 3.0])
    with pytest.raises(ChaoslibError, match="differ"):
        WindowedReadout().fit(train, dev)
    with pytest.raises(ChaoslibError, match="targets"):
        WindowedReadout(targets="acceleration")
    with pytest.raises(ChaoslibError, match="dev states"):
        WindowedReadout(lengths=range(1, 21)).fit(train, readout_statistics(*toy_split(5, seed=1)))


def test_score_blind_levels_equal_the_best_constant_drawings(fitted):
    readout, _, dev = fitted
    states, scores = dev
    for length in (2, 5, 13):
        _, y = design(states, scores, 0, length, readout.target_mode)
        y = y.reshape(len(scores), length, 2)
        blind = np.sum((y - y.mean(0)) ** 2) / np.sum((y - y.reshape(-1, 2).mean(0)) ** 2)
        assert readout.blind_pooled_nmse_.sel(length=length).item() == pytest.approx(blind, rel=1e-10)
        # the pair NMSE's best constant output, found numerically, scores the closed form
        norms = (y**2).sum(axis=(1, 2))
        weighted = (y / norms[:, None, None]).sum(0) / (1 / norms).sum()
        direct = pair_nmse(np.broadcast_to(weighted, y.shape), y).mean()
        assert readout.blind_pair_nmse_.sel(length=length).item() == pytest.approx(direct, rel=1e-10)
        shifted = pair_nmse(np.broadcast_to(weighted + 0.01, y.shape), y).mean()
        assert shifted > direct


def test_collect_statistics_from_an_albert_map_matches_direct_iteration():
    from chaoslib.data.tokenization import encode, load_tokenizer
    from chaoslib.model.albert_map import AlbertMap
    from chaoslib.model.network import load_albert

    model, _ = load_albert(
        "albert-base-v2",
        hidden_size=32,
        num_attention_heads=4,
        intermediate_size=64,
        num_hidden_layers=1,
        seed=0,
    )
    F = AlbertMap(model)
    enc = encode(
        load_tokenizer(),
        ["a cat sat.", "it rains today", "hello"],
        ["a dog sat.", "sun", "hi there"],
        n_tokens=12,
    )
    scores = np.array([4.0, 0.5, 2.0])
    for masked in (False, True):
        stats, states = collect_readout_statistics(
            F, enc, scores, n_steps=5, masked=masked, batch_size=2, keep_states=True
        )
        x = F.embed(enc)
        expected = [x[:, 0]]
        for _ in range(5):
            x = F.step(x, enc.attention_mask if masked else None)
            expected.append(x[:, 0])
        np.testing.assert_allclose(states, torch.stack(expected, 1).numpy(), rtol=1e-5, atol=1e-6)
        reference = ReadoutStatistics().update(states, scores)
        torch.testing.assert_close(stats.gram_prefix, reference.gram_prefix)


@pytest.fixture(scope="module")
def compared():
    """The driver end to end on two tiny random networks and a few STS-B pairs (integer scores)."""
    from chaoslib.model.network import load_albert
    from chaoslib.tasks.readout_run import compare_readouts, load_readout_data

    tiny = dict(hidden_size=16, num_attention_heads=2, intermediate_size=32, num_hidden_layers=1)
    networks = [load_albert("albert-base-v2", seed=s, **tiny) for s in (0, 1)]
    data = load_readout_data(n_train=24, n_dev=10, n_tokens=16, seed=0, integer_scores=True)
    options = dict(starts=range(0, 3), lengths=range(1, 21), min_length=20)
    return compare_readouts(networks, data, options, n_show=1, n_resamples=200), data


def test_compare_readouts_assembles_each_networks_best_window(compared):
    ds, data = compared
    assert np.all(data.dev_scores == np.floor(data.dev.labels))  # the authors' astype(int)
    assert list(ds.network.values) == ["albert-base-v2 random tf #0", "albert-base-v2 random tf #1"]
    assert set(ds.best_length.values) == {20}  # the only length >= min_length
    for network in ds.network.values:
        best = ds.sel(network=network)
        grid_value = best.pair_nmse.sel(start=best.best_start.item(), length=20).item()
        assert best.best_pair_nmse.item() == pytest.approx(grid_value, rel=1e-9)
        assert best.pair_errors.mean().item() == pytest.approx(grid_value, rel=1e-9)
        assert best.best_low.item() <= best.best_pair_nmse.item() <= best.best_high.item()
        # velocity drawings close the letter: L + 1 points, the last back at the first
        np.testing.assert_allclose(
            best.target_drawn.values[:, -1], best.target_drawn.values[:, 0], atol=1e-12
        )
    assert np.isnan(ds.diff_low.values[0]) and np.isfinite(ds.diff_low.values[1])
    assert ds.sizes["point"] == 21 and ds.sizes["shown"] == 3


def test_the_figures_draw_the_drivers_result(compared, tmp_path):
    import matplotlib

    matplotlib.use("agg")
    from chaoslib.book.figures import readout as figures
    from chaoslib.book.reports import readout as report
    from chaoslib.store import load_dataset, save_dataset

    ds = load_dataset(save_dataset(compared[0], tmp_path / "readout.nc"))
    for fig in (figures.nmse_heatmaps(ds), figures.nmse_by_length(ds), figures.drawings(ds)):
        assert fig.axes
    assert report.numbers(ds)["hw_best_length"] == 20
    assert report.caption_extra(ds) == f"STS-B 24 train / 10 dev pairs, N=16, {ds.attrs['targets']} targets"


def test_window_options_span_the_grid_of_starts_and_lengths():
    from chaoslib.tasks.readout_run import window_options

    options = window_options(29, 30, min_length=20, ridge=1e-3, targets="position", metric="pooled")
    assert list(options["starts"]) == list(range(30)) and list(options["lengths"]) == list(range(1, 31))
    readout = WindowedReadout(**options)
    assert (readout.min_length, readout.ridge) == (20, 1e-3)
    assert (readout.target_mode, readout.metric) == ("position", "pooled")
