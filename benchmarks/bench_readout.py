"""The handwriting readout's window grid: prefix-sum solve vs refitting every window with lstsq.

The grid is window start 0..100 x length 1..100 = 10,100 ridge regressions. The
prefix-sum solver builds per-step Gram statistics once and solves every window from them; the
naive way builds each window's design matrix (samples * length rows) and calls
``numpy.linalg.lstsq``. The naive time is measured on a seeded random sample of windows and
extrapolated to the whole grid (its cost per window grows with the window length, and the
sample is uniform over the grid, so the mean is unbiased).

    python benchmarks/bench_readout.py [--samples 256] [--hidden 128] [--sample-windows 40] [--device cpu]
    # the paper's size on a GPU (both sides on the GPU):
    python benchmarks/bench_readout.py --device cuda --samples 5749 --hidden 1024 --sample-windows 10

Prints the two times and their ratio, and checks that both give the same weights on the sample.
Both sides run with the same number of BLAS/torch threads (``BENCH_THREADS``, default 1): on a
shared, oversubscribed machine multi-threaded BLAS calls on small matrices slow down by 10-100x,
which would measure the contention, not the algorithms.
"""

from __future__ import annotations

import os

THREADS = os.environ.get("BENCH_THREADS", "1")
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = THREADS  # before numpy/torch load their BLAS

import argparse  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402

from chaoslib.data.glyphs import glyph, glyph_targets, mix_targets  # noqa: E402
from chaoslib.tasks.readout import WindowedReadout, readout_statistics  # noqa: E402


def synthetic_split(n: int, steps: int, hidden: int, seed: int):
    """States (n, steps, hidden) with a score-dependent temporal structure, scores (n,)."""
    rng = np.random.default_rng(seed)
    scores = rng.uniform(0, 5, n)
    freqs = rng.uniform(0.02, 0.3, hidden)
    t = np.arange(steps)[None, :, None]
    states = np.sin(freqs * t + scores[:, None, None]) + 0.5 * rng.standard_normal((n, steps, hidden))
    return states.astype(np.float32), scores


def lstsq_window(states, scores, start, length, ridge, device="cpu"):
    """One window refitted from scratch: explicit design matrix + sqrt(alpha) rows, then lstsq.

    CPU: ``numpy.linalg.lstsq``; another device: ``torch.linalg.lstsq`` there (QR, ``gels``), so
    that both sides of the ratio run on the same hardware.
    """
    hidden = states.shape[-1]
    window = states[:, start : start + length].astype(np.float64)
    x = np.concatenate([window, np.ones(window.shape[:2] + (1,))], axis=-1).reshape(-1, hidden + 1)
    y = mix_targets(scores, glyph_targets("U", length), glyph_targets("S", length)).reshape(-1, 2)
    alpha = ridge * np.sum(x[:, :hidden] ** 2) / hidden
    x_aug = np.vstack([x, np.sqrt(alpha) * np.eye(hidden + 1)[:hidden]])
    y_aug = np.vstack([y, np.zeros((hidden, 2))])
    if device == "cpu":
        return np.linalg.lstsq(x_aug, y_aug, rcond=None)[0]
    solution = torch.linalg.lstsq(
        torch.as_tensor(x_aug, device=device), torch.as_tensor(y_aug, device=device)
    ).solution
    return solution.cpu().numpy()  # .cpu() synchronises, so the timing is honest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=256, help="train samples (dev: a quarter)")
    parser.add_argument("--hidden", type=int, default=128)
    parser.add_argument("--sample-windows", type=int, default=40, help="windows refitted with lstsq")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(int(THREADS))

    # velocity targets (the default); the pooled score, which needs no dev states: the solve is timed
    readout = WindowedReadout(starts=range(0, 101), lengths=range(1, 101), ridge=1e-4, metric="pooled")
    steps = readout.steps_needed
    train = synthetic_split(args.samples, steps, args.hidden, args.seed)
    dev = synthetic_split(max(args.samples // 4, 2), steps, args.hidden, args.seed + 1)
    n_windows = len(readout.starts) * len(readout.lengths)
    glyph("U", 2), glyph("S", 2)  # load the font outside the timings

    tic = time.perf_counter()
    train_stats = readout_statistics(*train, device=args.device)
    dev_stats = readout_statistics(*dev, device=args.device)
    readout.fit(train_stats, dev_stats)
    if args.device.startswith("cuda"):
        torch.cuda.synchronize()
    prefix_s = time.perf_counter() - tic

    rng = np.random.default_rng(args.seed)
    # lengths from 2: a closed stroke drawn in one step has zero velocity (nothing to compare)
    windows = [(int(rng.integers(0, 101)), int(rng.integers(2, 101))) for _ in range(args.sample_windows)]
    tic = time.perf_counter()
    refits = [lstsq_window(*train, s, length, readout.ridge, args.device) for s, length in windows]
    naive_per_window = (time.perf_counter() - tic) / len(windows)
    naive_s = naive_per_window * n_windows

    worst = max(
        np.abs(readout.window(s, length).weights - w).max() / np.abs(w).max()
        for (s, length), w in zip(windows, refits, strict=True)
    )
    print(
        f"grid: {n_windows} windows (start 0..100, length 1..100), {args.samples} train samples, "
        f"hidden {args.hidden}, device {args.device}, {THREADS} thread(s)"
    )
    print(f"prefix-sum statistics + all windows : {prefix_s:9.2f} s (measured)")
    print(
        f"lstsq refit of every window         : {naive_s:9.2f} s "
        f"(extrapolated from {len(windows)} windows, {naive_per_window * 1e3:.1f} ms each)"
    )
    print(f"speed-up (lstsq / prefix-sum)       : {naive_s / prefix_s:9.1f} x")
    print(f"max relative weight difference on the sampled windows: {worst:.1e}")


if __name__ == "__main__":
    main()
