"""Frozen-encoder GLUE sweep over depths 1..D: one trajectory + stacked heads vs one model per depth.

The per-depth baseline is what a sweep without the shared trajectory does: for each depth d,
``AlbertModel(num_hidden_layers=d)`` computes the pooled features of train and dev, then one
head is trained and evaluated. It is measured at a few depths only; its time is fitted as
``t(d) = a + b d`` (least squares) and summed over d = 1..D. Both sides use the same inputs, the
same length-sorted, padding-trimmed batches and the same head training, so the ratio measures
only the sharing of the trajectory and of the head training loop.

    HF_HUB_OFFLINE=1 python benchmarks/bench_glue.py            # small CPU setting
    HF_HUB_OFFLINE=1 python benchmarks/bench_glue.py --model albert-large-v2 --full-size --device cuda \
        --n-train 1000 --n-dev 500
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from chaoslib.data.tokenization import load_tokenizer
from chaoslib.model.albert_map import AlbertMap
from chaoslib.model.network import load_albert
from chaoslib.settings import disable_tf32, resolve_device
from chaoslib.tasks.glue import load_glue
from chaoslib.tasks.glue_features import encode_split, length_batches
from chaoslib.tasks.glue_features import trimmed as _trimmed
from chaoslib.tasks.glue_frozen import frozen_sweep
from chaoslib.tasks.heads import predict_stacked, train_stacked_heads


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


@torch.no_grad()
def pooled_by_transformers(model, enc, batch_size, device):
    out = torch.empty(len(enc), model.config.hidden_size, device=device)
    for rows in length_batches(enc, batch_size):
        e = _trimmed(enc[rows]).to(device)
        out[rows.to(device)] = model(
            input_ids=e.input_ids, attention_mask=e.attention_mask, token_type_ids=e.token_type_ids
        ).pooler_output
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="albert-base-v2")
    p.add_argument(
        "--full-size", action="store_true", help="the model's real size (default: hidden 256, 4 heads)"
    )
    p.add_argument("--device", default="auto")
    p.add_argument("--max-depth", type=int, default=100)
    p.add_argument("--sample-depths", default="1,6,16", help="depths at which the baseline is measured")
    p.add_argument("--n-train", type=int, default=64)
    p.add_argument("--n-dev", type=int, default=32)
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--threads", type=int, default=0, help="torch threads on CPU (0: torch's default)")
    args = p.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    disable_tf32()
    device = resolve_device(args.device)
    size = {} if args.full_size else dict(hidden_size=256, num_attention_heads=4, intermediate_size=1024)
    tokenizer = load_tokenizer()
    train = load_glue("stsb", "train").subsample(args.n_train, seed=0)
    dev = load_glue("stsb", "validation").subsample(args.n_dev, seed=0)
    enc_train, enc_dev = encode_split(tokenizer, train), encode_split(tokenizer, dev)
    labels = torch.from_numpy(train.labels)
    model, info = load_albert(args.model, init="glue", seed=0, device=device, **size)
    fmap = AlbertMap(model)
    depths = list(range(1, args.max_depth + 1))
    print(
        f"{info.label()} {size or 'full size'} on {device}; STS-B {len(train)} train / {len(dev)} dev pairs, "
        f"max_seq_length 64 (trimmed), {args.epochs} epochs, torch threads {torch.get_num_threads()}"
    )

    frozen_sweep(
        fmap, info, tokenizer, train.subsample(8), dev.subsample(8), depths=[1, 2], epochs=1
    )  # warm-up
    sync(device)
    start = time.perf_counter()
    frozen_sweep(fmap, info, tokenizer, train, dev, depths=depths, epochs=args.epochs)
    sync(device)
    t_sweep = time.perf_counter() - start
    print(f"one-trajectory sweep, depths 1..{args.max_depth}: {t_sweep:.2f} s")

    sample = [int(d) for d in args.sample_depths.split(",")]
    times = []
    for d in sample:
        deep, _ = load_albert(args.model, init="glue", seed=0, device=device, num_hidden_layers=d, **size)
        sync(device)
        start = time.perf_counter()
        ftr = pooled_by_transformers(deep, enc_train, 64, device)
        fdv = pooled_by_transformers(deep, enc_dev, 64, device)
        heads, _ = train_stacked_heads(ftr[None], labels, 1, epochs=args.epochs, seed=42)
        predict_stacked(heads, fdv[None])
        sync(device)
        times.append(time.perf_counter() - start)
        print(f"  separate model, depth {d:3d}: {times[-1]:.2f} s")
    a, b = np.polyfit(np.array(sample, float), np.array(times), 1)[::-1]
    t_separate = a * len(depths) + b * sum(depths)
    print(f"fit t(d) = {a:.3f} s + {b:.4f} s * d")
    print(f"  -> sum over d=1..{args.max_depth}: {t_separate:.1f} s (extrapolated)")
    print(f"RATIO separate / one-trajectory = {t_separate / t_sweep:.1f}x  (goal >= 20x)")


if __name__ == "__main__":
    main()
