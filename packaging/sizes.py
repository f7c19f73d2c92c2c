"""Print what each part of the frozen bundle weighs and check the size budgets.

Usage: python packaging/sizes.py dist/tilik dist/tilik-linux-x86_64.tar.gz
Exits 1 when the unpacked bundle exceeds 400 MB or the archive 200 MB (models included).
"""

from __future__ import annotations

import sys
from collections import defaultdict
from pathlib import Path

BUDGET_UNPACKED_MB = 400
BUDGET_ARCHIVE_MB = 200

# First matching prefix (relative to _internal/) names the part.
PARTS = (
    ("models/", "model packs"),
    ("resources/", "resources (samples, icons, translations)"),
    ("PySide6/Qt/lib/libicu", "Qt: ICU (Unicode data)"),
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


def part_of(rel: str) -> str:
    for prefix, name in PARTS:
        if rel.startswith(prefix):
            return name
    return "other (system libraries, small modules)"


def measure(bundle: Path) -> dict[str, int]:
    internal = bundle / "_internal"
    sizes: dict[str, int] = defaultdict(int)
    for path in bundle.rglob("*"):
        if path.is_file() and not path.is_symlink():
            rel = path.relative_to(internal).as_posix() if internal in path.parents else "executable"
            sizes[part_of(rel) if rel != "executable" else "launcher executable"] += path.stat().st_size
    return dict(sizes)


def main(argv: list[str]) -> int:
    bundle = Path(argv[1])
    archive = Path(argv[2]) if len(argv) > 2 else None
    sizes = measure(bundle)
    total = sum(sizes.values())
    print(f"{'part of the bundle':<44} {'MB':>8} {'share':>7}")
    for name, size in sorted(sizes.items(), key=lambda kv: -kv[1]):
        print(f"{name:<44} {size / 1e6:8.1f} {100 * size / total:6.1f}%")
    print(f"{'TOTAL unpacked':<44} {total / 1e6:8.1f}   (budget {BUDGET_UNPACKED_MB} MB)")
    ok = total / 1e6 <= BUDGET_UNPACKED_MB
    if archive is not None:
        packed = archive.stat().st_size
        print(f"{'archive ' + archive.name:<44} {packed / 1e6:8.1f}   (budget {BUDGET_ARCHIVE_MB} MB)")
        ok = ok and packed / 1e6 <= BUDGET_ARCHIVE_MB
    print("size budgets: " + ("met" if ok else "EXCEEDED"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
