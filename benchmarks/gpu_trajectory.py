"""GPU figure for issue 2: 100,000 steps of the albert-large-v2 architecture at N=16, batch 1.

Goal: under 10 s (the authors' TensorFlow code needed about an hour). Random tf-init weights (the
speed does not depend on the weights). Also times the same run without the CUDA graph, and the
naive transformers way over 1,000 steps, for ratios.
"""

from __future__ import annotations

import time

import torch

from chaoslib.dynamics.probes import TokenSpread, Units
from chaoslib.dynamics.runner import run_trajectory
from chaoslib.model.albert_map import AlbertMap
from chaoslib.model.network import load_albert
from chaoslib.settings import disable_tf32


def sync() -> None:
    if torch.cuda.is_available():
        torch.cuda.synchronize()


def main(n_steps: int = 100_000, tokens: int = 16, device: str = "cuda") -> None:
    disable_tf32()
    model, _ = load_albert("albert-large-v2", device=device, num_hidden_layers=1)
    F = AlbertMap(model)
    ids = torch.randint(5, 30000, (1, tokens), device=device)
    x0 = F.embed(type("E", (), {"input_ids": ids, "token_type_ids": torch.zeros_like(ids)})())
    probes = lambda: [TokenSpread(), Units(tokens=[0, 1, 2, 3], units=[0, 1, 2])]  # noqa: E731
    run_trajectory(F, x0, 1000, probes=probes(), block_size=500, progress=False)  # warm-up + capture
    rows = []
    for graph in (True, False):
        if graph and device != "cuda":
            continue
        steps = n_steps if graph else min(5000, n_steps)
        sync()
        tic = time.perf_counter()
        ds = run_trajectory(
            F, x0, steps, probes=probes(), block_size=500, save_every=10_000, cuda_graph=graph, progress=False
        )
        sync()
        elapsed = time.perf_counter() - tic
        rows.append((f"runner, cuda_graph={graph}", steps, elapsed, steps / elapsed))
        final_spread = float(ds.token_spread.values[0, -1])
    naive_steps = min(1000, n_steps)
    naive, _ = load_albert("albert-large-v2", device=device, num_hidden_layers=naive_steps)
    with torch.no_grad():
        naive(input_ids=ids, token_type_ids=torch.zeros_like(ids))
        sync()
        tic = time.perf_counter()
        out = naive(input_ids=ids, token_type_ids=torch.zeros_like(ids), output_hidden_states=True)
        torch.stack(out.hidden_states, 1).std(2).mean(-1).cpu()
        elapsed = time.perf_counter() - tic
    rows.append((f"naive AlbertModel(T={naive_steps})", naive_steps, elapsed, naive_steps / elapsed))
    name = torch.cuda.get_device_name() if device == "cuda" else "cpu"
    print(f"device: {name}, albert-large-v2 (random tf), N={tokens}, batch 1, float32, TF32 off")
    print(f"{'way':32s} {'steps':>8s} {'seconds':>9s} {'steps/s':>10s}")
    for name, steps, sec, rate in rows:
        print(f"{name:32s} {steps:8d} {sec:9.2f} {rate:10.0f}")
    print(
        f"{n_steps}-step run: {rows[0][2]:.2f} s (goal < 10 s); speed-up over naive: {rows[0][3] / rows[-1][3]:.1f}x; "
        f"final spread {final_spread:.3g}"
    )


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=100_000)
    parser.add_argument("--device", default="cuda")
    args = parser.parse_args()
    main(args.steps, device=args.device)
