"""Peak memory of a streamed effective-dimension run does not grow with the number of steps.

Each setting runs in a fresh subprocess (a process's peak RSS only goes up), on the CPU, with a
small random ALBERT (hidden 128, 16 tokens, 64 samples: one step of all samples is 0.5 MiB, so
storing a 500-step trajectory would cost 250 MiB). Prints the peak-memory growth of the run for
100 and 500 steps, their ratio (about 1 means constant memory), and what storing the
trajectory would have needed.

    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/bench_effective_dimension.py
"""

from __future__ import annotations

import json
import subprocess
import sys

SAMPLES, TOKENS, HIDDEN = 64, 16, 128
BATCH_SIZE = 16


def measure(n_steps: int) -> dict:
    """Run in this process: build the map, then measure the run's peak RSS growth and Python peak."""
    import resource
    import time
    import tracemalloc

    import torch

    from chaoslib.dynamics.effective_dimension import effective_dimension_trajectory
    from chaoslib.model.albert_map import AlbertMap
    from chaoslib.model.network import load_albert

    torch.set_num_threads(1)  # the machine is shared: one thread avoids spin-waiting on busy cores
    model, _ = load_albert(
        "albert-base-v2",
        init="tf",
        seed=0,
        hidden_size=HIDDEN,
        num_attention_heads=4,
        intermediate_size=4 * HIDDEN,
        num_hidden_layers=1,
        embedding_size=64,
    )
    albert = AlbertMap(model)
    x0 = torch.randn(SAMPLES, TOKENS, HIDDEN, generator=torch.Generator().manual_seed(0))
    # warm up allocator and kernels so the baseline holds everything but the run's own growth
    effective_dimension_trajectory(albert.step, x0, 2, batch_size=BATCH_SIZE)
    baseline_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    tracemalloc.start()
    tic = time.perf_counter()
    result = effective_dimension_trajectory(albert.step, x0, n_steps, batch_size=BATCH_SIZE)
    seconds = time.perf_counter() - tic
    _, python_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "n_steps": n_steps,
        "rss_growth_mib": (peak_kib - baseline_kib) / 1024,
        "peak_rss_mib": peak_kib / 1024,
        "python_peak_mib": python_peak / 2**20,
        "seconds": seconds,
        "final_ed": float(result.effective_dimension[-1]),
    }


def main() -> None:
    rows = []
    for n_steps in (100, 500):
        out = subprocess.run(
            [sys.executable, __file__, "--measure", str(n_steps)], check=True, capture_output=True, text=True
        )
        rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
    one_step_mib = SAMPLES * TOKENS * HIDDEN * 4 / 2**20
    print(
        f"effective dimension, random ALBERT hidden={HIDDEN}, M={SAMPLES} samples, N={TOKENS}, "
        f"batch_size={BATCH_SIZE}, CPU float32"
    )
    print(
        f"{'steps':>6} {'peak RSS MiB':>13} {'RSS growth MiB':>15} {'python peak MiB':>16} "
        f"{'stored traj. MiB':>17} {'s':>7}"
    )
    for r in rows:
        stored = (r["n_steps"] + 1) * one_step_mib
        print(
            f"{r['n_steps']:>6} {r['peak_rss_mib']:>13.1f} {r['rss_growth_mib']:>15.1f} "
            f"{r['python_peak_mib']:>16.3f} {stored:>17.1f} {r['seconds']:>7.1f}"
        )
    short, long = rows
    print(
        f"peak RSS ratio 500/100 steps: {long['peak_rss_mib'] / short['peak_rss_mib']:.3f}  "
        f"(storing the trajectory: {501 / 101:.2f})"
    )
    print(
        f"run's RSS growth 500 vs 100 steps: {long['rss_growth_mib']:.1f} MiB vs "
        f"{short['rss_growth_mib']:.1f} MiB "
        f"(one step of all samples = {one_step_mib:.1f} MiB)"
    )


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--measure":
        print(json.dumps(measure(int(sys.argv[2]))))
    else:
        main()
