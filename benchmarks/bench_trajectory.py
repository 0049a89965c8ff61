"""Trajectory runner vs the naive way (transformers' AlbertModel with num_hidden_layers=T and
output_hidden_states=True): steps per second, their ratio, and peak memory at two lengths.

    python benchmarks/bench_trajectory.py [--model albert-large-v2] [--tokens 64] [--batch 4] [--steps 200] [--device cpu]

Each measurement runs in a fresh subprocess so that peak RSS (CPU) / peak allocated (CUDA) is its own.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def measure(way: str, model_name: str, tokens: int, steps: int, device: str, batch: int) -> dict:
    import torch

    from chaoslib.dynamics.probes import TokenSpread, Units
    from chaoslib.dynamics.runner import run_trajectory
    from chaoslib.model.albert_map import AlbertMap
    from chaoslib.model.network import load_albert
    from chaoslib.settings import disable_tf32

    disable_tf32()
    torch.manual_seed(0)
    ids = torch.randint(5, 30000, (batch, tokens), device=device)
    types = torch.zeros_like(ids)
    if way == "runner":
        model, _ = load_albert(model_name, device=device, num_hidden_layers=1)
        F = AlbertMap(model)
        x0 = F.embed(type("E", (), {"input_ids": ids, "token_type_ids": types})())
        run_trajectory(F, x0, 20, probes=[TokenSpread()], progress=False)  # warm-up
        tic = time.perf_counter()
        ds = run_trajectory(
            F, x0, steps, probes=[TokenSpread(), Units(tokens=[0, 1], units=[0, 1])], progress=False
        )
        elapsed = time.perf_counter() - tic
        assert ds.sizes["step"] == steps + 1
    else:
        model, _ = load_albert(model_name, device=device, num_hidden_layers=steps)
        with torch.no_grad():
            model(input_ids=ids[:, :4], token_type_ids=types[:, :4])  # warm-up
            if device == "cuda":
                torch.cuda.synchronize()
            tic = time.perf_counter()
            out = model(input_ids=ids, token_type_ids=types, output_hidden_states=True)
            spread = (
                torch.stack(out.hidden_states, 1).std(2).mean(-1).cpu()
            )  # the same statistic, from all states
            elapsed = time.perf_counter() - tic
        assert spread.shape == (batch, steps + 1)
    if device == "cuda":
        peak_mb = torch.cuda.max_memory_allocated() / 2**20
    else:
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"way": way, "steps": steps, "steps_per_s": steps / elapsed, "peak_mb": peak_mb}


def run_child(*args) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--child", *map(str, args)], capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default="albert-large-v2")
    parser.add_argument("--tokens", type=int, default=64)
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--child", nargs=6)
    args = parser.parse_args()
    if args.child:
        way, model, tokens, steps, device, batch = args.child
        print(json.dumps(measure(way, model, int(tokens), int(steps), device, int(batch))))
        return
    rows = [
        run_child(way, args.model, args.tokens, steps, args.device, args.batch)
        for steps in (args.steps, 4 * args.steps)
        for way in ("runner", "naive")
    ]
    print(f"{args.model} (random weights), N={args.tokens}, batch {args.batch}, {args.device}")
    print(f"{'way':8s} {'steps':>7s} {'steps/s':>9s} {'peak MB':>9s}")
    for r in rows:
        print(f"{r['way']:8s} {r['steps']:7d} {r['steps_per_s']:9.1f} {r['peak_mb']:9.0f}")
    for steps in (args.steps, 4 * args.steps):
        runner = next(r for r in rows if r["way"] == "runner" and r["steps"] == steps)
        naive = next(r for r in rows if r["way"] == "naive" and r["steps"] == steps)
        print(
            f"T={steps}: speed ratio runner/naive = {runner['steps_per_s'] / naive['steps_per_s']:.2f} (goal >= 1)"
        )
    r1, r4 = (
        next(r for r in rows if r["way"] == w and r["steps"] == 4 * args.steps) for w in ("runner", "naive")
    )
    r1s, r4s = (
        next(r for r in rows if r["way"] == w and r["steps"] == args.steps) for w in ("runner", "naive")
    )
    print(
        f"peak memory growth from T={args.steps} to T={4 * args.steps}: runner x{r1['peak_mb'] / r1s['peak_mb']:.2f}, "
        f"naive x{r4['peak_mb'] / r4s['peak_mb']:.2f} (goal: runner ~1)"
    )


if __name__ == "__main__":
    main()
