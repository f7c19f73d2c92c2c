"""``tilik self-test``: load every bundled pack and check it on the samples shipped with it.

Samples live in ``resources/samples/<pack-id>/samples.json``: a list of
``{"file": "x.jpg", "expected": "<class name>"}`` (verify packs add ``"references": [...]``).
A bundled pack that is unusable, has no samples, or gets a sample wrong fails the test.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from inference import paths
from inference.errors import TilikError
from inference.registry import Pack, PackRegistry


@dataclass
class PackCheck:
    pack_id: str
    version: str | None
    ok: bool
    provider: str | None = None
    passed: int = 0
    total: int = 0
    problems: list[str] = field(default_factory=list)
    seconds: float = 0.0


@dataclass
class SelfTestReport:
    checks: list[PackCheck]

    @property
    def ok(self) -> bool:
        return bool(self.checks) and all(c.ok for c in self.checks)

    def as_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "packs": [c.__dict__ for c in self.checks]}

    def text(self) -> str:
        if not self.checks:
            return "Self-test FAILED: no bundled model packs were found.\n"
        lines = []
        for c in self.checks:
            state = "ok  " if c.ok else "FAIL"
            lines.append(f"[{state}] {c.pack_id} {c.version or ''} on {c.provider or '-'}: "
                         f"{c.passed}/{c.total} samples correct ({c.seconds:.1f} s)")
            lines.extend(f"       {p}" for p in c.problems)
        lines.append(f"Self-test {'passed' if self.ok else 'FAILED'}: "
                     f"{sum(c.ok for c in self.checks)} of {len(self.checks)} packs ok.")
        return "\n".join(lines) + "\n"


def _load_samples(pack_id: str, samples_root: Path) -> tuple[Path, list[dict[str, Any]]]:
    folder = samples_root / pack_id
    index = folder / "samples.json"
    if not index.is_file():
        raise TilikError(f"no samples.json in {folder}")
    entries = json.loads(index.read_text(encoding="utf-8"))
    if not isinstance(entries, list) or not entries:
        raise TilikError(f"{index} lists no samples")
    return folder, entries


def _check_classify(pack: Pack, folder: Path, entries: list[dict[str, Any]], provider: str | None,
                    check: PackCheck) -> None:
    from inference.inspector import Inspector

    inspector = Inspector(pack, provider)
    check.provider = inspector.provider
    for entry in entries:
        check.total += 1
        try:
            result = inspector.classify(folder / entry["file"])
        except TilikError as exc:
            check.problems.append(f"{entry['file']}: {exc}")
            continue
        if result.label == entry["expected"]:
            check.passed += 1
        else:
            got = (result.verdict if result.confidence is None  # a refusal: no class, no confidence
                   else f"{result.label} ({100 * result.confidence:.1f}%)")
            check.problems.append(f"{entry['file']}: expected {entry['expected']}, got {got}")


def _check_verify(pack: Pack, folder: Path, entries: list[dict[str, Any]], provider: str | None,
                  check: PackCheck) -> None:
    from inference.signature.verifier import Verifier

    verifier = Verifier(pack, provider)
    check.provider = verifier.provider
    for entry in entries:
        check.total += 1
        try:
            result = verifier.verify(folder / entry["file"], [folder / r for r in entry["references"]])
        except TilikError as exc:
            check.problems.append(f"{entry['file']}: {exc}")
            continue
        if result.label == entry["expected"]:
            check.passed += 1
        else:
            check.problems.append(f"{entry['file']}: expected {entry['expected']}, got {result.label} "
                                  f"(score {100 * result.score:.1f}%)")


# task kind -> checker; later task kinds (verify) register theirs here.
CHECKERS: dict[str, Callable[[Pack, Path, list[dict[str, Any]], str | None, PackCheck], None]] = {
    "classify": _check_classify,
    "verify": _check_verify,
}


def run_self_test(provider: str | None = None, models_dir: Path | None = None,
                  samples_root: Path | None = None) -> SelfTestReport:
    """Check every bundled pack; never raises for a pack problem, reports it instead."""
    registry = PackRegistry([(models_dir or paths.bundled_models_dir(), "bundled")])
    samples_root = samples_root or paths.samples_dir()
    checks = []
    for pack in registry.all():
        check = PackCheck(pack.id, pack.version, ok=False)
        start = time.perf_counter()
        try:
            pack.require_usable()
            folder, entries = _load_samples(pack.id, samples_root)
            checker = CHECKERS.get(pack.manifest.task)  # type: ignore[union-attr]
            if checker is None:
                raise TilikError(f"no self-test for task kind '{pack.manifest.task}'")  # type: ignore[union-attr]
            checker(pack, folder, entries, provider, check)
            check.ok = check.total > 0 and check.passed == check.total
        except (TilikError, OSError, ValueError, KeyError) as exc:
            check.problems.append(str(exc))
        check.seconds = time.perf_counter() - start
        checks.append(check)
    return SelfTestReport(checks)
