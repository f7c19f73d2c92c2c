"""``python -m training export RUN_DIR``: turn a training run into ``models/<id>/`` (ONNX, manifest,
card, plots) and ``resources/samples/<id>/``. See :mod:`training.pipeline.export`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from training.pipeline.config import ConfigError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from training.pipeline.export import add_arguments as export_arguments

    export_arguments(parser)


def run(args: argparse.Namespace) -> int:
    from training.pipeline.export import ExportError, export_run, rewrite_card

    run_dir = Path(args.run_dir)
    if args.card_only:
        if not (run_dir / "export_report.json").is_file():
            print(f"error: {run_dir} has no export_report.json: export it first", file=sys.stderr)
            return 2
        from training.pipeline.train_cmd import resolve_models_dir

        rewrite_card(run_dir, models_dir=resolve_models_dir(args))
        return 0
    until = getattr(args, "until", None)
    if until is not None:
        from training.pipeline.export_stages import STAGES

        if until not in STAGES:
            print(f"error: --until {until}: not an export stage ({', '.join(STAGES)})", file=sys.stderr)
            return 2
    missing = [f for f in ("config.yaml", "split.csv", "weights.npz", "outputs.npz", "train_summary.json")
               if not (run_dir / f).is_file()]
    if missing:
        print(f"error: {run_dir} is not a finished training run (missing {', '.join(missing)}); "
              "run `python -m training train CONFIG --out RUN_DIR` first", file=sys.stderr)
        return 2
    try:
        from training.pipeline.train_cmd import default_samples_dir, resolve_models_dir

        models_dir = resolve_models_dir(args)
        export_run(run_dir, models_dir=models_dir, samples_dir=default_samples_dir(models_dir, args.samples_dir),
                   refresh_config=args.refresh_config, until=until)
    except (ExportError, ConfigError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0
