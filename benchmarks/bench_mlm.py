"""MLM by depth: the one-pass sweep over 24 depths vs 24 separate per-depth runs, as a ratio (goal >= 8x).

Both sides use the same code (``MLMDepthSweep``): the one-pass sweep trains the heads of
depths 1..24 (one mode, as one trial of the chapter) from one pass of the deepest encoder per
batch; a separate run of depth d trains the same head on a d-layer encoder. The
separate runs are timed for some depths only (a depth-24 run alone costs about as much as
the whole sweep), and their cost is extrapolated with a least-squares line
``t(d) = a + b d`` (the encoder costs d layer applications, the head a constant); the fit's
largest relative residual is printed so the extrapolation can be judged.

Default sizes: albert-large-v2's architecture (hidden 1024, 16 heads, FFN 4096, vocabulary
30000), random ``mlm`` weights, 128-token blocks, a small batch and a few steps (CPU).

    .venv/bin/python benchmarks/bench_mlm.py [--batch 2] [--steps 3] [--measure 1,2,4,8,16,24]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from chaoslib.data.masking import NGramMasking
from chaoslib.data.tokenization import Encoded
from chaoslib.model.network import load_albert
from chaoslib.tasks.mlm_sweep import MLMDepthSweep


def random_blocks(n: int, n_tokens: int, seed: int) -> Encoded:
    gen = torch.Generator().manual_seed(seed)
    ids = torch.randint(5, 30000, (n, n_tokens), generator=gen)
    ids[:, 0], ids[:, -1] = 2, 3
    return Encoded(ids, torch.zeros_like(ids), torch.ones_like(ids))


def time_fit(model, blocks: Encoded, masking, depths, batch: int, repeats: int) -> float:
    """Best-of-``repeats`` wall time of one epoch over ``blocks`` (len(blocks) / batch steps)."""
    best = float("inf")
    for _ in range(repeats):
        sweep = MLMDepthSweep(
            depths=depths,
            epochs=1,
            batch_size=batch,
            warmup_steps=1,
            seed=0,
        )
        start = time.perf_counter()
        sweep.fit(model, blocks, masking)
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="albert-large-v2")
    parser.add_argument("--max-depth", type=int, default=24)
    parser.add_argument("--batch", type=int, default=2)
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--tokens", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument(
        "--measure", default="1,2,4,8,16,24", help="depths of the separate runs that are timed"
    )
    args = parser.parse_args()

    model, info = load_albert(args.model, head="mlm", init="mlm", seed=0)
    masking = NGramMasking(
        mask_token_id=4, vocab_size=model.config.vocab_size, special_token_ids=[0, 1, 2, 3, 4]
    )
    blocks = random_blocks(args.batch * args.steps, args.tokens, seed=0)
    all_depths = tuple(range(1, args.max_depth + 1))
    print(
        f"{info.label()} (hidden {model.config.hidden_size}, FFN {model.config.intermediate_size}), "
        f"{args.steps} steps of {args.batch} x {args.tokens} tokens, torch {torch.__version__}, "
        f"{torch.get_num_threads()} threads"
    )

    time_fit(model, blocks[: args.batch], masking, (1, 2), args.batch, 1)  # warm-up
    one_pass = time_fit(model, blocks, masking, all_depths, args.batch, args.repeats)
    measured = [int(d) for d in args.measure.split(",")]
    separate = {d: time_fit(model, blocks, masking, (d,), args.batch, args.repeats) for d in measured}

    b, a = np.polyfit(measured, [separate[d] for d in measured], 1)
    fitted = {d: a + b * d for d in measured}
    residual = max(abs(separate[d] - fitted[d]) / separate[d] for d in measured)
    separate_total = sum(a + b * d for d in all_depths)
    print(f"{'depth':>6} {'separate run [s]':>17} {'line a+b*d [s]':>15}")
    for d in measured:
        print(f"{d:>6} {separate[d]:>17.3f} {fitted[d]:>15.3f}")
    print(
        f"line: a = {a:.3f} s (heads, masking, set-up), b = {b:.3f} s per layer; "
        f"largest relative residual {residual:.1%}"
    )
    print(
        f"separate runs, depths 1..{args.max_depth} (extrapolated from {len(measured)} timed): "
        f"{separate_total:.2f} s"
    )
    print(f"one-pass sweep, depths 1..{args.max_depth} (timed):                 {one_pass:.2f} s")
    print(f"RATIO separate / one-pass = {separate_total / one_pass:.1f}x  (goal >= 8x)")
    timed_sum = sum(separate[d] for d in measured)
    print(
        f"(check without extrapolation: the {len(measured)} timed separate runs alone sum to "
        f"{timed_sum:.2f} s = {timed_sum / one_pass:.1f}x the one-pass sweep of all {args.max_depth} depths)"
    )


if __name__ == "__main__":
    main()
