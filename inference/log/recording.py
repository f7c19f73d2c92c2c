"""Recording results as they are produced: the hook behind ``tilik classify --log [DB]``.

The command line knows neither the operator nor the station, so it takes them from
``TILIK_OPERATOR`` / ``TILIK_STATION`` when set, else the login name and the computer's name:
an auditor can always tell who ran a batch, and on which machine.

``tilik classify --log`` hands the recorder one model batch at a time (:meth:`Recorder.record_many`):
the batch's files are written and flushed together and its rows commit in one transaction.
"""

from __future__ import annotations

import getpass
import os
import socket
from dataclasses import replace
from pathlib import Path
from typing import Any

from inference.errors import TilikError
from inference.log.models import InspectionRecord, SealFields
from inference.log.staging import StagedInspection
from inference.log.store import InspectionLog
from inference.results import InspectionResult


def default_operator() -> str:
    """``TILIK_OPERATOR``, else the login name ("" when even that is unknown)."""
    name = os.environ.get("TILIK_OPERATOR", "").strip()
    if name:
        return name
    try:
        return getpass.getuser()
    except Exception:  # noqa: BLE001 - no login name in some containers and services
        return ""


def default_station() -> str:
    """``TILIK_STATION``, else this computer's host name."""
    return os.environ.get("TILIK_STATION", "").strip() or socket.gethostname()


class Recorder:
    """Callable that records one :class:`InspectionResult` per call (committed before it returns).

    When the result's source is a file that still exists, the file itself is kept as the image
    (or a thumbnail, per the log's settings); a file changed since it was classified is refused
    rather than stored against the wrong verdict.
    """

    def __init__(self, log: InspectionLog, mode: str | None, operator: str, station: str) -> None:
        self.log = log
        self.mode = mode
        self.operator = operator
        self.station = station
        self.recorded: list[int] = []

    def __call__(self, result: InspectionResult) -> None:
        self.record(result)

    @staticmethod
    def _image_of(result: InspectionResult) -> Any:
        source = Path(result.source) if result.source else None
        return source if source is not None and source.is_file() else None

    def record(self, result: InspectionResult) -> InspectionRecord:
        rec = self.log.record_result(result, image=self._image_of(result), operator=self.operator,
                                     station=self.station, mode=self.mode)
        self.recorded.append(rec.id)
        return rec

    def record_many(self, results: list[InspectionResult],
                    seals: list[SealFields | None] | None = None) -> list[int | TilikError]:
        """Record a group of results (one model batch) at once: every file written and flushed
        together, then every row in one transaction. Returns, per result, its inspection id or
        why it was not stored (an image changed since it was classified fails alone; a disk or
        database error fails the whole group, and nothing of it is stored).

        ``seals`` pairs up with ``results``: each inspection's own seal details (what
        ``--read-numbers`` read off that photo), None where there are none."""
        if not results:
            return []
        if seals is not None and len(seals) != len(results):
            raise ValueError("record_many: one seal entry per result is needed")
        try:
            staged = self.log.stager(self.mode).stage_many([(r, self._image_of(r)) for r in results])
            if seals is not None:
                staged = [replace(s, seal=seal) if isinstance(s, StagedInspection) and seal is not None else s
                          for s, seal in zip(staged, seals)]
            good = [s for s in staged if isinstance(s, StagedInspection)]
            ids = iter(self.log.commit_staged(good, operator=self.operator, station=self.station))
        except TilikError as exc:
            return [exc] * len(results)
        out: list[int | TilikError] = [next(ids) if isinstance(s, StagedInspection) else s for s in staged]
        self.recorded.extend(i for i in out if isinstance(i, int))
        return out

    def close(self) -> None:
        self.log.close()


def seal_fields_from_reading(fields: dict[str, Any]) -> SealFields | None:
    """The seal details that record what ``--read-numbers`` read off a photo (the
    ``container_number`` / ``seal_number`` fields of its JSON line): the reading only, as read and
    never corrected; no number is stored as checked and ``read_confirmed`` stays None (nobody was
    asked). None when nothing was read."""
    container, seal = fields.get("container_number"), fields.get("seal_number")
    if not container and not seal:
        return None
    return SealFields(read_container_number=container or None, read_seal_number=seal or None)


def open_recorder(db: Path | str | None, inspector: Any, mode: str | None = None, *,
                  operator: str | None = None, station: str | None = None) -> Recorder:
    """Open the log at ``db`` (None: the default log) and return a recorder for ``inspector``'s
    results. ``mode`` defaults to the pack's mode."""
    log = InspectionLog.open(Path(db) if db else None)
    manifest = getattr(inspector, "manifest", None)
    chosen = mode or getattr(manifest, "mode", None) or "general"
    return Recorder(log, chosen, default_operator() if operator is None else operator,
                    default_station() if station is None else station)
