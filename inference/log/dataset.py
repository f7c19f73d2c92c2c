"""Reviewed inspections as a training set: ``DIR/<class>/<sha256>.<ext>`` plus ``DIR/labels.csv``.

This is how a supervisor's corrections flow back into training (``python -m training train
CONFIG --data DIR`` reads a folder per class). The label of an inspection is

- the supervisor's corrected label when its latest review overturned the machine;
- the machine's label when its latest review confirmed it;
- nothing when it was escalated (nobody has decided yet) or never reviewed: skipped
  (``include_unreviewed`` takes the machine's label for unreviewed ones, for pseudo-labelling).

One file per distinct image: when the same image was inspected more than once, its most recent
reviewed inspection decides the class (and the summary counts the disagreements). Every file is
re-hashed while it is copied, so a swapped or damaged image never reaches a training set.
Thumbnail-only records are skipped unless ``include_thumbnails``: a 256-px thumbnail is not the
picture the model saw.

The database is untrusted input here (anyone who can write it can recompute its chain): every
output path is built only from validated values (a 64-digit lowercase hex digest, an extension
from a fixed set, a sanitised class folder), checked to stay inside the output folder, and
created exclusively (never overwriting or following what is there); labels.csv cells are
neutralised against spreadsheet formulas like the CSV export's.
"""

from __future__ import annotations

import csv
import hashlib
import os
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from inference.errors import UsageError
from inference.log.csv_export import _safe as _spreadsheet_safe
from inference.log.media import _EXTENSIONS, storage_error_from_os
from inference.log.models import InspectionRecord, LogQuery

LABELS_FILE = "labels.csv"
_HEX_DIGEST = re.compile(r"[0-9a-f]{64}")
# The extensions the media folder ever writes (see inference.log.media); anything else is refused.
DATASET_EXTENSIONS = frozenset(_EXTENSIONS.values()) | {".png", ".jpg"}
_BAD_NAME = "invalid image name in the log (run tilik log verify)"
LABEL_COLUMNS = ("file", "label", "inspection_id", "pack_id", "pack_version", "pack_sha256", "machine_label",
                 "decision", "reviewed_by", "review_id", "image_sha256")


@dataclass(frozen=True)
class DatasetSummary:
    """What an export wrote and what it left out, and why."""

    out_dir: Path
    written: int
    classes: dict[str, int]
    skipped: dict[str, int] = field(default_factory=dict)
    conflicts: int = 0
    packs: tuple[str, ...] = ()

    def text(self) -> str:
        lines = [f"{self.written} images written to {self.out_dir} in {len(self.classes)} classes: "
                 + ", ".join(f"{k} {v}" for k, v in sorted(self.classes.items()))]
        for why, n in sorted(self.skipped.items()):
            if n:
                lines.append(f"  skipped {n}: {why}")
        if self.conflicts:
            lines.append(f"  {self.conflicts} images were labelled differently in different inspections; "
                         "the most recent review was used")
        if len(self.packs) > 1:
            lines.append(f"  warning: inspections from several packs ({', '.join(self.packs)}); "
                         "filter with --pack for one class set")
        return "\n".join(lines)


def _folder_name(label: str) -> str:
    # Class names come from pack manifests; keep them but make them safe as one folder name.
    name = re.sub(r"[^A-Za-z0-9._ -]", "_", label).strip(" .")
    return name or "_"


def label_for(rec: InspectionRecord, include_unreviewed: bool = False) -> tuple[str | None, str]:
    """The training label of a record and the reason when it has none."""
    # A refused image is not what the pack judges (a fish in skin mode): never training data,
    # whatever its reviews say. Nor is an old row whose image was out of domain.
    if rec.refused:
        return None, "refused (not what the pack judges)"
    if rec.out_of_domain:
        return None, "out of domain"
    review = rec.latest_review
    if review is None:
        return (rec.label, "") if include_unreviewed else (None, "not reviewed")
    if review.decision == "confirm":
        return rec.label, ""
    if review.decision == "overturn" and review.corrected_label:
        return review.corrected_label, ""
    return None, "escalated, not decided"


