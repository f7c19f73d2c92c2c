"""The inspection log: every verdict, kept so that an auditor can trust it.

- append-only SQLite (WAL, ``synchronous=FULL``) with numbered migrations;
- one SHA-256 hash chain over every evidence row, re-checked with :meth:`InspectionLog.verify_chain`;
- images and heatmaps stored content-addressed beside the database, written before their row
  (:meth:`InspectionLog.stager` / :meth:`InspectionLog.commit_staged` split the two steps, so a
  worker thread writes the files and one transaction commits a whole group of rows);
- supervisors' reviews stored beside the machine's verdict, never over it;
- signature references enrolled and retired, never deleted.

See ``docs/log.md``. Nothing here imports Qt; the PDF report lives in ``gui/report_pdf.py``.
"""

from inference.log.models import (
    DECISIONS,
    MODES,
    SEAL_CLASSES,
    ChainStatus,
    InspectionRecord,
    LogQuery,
    RecordNotFoundError,
    Review,
    SealFields,
    SignatureFields,
    SignatureReference,
    SkinFields,
    ValidationError,
)
from inference.log.staging import MediaStager, StagedInspection
from inference.log.store import DEFAULT_SETTINGS, InspectionLog, media_root_for, open_log

__all__ = [
    "DECISIONS",
    "DEFAULT_SETTINGS",
    "MODES",
    "SEAL_CLASSES",
    "ChainStatus",
    "InspectionLog",
    "InspectionRecord",
    "LogQuery",
    "MediaStager",
    "RecordNotFoundError",
    "Review",
    "SealFields",
    "SignatureFields",
    "SignatureReference",
    "SkinFields",
    "StagedInspection",
    "ValidationError",
    "media_root_for",
    "open_log",
]
