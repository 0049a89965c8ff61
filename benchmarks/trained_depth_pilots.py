"""The trained-depth series' pilots: for each L and learning rate, the first 500 steps (2.05 M tokens) of the
series' own run (configs/trained-depth.yml, seed 0, the schedule of the full 3,907 steps), judged by the held-out
masked-LM loss on WikiText-2 valid at step 500. The rate with the lower loss is the series' rate for that L
(chaoslib.pretraining.series.SERIES_LR).

    python benchmarks/trained_depth_pilots.py --run --depths 2 4 8 16 --lrs 0.001 0.002   # trains (resumable)
    python benchmarks/trained_depth_pilots.py > benchmarks/results/trained_depth_pilots.md  # the table
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

PILOTS = Path("runs/series/pilots")
PILOT_STEPS = 500


def pilot_dir(depth: int, lr: float) -> Path:
    return PILOTS / f"L{depth:02d}-lr{lr:g}"


def run(depths: list[int], lrs: list[float], threads: int) -> None:
    import torch

    from chaoslib.pretraining.series import CONFIG
    from chaoslib.pretraining.train import PretrainConfig, pretrain

    torch.set_num_threads(threads)
    for depth in depths:
        for lr in lrs:
            config = PretrainConfig.from_file(CONFIG, num_hidden_layers=depth, lr=lr)
            pretrain(config, pilot_dir(depth, lr), device="cpu", stop_after=PILOT_STEPS, progress=False)


def table() -> str:
    rows = []
    for folder in sorted(PILOTS.glob("L*-lr*")):
        if not folder.is_dir():
            continue
        with (folder / "eval.csv").open(newline="") as handle:
            evals = {int(r["step"]): r for r in csv.DictReader(handle)}
        with (folder / "log.csv").open(newline="") as handle:
            log = list(csv.DictReader(handle))
        if PILOT_STEPS not in evals:
            continue
        rate = sum(float(r["tokens_per_s"]) for r in log[1:]) / max(len(log) - 1, 1)
        e = evals[PILOT_STEPS]
        rows.append((folder.name, float(e["mlm_loss"]), float(e["mlm_accuracy"]), rate))
    lines = ["| pilot | held-out loss at step 500 (nats) | masked-token accuracy | tokens/s (1 thread, shared machine) |",
             "|---|---|---|---|"]
    lines += [f"| {name} | {loss:.3f} | {acc:.1%} | {rate:,.0f} |" for name, loss, acc, rate in rows]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", action="store_true")
    parser.add_argument("--depths", nargs="*", type=int, default=[2, 4, 8, 16])
    parser.add_argument("--lrs", nargs="*", type=float, default=[1e-3, 2e-3])
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    if args.run:
        run(args.depths, args.lrs, args.threads)
    print(table())


if __name__ == "__main__":
    main()
