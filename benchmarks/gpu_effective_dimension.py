"""The effective-dimension chapter at the paper's size, end to end, on one GPU.

Paper setting: M=1000 sentence pairs, N=32 tokens, steps 0..499, albert-large-v2;
random networks with the `tf` init (seeds 0 and 1), plus the pretrained network if its weights
are in the local Hugging Face cache (never replaced by random weights: it is reported as
unavailable instead). Float32, TF32 off. One run of seed 0 is repeated in batches of M/4 to
show that batches combine exactly. Prints a table; under ~90 s on an H100.

    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/gpu_effective_dimension.py
"""

from __future__ import annotations

import sys
import time

import numpy as np
import torch

from chaoslib.data.corpus import dynamics_inputs
from chaoslib.data.tokenization import load_tokenizer
from chaoslib.dynamics.effective_dimension import effective_dimension_trajectory
from chaoslib.errors import PretrainedWeightsUnavailable
from chaoslib.model.albert_map import AlbertMap
from chaoslib.model.network import load_albert
from chaoslib.provenance import device_name
from chaoslib.settings import disable_tf32, resolve_device

N_SAMPLES, N_TOKENS, N_STEPS = 1000, 32, 500
REPORT_STEPS = (0, 1, 10, 50, 100, 200, 499)


def run(albert: AlbertMap, x0: torch.Tensor, n_steps: int, batch_size: int | None):
    """ED at steps 0..n_steps-1 (n_steps - 1 layer applications), and the peak GPU memory."""
    if x0.is_cuda:
        torch.cuda.reset_peak_memory_stats(x0.device)
    result = effective_dimension_trajectory(albert.step, x0, n_steps - 1, batch_size=batch_size)
    peak_gib = torch.cuda.max_memory_allocated(x0.device) / 2**30 if x0.is_cuda else float("nan")
    return result, peak_gib


def main() -> None:
    device = resolve_device("auto")
    if device.type != "cuda":
        print(
            "no GPU visible: this script is meant for one; running a reduced CPU smoke test (M=16, 20 steps)",
            file=sys.stderr,
        )
    disable_tf32()
    on_gpu = device.type == "cuda"
    n_samples, n_steps = (N_SAMPLES, N_STEPS) if on_gpu else (16, 20)
    tic = time.perf_counter()
    encoded, _ = dynamics_inputs(load_tokenizer(), n_samples, N_TOKENS, seed=0, kind="pair")
    print(
        f"inputs: {n_samples} wikitext-2 sentence pairs, N={N_TOKENS}, steps 0..{n_steps - 1}; "
        f"device {device_name(device)}; float32, TF32 off; inputs in {time.perf_counter() - tic:.1f} s"
    )

    networks = [("random", "tf", 0), ("random", "tf", 1), ("pretrained", None, None)]
    header = (
        f"{'network':<34} {'batch':>5} {'s':>6} {'steps/s':>8} {'peak GiB':>8} "
        + " ".join(f"{'ED@' + str(t):>8}" for t in REPORT_STEPS if t < n_steps)
        + f" {'collapsed@':>10}"
    )
    print(header)
    reference = None
    for weights, init, seed in networks:
        try:
            model, info = load_albert(
                "albert-large-v2", weights=weights, init=init or "tf", seed=seed or 0, device=device
            )
        except PretrainedWeightsUnavailable as err:
            print(f"{'albert-large-v2 pretrained':<34} unavailable: {str(err)[:110]}...")
            continue
        albert = AlbertMap(model)
        x0 = albert.embed(encoded.to(device))
        for batch_size in (None, n_samples // 4) if reference is None else (None,):
            result, peak = run(albert, x0, n_steps, batch_size)
            eds = " ".join(f"{result.effective_dimension[t]:>8.2f}" for t in REPORT_STEPS if t < n_steps)
            # first step where the cloud is rounding noise (its ED is then meaningless), '-' if never
            collapsed = str(int(np.argmin(result.resolved))) if not result.resolved.all() else "-"
            eds += f" {collapsed:>10}"
            print(
                f"{info.label():<34} {batch_size or n_samples:>5} {result.elapsed_s:>6.1f} "
                f"{result.steps_per_second:>8.1f} {peak:>8.2f} {eds}"
            )
            if reference is None:
                reference = result
            elif batch_size is not None:
                # batches change the float32 kernels' rounding; chaos then amplifies it, so compare
                # the first steps (where the Gram assembly alone is tested) and the whole run
                diff = np.abs(result.effective_dimension / reference.effective_dimension - 1)
                print(
                    f"{'':<34} batches of {batch_size} vs all at once: max relative ED difference "
                    f"{diff[:11].max():.1e} over steps 0-10, {diff.max():.1e} over all steps"
                )
        del model, albert, x0
        if device.type == "cuda":
            torch.cuda.empty_cache()
    print(f"total {time.perf_counter() - tic:.1f} s")


if __name__ == "__main__":
    main()
