"""GPU check of the MLM chapter at paper size (albert-large-v2, batch 32 x 128 tokens, depths 1..24).

Prints a compact table: (1) the one-pass states against ``AlbertModel(num_hidden_layers=d)`` on the
GPU (relative error, fp32, TF32 off); (2) seconds per training step of the one-pass sweep over 24
depths (trained + re-initialised heads: 48 heads) and of separate runs of depths 1, 12, 24 (2 heads
each), the resulting ratio (separate runs extrapolated linearly in depth); (3) the projected time of
the paper profile (3 epochs over 9,500 blocks = 891 steps per encoder, two encoders, plus evaluation).
Random ``mlm`` weights: timing does not depend on the values. Finishes in about a minute on an H100.

    .venv/bin/python benchmarks/gpu_mlm.py
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np
import torch
from transformers import AlbertModel

from chaoslib.data.masking import NGramMasking
from chaoslib.data.tokenization import Encoded
from chaoslib.model.albert_map import AlbertMap
from chaoslib.model.network import load_albert
from chaoslib.settings import disable_tf32, resolve_device
from chaoslib.tasks.mlm_heads import depth_states
from chaoslib.tasks.mlm_sweep import MLMDepthSweep

BATCH, TOKENS, MAX_DEPTH, TRAIN_BLOCKS, TEST_BLOCKS, EPOCHS = 32, 128, 24, 9500, 500, 3
SMOKE = dict(
    hidden_size=64, num_attention_heads=2, intermediate_size=128
)  # --smoke: a CPU check of the script


def random_blocks(n: int, seed: int) -> Encoded:
    gen = torch.Generator().manual_seed(seed)
    ids = torch.randint(5, 30000, (n, TOKENS), generator=gen)
    lengths = torch.randint(TOKENS // 2, TOKENS + 1, (n,), generator=gen)
    lengths[: n // 2] = TOKENS
    attention = (torch.arange(TOKENS)[None] < lengths[:, None]).long()
    ids[:, 0] = 2
    ids[torch.arange(n), lengths - 1] = 3
    ids[attention == 0] = 0
    return Encoded(ids, torch.zeros_like(ids), attention)


def seconds_per_step(model, blocks, masking, depths, n_steps: int, max_logits: int) -> float:
    sweep = MLMDepthSweep(
        depths=depths,
        epochs=1,
        batch_size=BATCH,
        warmup_steps=1,
        max_logits=max_logits,
    )
    sweep.fit(model, blocks[slice(0, BATCH)], masking)  # warm-up (kernels, allocator)
    torch.cuda.synchronize() if torch.cuda.is_available() else None
    start = time.perf_counter()
    sweep.fit(model, blocks[slice(0, BATCH * n_steps)], masking)
    torch.cuda.synchronize() if torch.cuda.is_available() else None
    return (time.perf_counter() - start) / n_steps


def main() -> None:
    global BATCH
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--smoke", action="store_true", help="tiny width and batch: check the script on a CPU"
    )
    args = parser.parse_args()
    disable_tf32()
    device = resolve_device("auto")
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"
    if args.smoke:
        BATCH = 4
    model, info = load_albert(
        "albert-large-v2", head="mlm", init="mlm", seed=0, device=device, **(SMOKE if args.smoke else {})
    )
    masking = NGramMasking(mask_token_id=4, vocab_size=30000, special_token_ids=[0, 1, 2, 3, 4])
    blocks = random_blocks(BATCH * 6, seed=0)
    max_logits = 2**28 if device.type == "cuda" else 2**26
    print(
        f"# MLM by depth on {name}: {info.label()} (hidden {model.config.hidden_size}), "
        f"batch {BATCH} x {TOKENS} "
        f"tokens, torch {torch.__version__}"
    )

    # (1) states of the one pass vs transformers, with the attention mask
    sample = blocks[slice(0, 8)].to(device)
    fmap = AlbertMap(model)
    errors = {}
    for depth, x in depth_states(fmap, sample, (1, 12, 24)):
        ref = AlbertModel(model.config.__class__(**{**model.config.to_dict(), "num_hidden_layers": depth}))
        ref.load_state_dict(model.albert.state_dict(), strict=False)
        ref = ref.to(device).eval()
        with torch.no_grad():
            want = ref(
                input_ids=sample.input_ids,
                token_type_ids=sample.token_type_ids,
                attention_mask=sample.attention_mask,
            ).last_hidden_state
        errors[depth] = float((x - want).norm() / want.norm())
    print(
        "states vs AlbertModel(num_hidden_layers=d), rel. error: "
        + ", ".join(f"d={d}: {e:.1e}" for d, e in errors.items())
    )

    # (2) step times
    n_steps = 5 if device.type == "cuda" else 1
    one_pass = seconds_per_step(model, blocks, masking, tuple(range(1, MAX_DEPTH + 1)), n_steps, max_logits)
    measured = (1, 12, 24)
    separate = {d: seconds_per_step(model, blocks, masking, (d,), n_steps, max_logits) for d in measured}
    b, a = np.polyfit(measured, [separate[d] for d in measured], 1)
    separate_total = sum(a + b * d for d in range(1, MAX_DEPTH + 1))
    print(f"{'run':<28}{'s / step':>10}")
    print(f"{'one pass, depths 1..24':<28}{one_pass:>10.4f}")
    for d in measured:
        print(f"{f'separate, depth {d}':<28}{separate[d]:>10.4f}")
    print(f"RATIO separate (1..24, line through 3 depths) / one pass = {separate_total / one_pass:.1f}x")

    # (3) projection of the paper profile
    steps = EPOCHS * math.ceil(TRAIN_BLOCKS / BATCH)
    eval_steps = math.ceil(TEST_BLOCKS / 64)
    per_encoder = steps * one_pass + eval_steps * one_pass  # evaluation: no backward, a generous bound
    print(
        f"paper profile projection: {steps} steps x {one_pass:.3f} s + evaluation = "
        f"{per_encoder / 60:.1f} min "
        f"per encoder, {2 * per_encoder / 60:.1f} min for pretrained + random (data loading not included)"
    )
    if device.type == "cuda":
        print(f"peak GPU memory {torch.cuda.max_memory_allocated(device) / 2**30:.1f} GiB")


if __name__ == "__main__":
    main()
