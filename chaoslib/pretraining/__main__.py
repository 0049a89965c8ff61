"""Command line: ``python -m chaoslib.pretraining train|evaluate ...`` (see ``--help``)."""

from __future__ import annotations

import argparse
import json

import torch

from chaoslib.errors import ChaoslibError
from chaoslib.pretraining.train import PretrainConfig, pretrain


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m chaoslib.pretraining", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    train = sub.add_parser("train", help="train or resume a run")
    train.add_argument("--config", help="a JSON or YAML PretrainConfig file (default: the built-in defaults)")
    train.add_argument("--run-dir", required=True, help="the run's folder (resumes when it holds state.pt)")
    train.add_argument("--steps", type=int, help="total steps (overrides the config)")
    train.add_argument(
        "--stop-after", type=int, help="leave after this many steps of this call (state saved)"
    )
    train.add_argument("--device", default="auto")
    train.add_argument("--threads", type=int, help="torch CPU threads")
    train.add_argument("--data-dir")
    train.add_argument("--set", nargs="*", default=[], metavar="KEY=JSON", help="override config fields")
    evaluate = sub.add_parser("evaluate", help="the model card's held-out evaluation of a saved network")
    evaluate.add_argument("--checkpoint", required=True, help="a folder with config.json + model.safetensors")
    evaluate.add_argument("--split", default="test")
    evaluate.add_argument("--data-dir")
    ship = sub.add_parser("ship", help="copy a run's final network into chaoslib/checkpoints/NAME with its card")
    ship.add_argument("--run-dir", required=True)
    ship.add_argument("--name", required=True)
    ship.add_argument("--training-command", required=True, help="the training command(s), for the model card")
    ship.add_argument("--data-dir")
    ship.add_argument("--force", action="store_true", help="replace an existing network of that name (whole folder)")
    ship.add_argument("--dtype", default="float32", choices=["float32", "float16"], help="stored weights' precision")
    diag = sub.add_parser("diagnostics", help="the dynamics and task scores of every checkpoint of a run (chapter 08)")
    diag.add_argument("--run-dir", required=True)
    diag.add_argument("--out", required=True, help="the record (netCDF), e.g. chaoslib/checkpoints/NAME/diagnostics.nc")
    diag.add_argument("--set", nargs="*", default=[], metavar="KEY=JSON", help="override DiagnosticSettings fields")
    diag.add_argument("--executor", default="local", choices=["local", "ray"])
    diag.add_argument("--ray-address")
    diag.add_argument("--threads", type=int)
    diag.add_argument("--data-dir")
    series = sub.add_parser("series", help="train, diagnose and ship one network of the trained-depth series")
    series.add_argument("--depth", type=int, required=True, help="L: layer applications in pretraining")
    series.add_argument("--seed", type=int, required=True)
    series.add_argument("--runs", default="runs/series", help="the folder of the series' run folders")
    series.add_argument("--device", default="auto")
    series.add_argument("--threads", type=int)
    series.add_argument("--stop-after", type=int, help="leave after this many steps of this call (state saved)")
    series.add_argument("--force", action="store_true", help="train and ship again a network already shipped")
    series.add_argument("--carry", action="store_true",
                        help="an unfinished run (training stopped): diagnose its checkpoints and drop their weights, "
                             "leaving the resume point small enough to commit (git add -f) for a later checkout")
    series.add_argument("--data-dir")
    args = parser.parse_args(argv)
    if getattr(args, "threads", None):
        torch.set_num_threads(args.threads)
    if args.command == "diagnostics":
        import shlex
        import sys

        from chaoslib.pretraining.diagnostics import run_diagnostics, settings_from_dict

        overrides = {k: json.loads(v) for k, v in (item.split("=", 1) for item in args.set)}
        run_diagnostics(args.run_dir, args.out, settings_from_dict(overrides), executor=args.executor,
                        ray_address=args.ray_address, data_dir=args.data_dir,
                        command="python -m chaoslib.pretraining " + shlex.join(sys.argv[1:]))
    if args.command == "series" and args.carry:
        from chaoslib.pretraining.series import carry

        folder = carry(args.depth, args.seed, args.runs, args.data_dir)
        print(f"commit it: git add -f {folder}  (rerun the series command without --carry to continue)")
    elif args.command == "series":
        from chaoslib.pretraining.series import train_diagnose_ship

        shipped = train_diagnose_ship(args.depth, args.seed, args.runs, args.device, args.data_dir, args.stop_after,
                                      args.force)
        print(shipped or "stopped before the last step; rerun the same command to continue")
    if args.command == "evaluate":
        from chaoslib.pretraining.checkpoint import evaluate_checkpoint

        print(json.dumps(evaluate_checkpoint(args.checkpoint, args.split, data_dir=args.data_dir), indent=2))
    if args.command == "ship":
        from chaoslib.pretraining.checkpoint import ship as ship_run

        print(ship_run(args.run_dir, args.name, args.training_command, data_dir=args.data_dir, force=args.force,
                       dtype=args.dtype))
    if args.command == "train":
        overrides = {}
        for item in args.set:
            if "=" not in item:
                raise ChaoslibError(f"--set {item}: write KEY=VALUE, e.g. --set lr=0.001.")
            key, text = item.split("=", 1)
            overrides[key] = PretrainConfig.field_value(key, text)
        if args.steps:
            overrides["steps"] = args.steps
        config = (
            PretrainConfig.from_file(args.config, **overrides) if args.config else PretrainConfig(**overrides)
        )
        pretrain(config, args.run_dir, device=args.device, data_dir=args.data_dir, stop_after=args.stop_after)


if __name__ == "__main__":
    try:
        main()
    except ChaoslibError as err:  # a refused command: the message names the parameter and the fix
        raise SystemExit(f"error: {err}") from None
