"""A sweep of 8 CPU trials: the local executor vs a local Ray cluster of 2 workers, and Ray's cost per trial.

Each trial builds a small random ALBERT (hidden 128) and iterates its map over a batch of
inputs, with one torch thread (the same in both executors). Printed:
- the wall time of the sweep in-process (one trial after another) and on Ray with 2 workers on
  the 2 cores; the ratio local / Ray (ideal 2 with 2 idle cores);
- the Ray overhead per trial: the Ray wall time of the same sweep minus the ideal (the trials'
  own compute time divided over the workers), per trial; and the wall time per trial of a sweep
  of empty trials (scheduling, pickling, the driver writing the store);
- the one-off cost of starting the cluster and warming the 2 workers (imports), not in the above.

Run: ``.venv/bin/python benchmarks/bench_sweep.py [--trials 8] [--workers 2] [--steps 60]``.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import torch

from chaoslib.sweep import run_sweep


def albert_trial(settings: dict) -> dict:
    """One CPU trial: a random ALBERT of hidden 128 iterated ``steps`` times on (4, 32) inputs."""
    from chaoslib.model.albert_map import AlbertMap
    from chaoslib.model.network import load_albert

    model, info = load_albert(
        "albert-base-v2",
        seed=settings["seed"],
        hidden_size=128,
        num_attention_heads=4,
        intermediate_size=512,
        embedding_size=128,
        num_hidden_layers=1,
    )
    x = torch.randn(4, 32, 128, generator=torch.Generator().manual_seed(settings["seed"]))
    x = AlbertMap(model).iterate(x, settings["steps"])
    return {"norm": float(x.norm()), "label": info.label()}


def empty_trial(settings: dict) -> dict:
    return {"seed": settings["seed"]}


def timed_sweep(trials, fn, executor: str, store: Path):
    start = time.perf_counter()
    records = run_sweep(trials, fn, executor=executor, store=store, threads=1, progress=False)
    return time.perf_counter() - start, records


def start_ray(ray, workers: int, attempts: int = 3) -> None:
    """A local Ray instance; Ray waits at most 30 s for its raylet, which a busy machine can miss."""
    for attempt in range(attempts):
        try:
            ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False)
            return
        except Exception:
            ray.shutdown()
            if attempt == attempts - 1:
                raise


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--steps", type=int, default=60)
    args = parser.parse_args()
    import ray

    trials = [{"seed": s, "steps": args.steps} for s in range(args.trials)]
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        albert_trial({"seed": 99, "steps": 1})  # warm this process's imports, as the Ray workers are warmed
        local_s, local = timed_sweep(trials, albert_trial, "local", tmp / "local")

        print(f"local executor: {local_s:.2f} s for {args.trials} trials", flush=True)
        start = time.perf_counter()
        start_ray(ray, args.workers)
        # warm every worker (import torch, transformers, chaoslib): one trial per worker, not timed below
        warm = [{"seed": 100 + w, "steps": 1, "warm": True} for w in range(args.workers)]
        run_sweep(warm, albert_trial, executor="ray", threads=1, progress=False)
        startup_s = time.perf_counter() - start
        ray_s, remote = timed_sweep(trials, albert_trial, "ray", tmp / "ray")
        empty = [{"seed": s, "empty": True} for s in range(args.trials)]
        empty_ray_s, _ = timed_sweep(empty, empty_trial, "ray", tmp / "empty-ray")
        empty_local_s, _ = timed_sweep(empty, empty_trial, "local", tmp / "empty-local")
        ray.shutdown()

    assert [r.result for r in local] == [r.result for r in remote], "Ray and local disagree"
    compute_local = sum(r.elapsed_s for r in local)
    compute_ray = sum(r.elapsed_s for r in remote)
    ideal_ray = compute_ray / args.workers
    overhead = (ray_s - ideal_ray) / args.trials
    w, n = args.workers, args.trials
    print(f"\n{n} trials: random ALBERT hidden 128, batch 4 x 32 tokens, {args.steps} steps, 1 thread each")
    rows = [
        ("local executor, wall", local_s),
        ("  sum of the trials' own time (local)", compute_local),
        (f"ray, {w} workers, wall", ray_s),
        ("  sum of the trials' own time (in the workers)", compute_ray),
        (f"ray overhead per trial: (wall - own/{w}) / {n}", overhead),
        ("empty trials, per trial, ray", empty_ray_s / n),
        ("empty trials, per trial, local", empty_local_s / n),
        (f"ray start + warm {w} workers (once)", startup_s),
    ]
    print(f"{'measure':52s} {'seconds':>9s}")
    for label, seconds in rows:
        print(f"{label:52s} {seconds:9.4f}")
    print(f"ratio local / ray wall: {local_s / ray_s:.2f} (ideal {w} on {w} idle cores)")


if __name__ == "__main__":
    main()
