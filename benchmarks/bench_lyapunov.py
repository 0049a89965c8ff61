"""Cost of the Lyapunov estimators relative to a plain trajectory (CPU, small sizes).

Goals (printed as ratios, checked by eye, never in a timed test):
- two-trajectory local exponents <= 2.2 x a plain trajectory of the same length and batch
  (both copies ride in one batch, so the ideal is 2x);
- top-k spectrum <= (k + 2) x a plain trajectory (the primal once + k tangents, about 1 + k).

The plain trajectory is ``AlbertMap.iterate`` (no recording), the cheapest possible baseline.
Forward-mode AD has a fixed cost per operation (functorch wrappers; broadcast adds of a
batched tangent go through Python reference decompositions in torch 2.x), so at small widths
the spectrum's ratio is dominated by that overhead and falls as the width grows; two widths are
printed by default to show it.

Run: ``.venv/bin/python benchmarks/bench_lyapunov.py [--hidden 256 512] [--k 8]``.
"""

from __future__ import annotations

import argparse
import time

import torch

from chaoslib.dynamics.lyapunov import local_exponents
from chaoslib.dynamics.spectrum import lyapunov_spectrum
from chaoslib.model.albert_map import AlbertMap
from chaoslib.model.network import load_albert


def best_of(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)  # the machine is shared: the minimum is the least disturbed run


def run(hidden: int, args: argparse.Namespace) -> None:
    model, info = load_albert(
        "albert-base-v2",
        init="tf",
        seed=0,
        hidden_size=hidden,
        num_attention_heads=4,
        intermediate_size=4 * hidden,
        num_hidden_layers=1,
    )
    F = AlbertMap(model)
    gen = torch.Generator().manual_seed(0)
    x0 = torch.randn(args.batch, args.tokens, hidden, generator=gen)
    xs = x0[: args.spectrum_batch]
    F.iterate(x0, 2)  # warm-up

    plain = best_of(lambda: F.iterate(x0, args.steps), args.repeats)
    lle = best_of(
        lambda: local_exponents(F.step, x0, eps=1.0, tau=args.tau, n_steps=args.steps), args.repeats
    )
    plain_s = best_of(lambda: F.iterate(xs, args.steps), args.repeats)
    lyapunov_spectrum(F.step, xs, k=args.k, n_steps=2)  # warm-up (loads the JVP decompositions)
    spec = best_of(lambda: lyapunov_spectrum(F.step, xs, k=args.k, n_steps=args.steps), args.repeats)

    print(
        f"\n{info.label()} hidden={hidden} ffn={4 * hidden} tokens={args.tokens} steps={args.steps} "
        f"threads={torch.get_num_threads()}"
    )
    print(f"{'measure':44s} {'seconds':>9s} {'ratio':>7s} {'goal':>7s}")
    print(f"{'plain trajectory, batch %d' % args.batch:44s} {plain:9.3f} {1.0:7.2f}")
    print(
        f"{'local exponents (two trajectories), batch %d' % args.batch:44s} {lle:9.3f} "
        f"{lle / plain:7.2f} {'<= 2.2':>7s}"
    )
    print(f"{'plain trajectory, batch %d' % args.spectrum_batch:44s} {plain_s:9.3f} {1.0:7.2f}")
    print(
        f"{'top-%d spectrum (JVP + QR), batch %d' % (args.k, args.spectrum_batch):44s} {spec:9.3f} "
        f"{spec / plain_s:7.2f} {'<= %d' % (args.k + 2):>7s}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hidden", type=int, nargs="+", default=[256, 512])
    parser.add_argument("--tokens", type=int, default=32)
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--tau", type=int, default=10)
    parser.add_argument("--k", type=int, default=8)
    parser.add_argument("--spectrum-batch", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1, help="1: steadier timings on a shared machine")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    for hidden in args.hidden:
        run(hidden, args)


if __name__ == "__main__":
    main()
