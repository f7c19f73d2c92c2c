"""Print what each part of the frozen bundle weighs, check the size budgets and what went in.

Usage: python packaging/sizes.py dist/tilik [dist/tilik-linux-x86_64.tar.gz] [--top N]

Exits 1 when the unpacked bundle exceeds 400 MB or the archive 200 MB (models included), or when
something only training or development needs made it into the bundle (TensorFlow, Keras, OpenCV,
the training package, ``onnxruntime.transformers`` / ``.tools`` / ``.quantization`` ...). The
Python modules are read from the executable's embedded archive (needs PyInstaller, which the
packaging environment has); files are checked by path.
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from pathlib import Path

BUDGET_UNPACKED_MB = 400
BUDGET_ARCHIVE_MB = 200

# First matching prefix (relative to _internal/) names the part.
PARTS = (
    ("models/", "model packs"),
    ("resources/ocr/", "OCR models (PP-OCRv4 det/rec/cls, issue 26)"),
    ("resources/", "resources (samples, icons, translations)"),
    ("PySide6/Qt/lib/libicu", "Qt: ICU (Unicode data)"),
    ("PySide6/Qt/lib/libav", "Qt: FFmpeg (camera, QtMultimedia)"),
    ("PySide6/Qt/lib/libsw", "Qt: FFmpeg (camera, QtMultimedia)"),
    ("PySide6/Qt/lib/", "Qt: libraries"),
    ("PySide6/Qt/plugins/", "Qt: plugins"),
    ("PySide6/Qt/translations/", "Qt: translations"),
    ("PySide6/", "PySide6 bindings"),
    ("shiboken6/", "PySide6 bindings"),
    ("onnxruntime/", "onnxruntime"),
    ("numpy", "numpy (+ OpenBLAS)"),
    ("PIL/", "Pillow"),
    ("pillow.libs/", "Pillow"),
    ("libpython", "Python runtime"),
    ("python3", "Python runtime"),
    ("base_library.zip", "Python runtime"),
    ("lib-dynload/", "Python runtime"),
)

# Python packages (top-level names, or dotted prefixes) that must never be in the bundle.
FORBIDDEN_MODULES = (
    "tensorflow", "keras", "tf2onnx", "tf_keras", "torch", "jax", "cv2", "sklearn", "skimage", "scipy",
    "matplotlib", "pandas", "onnx", "training", "pytest", "onnxruntime.transformers", "onnxruntime.tools",
    "onnxruntime.quantization",
)
FORBIDDEN_PATHS = ("tensorflow", "keras", "/cv2/", "opencv", "onnxruntime/transformers", "onnxruntime/tools",
                   "onnxruntime/quantization", "/training/", "libtorch", "QtWebEngine", "libQt6Quick", "libQt6Qml")


def part_of(rel: str) -> str:
    for prefix, name in PARTS:
        if rel.startswith(prefix):
            return name
    return "other (system libraries, small modules)"


def files_of(bundle: Path) -> dict[str, int]:
    """Path relative to ``_internal/`` (files outside it, the launchers: ``../name``) → size in bytes.
    Symlinks are not counted (the archive stores them as links)."""
    internal = bundle / "_internal"
    out = {}
    for path in bundle.rglob("*"):
        if path.is_file() and not path.is_symlink():
            if internal in path.parents:
                out[path.relative_to(internal).as_posix()] = path.stat().st_size
            else:
                out["../" + path.relative_to(bundle).as_posix()] = path.stat().st_size
    return out


def measure(bundle: Path) -> dict[str, int]:
    sizes: dict[str, int] = defaultdict(int)
    for rel, size in files_of(bundle).items():
        sizes["launcher executable" if rel.startswith("../") else part_of(rel)] += size
    return dict(sizes)


def frozen_modules(bundle: Path) -> list[str] | None:
    """Module names in the executable's embedded PYZ archive; None when PyInstaller is missing."""
    try:
        from PyInstaller.archive.readers import CArchiveReader
    except ImportError:
        return None
    exe = next((p for p in (bundle / "tilik", bundle / "tilik.exe") if p.is_file()), None)
    if exe is None:
        return None
    try:
        reader = CArchiveReader(str(exe))
        name = next((n for n in reader.toc if n.endswith(".pyz")), None)
        return sorted(reader.open_embedded_archive(name).toc) if name else None
    except Exception:  # noqa: BLE001 - not a PyInstaller executable (or another PyInstaller's format)
        return None


def forbidden_contents(bundle: Path) -> tuple[list[str], bool]:
    """What should not be there (modules and files), and whether the modules could be checked."""
    found = []
    modules = frozen_modules(bundle)
    for module in modules or []:
        if any(module == f or module.startswith(f + ".") for f in FORBIDDEN_MODULES):
            found.append(f"module {module}")
    for rel in files_of(bundle):
        if any(part in "/" + rel for part in FORBIDDEN_PATHS) and not rel.startswith(("models/", "resources/")):
            found.append(f"file {rel}")
    return found, modules is not None


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("bundle", type=Path)
    parser.add_argument("archive", type=Path, nargs="?")
    parser.add_argument("--top", type=int, default=12, help="list the N largest files (default 12)")
    args = parser.parse_args(argv[1:])
    sizes = measure(args.bundle)
    total = sum(sizes.values())
    print(f"{'part of the bundle':<44} {'MB':>8} {'share':>7}")
    for name, size in sorted(sizes.items(), key=lambda kv: -kv[1]):
        print(f"{name:<44} {size / 1e6:8.1f} {100 * size / total:6.1f}%")
    print(f"{'TOTAL unpacked':<44} {total / 1e6:8.1f}   (budget {BUDGET_UNPACKED_MB} MB)")
    ok = total / 1e6 <= BUDGET_UNPACKED_MB
    if args.archive is not None:
        packed = args.archive.stat().st_size
        print(f"{'archive ' + args.archive.name:<44} {packed / 1e6:8.1f}   (budget {BUDGET_ARCHIVE_MB} MB)")
        ok = ok and packed / 1e6 <= BUDGET_ARCHIVE_MB
    print("size budgets: " + ("met" if ok else "EXCEEDED"))
    if args.top:
        print("\nlargest files (under _internal/):")
        for rel, size in sorted(files_of(args.bundle).items(), key=lambda kv: -kv[1])[:args.top]:
            print(f"  {size / 1e6:7.1f} MB  {rel}")
    found, checked = forbidden_contents(args.bundle)
    if found:
        print("\nNOT FOR THE BUNDLE (training/development only), found:")
        for item in found[:40]:
            print(f"  {item}")
        ok = False
    else:
        print(f"\ncontents: no TensorFlow/Keras/OpenCV/training/onnxruntime.transformers|tools in the bundle"
              f"{'' if checked else ' (files only: the executable could not be read, modules not checked)'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
