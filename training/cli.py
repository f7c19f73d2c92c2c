"""``python -m training`` subcommands. Each subcommand's module is imported only when it runs,
so ``python -m training seals generate`` does not pay for importing TensorFlow."""

from __future__ import annotations

import argparse
import importlib
import sys

# subcommand -> (module, help). Each module provides ``add_arguments(parser)`` and ``run(args) -> int``.
SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "train": ("training.pipeline.train_cmd", "train a pack from a config (and optional --data folder)"),
    "export": ("training.pipeline.export_cmd", "export a trained run to models/<id>/ (ONNX + manifest + card)"),
    "seals": ("training.seals.cmd", "seal dataset tools: `seals generate --out DIR --count N --seed S`"),
    "imagenet-lite0": ("training.lite0.cmd", "build the imagenet-lite0 pack from the installed ImageNet weights"),
    "signatures": ("training.signatures.cmd", "build the signature-verify pack (CEDAR, writer-independent)"),
    "signature-attacks": ("training.signatures.perturb_cmd",
                          "small ε-bounded perturbations of the scan against the signature-verify pack"),
    "fgsm": ("training.guard.fgsm_cmd", "FGSM / BIM / PGD adversarial images against a pack's Keras model"),
    "guard": ("training.guard.guard_cmd", "train, calibrate and evaluate a pack's input guard (autoencoder + detectors)"),
    "guard-recalibrate": ("training.guard.recalibrate_cmd",
                          "re-set a pack's colour-noise threshold on every rendition of its images, and re-measure it"),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    for name, (module_name, help_text) in SUBCOMMANDS.items():
        p = sub.add_parser(name, help=help_text)
        p.set_defaults(_module=module_name)
    # Parse only the command name first, so each module adds its own arguments lazily.
    args, rest = parser.parse_known_args(argv)
    module = importlib.import_module(args._module)
    sub_parser = argparse.ArgumentParser(prog=f"python -m training {args.command}")
    module.add_arguments(sub_parser)
    sub_args = sub_parser.parse_args(rest)
    return int(module.run(sub_args) or 0)


if __name__ == "__main__":
    sys.exit(main())
