"""GPU check of the GLUE chapter (albert-large-v2 architecture, random glue init; runs in about a minute).

1. The frozen sweep over depths 1..100 against per-depth models (``bench_glue.py`` on CUDA, full size).
2. The cost of the paper's trained arm: time per fine-tuning step at a few depths, extrapolated to
   STS-B x 10 epochs x depths 1..100 per network.

    HF_HUB_OFFLINE=1 python benchmarks/gpu_glue.py
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch

from chaoslib.data.tokenization import load_tokenizer
from chaoslib.model.network import load_albert
from chaoslib.settings import disable_tf32, resolve_device
from chaoslib.tasks.glue import load_glue
from chaoslib.tasks.glue_features import encode_split
from chaoslib.tasks.glue_features import trimmed as _trimmed
from chaoslib.tasks.heads import batch_order, head_loss


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def finetune_step_seconds(depth, enc, labels, device, n_steps=30):
    model, _ = load_albert(
        "albert-large-v2",
        init="glue",
        seed=0,
        head="classification",
        device=device,
        num_hidden_layers=depth,
        num_labels=1,
    )
    model.train()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-6)
    batches = batch_order(len(enc), 1, 8, 42)
    times = []
    for i, rows in enumerate(batches[: n_steps + 5]):
        e = _trimmed(enc[rows]).to(device)
        sync(device)
        start = time.perf_counter()
        logits = model(
            input_ids=e.input_ids, attention_mask=e.attention_mask, token_type_ids=e.token_type_ids
        ).logits
        loss = head_loss(logits[None], labels[rows].to(device), 1)[0]
        opt.zero_grad()
        loss.backward()
        opt.step()
        sync(device)
        if i >= 5:  # warm-up steps left out
            times.append(time.perf_counter() - start)
    return float(np.median(times))


def main():
    disable_tf32()
    device = resolve_device("auto")
    bench = Path(__file__).with_name("bench_glue.py")
    subprocess.run(
        [
            sys.executable,
            str(bench),
            "--model",
            "albert-large-v2",
            "--full-size",
            "--device",
            str(device),
            "--n-train",
            "2000",
            "--n-dev",
            "1500",
            "--sample-depths",
            "1,8,24",
        ],
        check=True,
    )
    tokenizer = load_tokenizer()
    train = load_glue("stsb", "train")
    enc = encode_split(tokenizer, train)
    labels = torch.from_numpy(train.labels)
    depths = [1, 12, 24]
    per_step = [finetune_step_seconds(d, enc, labels, device) for d in depths]
    a, b = np.polyfit(depths, per_step, 1)[::-1]
    steps = int(np.ceil(len(train) / 8)) * 10
    total = sum(steps * (a + b * d) for d in range(1, 101))
    print("trained arm, albert-large-v2, batch 8, max_seq_length 64 (trimmed):")
    for d, t in zip(depths, per_step, strict=True):
        print(f"  depth {d:3d}: {1e3 * t:.1f} ms per step")
    print(
        f"  STS-B x 10 epochs = {steps} steps per trial; depths 1..100: {total / 3600:.1f} h per network "
        "(extrapolated, plus evaluation)"
    )


if __name__ == "__main__":
    main()