def export_dataset(log: Any, out_dir: Path | str, q: LogQuery | None = None, *,
                   include_unreviewed: bool = False, include_thumbnails: bool = False) -> DatasetSummary:
    """Write the training folder for every inspection matching ``q`` (see the module docstring).

    ``out_dir`` must be empty or not exist yet, so two exports are never mixed by accident.
    """
    out = Path(out_dir)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise UsageError(f"{out} is not an empty folder; choose a new folder for the dataset.")
    skipped: dict[str, int] = {}
    chosen: dict[str, tuple[str, InspectionRecord]] = {}
    conflicts = 0
    for rec in log.iter_records(replace(q or LogQuery(), newest_first=False)):
        label, why = label_for(rec, include_unreviewed)
        if label is None:
            skipped[why] = skipped.get(why, 0) + 1
            continue
        if rec.image_file is None:
            skipped["no image kept"] = skipped.get("no image kept", 0) + 1
            continue
        if rec.image_kind == "thumbnail" and not include_thumbnails:
            skipped["thumbnail only (privacy setting)"] = skipped.get("thumbnail only (privacy setting)", 0) + 1
            continue
        key = rec.image_sha256
        if key in chosen:
            if chosen[key][0] != label:
                conflicts += 1
            skipped["same image as a later inspection"] = skipped.get("same image as a later inspection", 0) + 1
        # Ascending ids: a later reviewed inspection of the same image replaces the earlier one.
        chosen[key] = (label, rec)
    classes: dict[str, int] = {}
    rows: list[dict[str, Any]] = []
    try:
        out.mkdir(parents=True, exist_ok=True)
        root = out.resolve()
        for sha, (label, rec) in chosen.items():
            ext = Path(rec.image_file or "").suffix.lower() or ".png"
            target = _target(root, label, sha, ext)
            if target is None:
                skipped[_BAD_NAME] = skipped.get(_BAD_NAME, 0) + 1
                continue
            source = log.stored_image_path(rec)
            data = source.read_bytes() if source is not None else None
            if data is None or hashlib.sha256(data).hexdigest() != rec.image_file_sha256:
                skipped["image file missing or damaged (run tilik log verify)"] = \
                    skipped.get("image file missing or damaged (run tilik log verify)", 0) + 1
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            _write_new(target, data)
            relative = target.relative_to(root).as_posix()
            classes[label] = classes.get(label, 0) + 1
            review = rec.latest_review
            rows.append({"file": relative, "label": label, "inspection_id": rec.id, "pack_id": rec.pack_id,
                         "pack_version": rec.pack_version, "pack_sha256": rec.pack_sha256,
                         "machine_label": rec.label, "decision": review.decision if review else "unreviewed",
                         "reviewed_by": review.by if review else "", "review_id": review.id if review else "",
                         "image_sha256": sha})
        with open(out / LABELS_FILE, "w", encoding="utf-8", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=LABEL_COLUMNS)
            writer.writeheader()
            writer.writerows({k: _spreadsheet_safe(v) for k, v in r.items()}
                             for r in sorted(rows, key=lambda r: r["inspection_id"]))
    except OSError as exc:
        raise storage_error_from_os(exc, f"the dataset in {out}") from exc
    packs = tuple(sorted({rec.pack_id for _, rec in chosen.values()}))
    return DatasetSummary(out, len(rows), classes, skipped, conflicts, packs)


def _target(root: Path, label: str, sha: Any, ext: str) -> Path | None:
    """``root/<class>/<sha><ext>`` when every part is valid and the path stays inside ``root``."""
    if not isinstance(sha, str) or not _HEX_DIGEST.fullmatch(sha) or ext not in DATASET_EXTENSIONS:
        return None
    folder = _folder_name(label)
    if folder in (".", ".."):
        return None
    target = (root / folder / f"{sha}{ext}").resolve()
    try:
        target.relative_to(root)
    except ValueError:
        return None
    return target


def _write_new(target: Path, data: bytes) -> None:
    """Create ``target`` exclusively: an existing file or link there is never written through."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_BINARY", 0)
    fd = os.open(target, flags, 0o644)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
