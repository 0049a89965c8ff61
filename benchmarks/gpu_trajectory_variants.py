"""Where the time of a GPU trajectory step goes (albert-large-v2, N=16, batch 1): BLAS backend and
precision variants of the same CUDA-graph run, 20,000 steps each. Only the default (cuBLAS, TF32 off)
is the book's setting; the others are measured to explain the gap to the goal.
"""

from __future__ import annotations

import time

import torch

from chaoslib.dynamics.probes import TokenSpread
from chaoslib.dynamics.runner import run_trajectory
from chaoslib.model.albert_map import AlbertMap
from chaoslib.model.network import load_albert


def timed_run(F, x0, steps: int) -> float:
    run_trajectory(F, x0, 1000, probes=[TokenSpread()], block_size=500, progress=False)
    torch.cuda.synchronize()
    tic = time.perf_counter()
    run_trajectory(F, x0, steps, probes=[TokenSpread()], block_size=1000, save_every=steps, progress=False)
    torch.cuda.synchronize()
    return time.perf_counter() - tic


def main(steps: int = 20_000) -> None:
    model, _ = load_albert("albert-large-v2", device="cuda", num_hidden_layers=1)
    F = AlbertMap(model)
    ids = torch.randint(5, 30000, (1, 16), device="cuda")
    x0 = F.embed(type("E", (), {"input_ids": ids, "token_type_ids": torch.zeros_like(ids)})())
    print(f"{torch.cuda.get_device_name()}: albert-large-v2 random, N=16, batch 1, {steps} steps, CUDA graph")
    print(f"{'variant':44s} {'s':>7s} {'us/step':>8s} {'100k-step estimate (s)':>24s}")
    variants = [
        ("cuBLAS, fp32, TF32 off (book default)", "cublas", False),
        ("cuBLASLt, fp32, TF32 off", "cublaslt", False),
        ("cuBLAS, TF32 on (not the book's setting)", "cublas", True),
    ]
    for name, blas, tf32 in variants:
        torch.backends.cuda.preferred_blas_library(blas)
        torch.backends.cuda.matmul.allow_tf32 = tf32
        sec = timed_run(F, x0, steps)
        print(f"{name:44s} {sec:7.2f} {1e6 * sec / steps:8.1f} {sec * 100_000 / steps:24.1f}")
    # the floor: reading the layer's 12.6M float32 weights once per step
    torch.backends.cuda.matmul.allow_tf32 = False
    n_bytes = sum(p.numel() * p.element_size() for p in (F.w_qkv, F.w_out, F.w_ffn, F.w_ffn_out))
    buf = torch.empty(n_bytes // 4, device="cuda")
    out = torch.empty_like(buf)
    for _ in range(3):
        out.copy_(buf)
    torch.cuda.synchronize()
    tic = time.perf_counter()
    for _ in range(100):
        out.copy_(buf)
    torch.cuda.synchronize()
    per = (time.perf_counter() - tic) / 100
    print(
        f"reading+writing the layer's weights once ({n_bytes / 2**20:.0f} MiB): {1e6 * per:.1f} us "
        f"(a bandwidth floor of about {1e6 * per / 2:.1f} us per step for the reads alone)"
    )


if __name__ == "__main__":
    main()
