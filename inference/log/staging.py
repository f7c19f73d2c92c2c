"""Recording in two steps: stage an inspection's files (any thread), then commit many rows at once.

:meth:`InspectionLog.record_result` does both steps for one inspection. A batch, or a window that
must stay responsive, splits them::

    stager = log.stager(mode="seal")                    # the storage settings in force now
    staged = stager.stage_many(zip(results, images))    # a worker thread: hash, encode, write, fsync
    ids = log.commit_staged([s for s in staged if isinstance(s, StagedInspection)], operator="ana")

Staging checks the image is the one inspected, makes the thumbnail and the heatmap PNG, and writes
every file durably (:meth:`MediaStore.put_many`) without touching the database. Committing writes
the rows, chained, in one transaction: a row can only ever name files already on disk, and a
crash between the two steps leaves files without rows (harmless, reused next time), never the
reverse.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

from inference.errors import TilikError
from inference.log.media import (ImageInput, MediaStore, PendingFile, PreparedImage, StoredFile, encode_heatmap,
                                 prepare_image)
from inference.log.models import MODES, SealFields, ValidationError
from inference.results import InspectionResult


@dataclass(frozen=True)
class StagedInspection:
    """An inspection whose files are already durable in a log's media folder, waiting for its row
    (:meth:`InspectionLog.commit_staged`). ``result`` has its heatmap and embedding dropped (the
    heatmap is in ``heatmap_file``), so thousands of staged inspections stay small."""

    result: InspectionResult
    mode: str
    media_root: Path
    image_kind: str  # "original" | "thumbnail" | "none"
    image_file: StoredFile | None
    heatmap_file: StoredFile | None
    width: int | None
    height: int | None
    # This inspection's own seal details (e.g. the numbers ``classify --read-numbers`` read off
    # this photo); None: the details given to commit_staged for the whole group.
    seal: SealFields | None = None


@dataclass(frozen=True)
class _Prepared:
    result: InspectionResult
    mode: str
    image: PreparedImage
    heatmap_png: bytes | None


class MediaStager:
    """Writes inspections' files into one log's media folder, durably, never touching the log's
    database: safe to use from any thread, one at a time or several. Made by
    :meth:`InspectionLog.stager`, with the storage settings in force at that moment (thumbnails
    only, heatmaps kept and their size): a batch is stored under the settings it started with."""

    def __init__(self, media: MediaStore, settings: Mapping[str, Any], mode: str | None,
                 keep_full_image: bool | None, mode_of_pack: Callable[[str], str]) -> None:
        if mode is not None and mode not in MODES:
            raise ValidationError(f"Mode '{mode}' is not one of {', '.join(MODES)}.")
        self.media = media
        self.mode = mode
        self.keep_full_image = keep_full_image
        self._thumbs_only = frozenset(settings["thumbnails_only_modes"])
        self._thumb_px = int(settings["thumbnail_px"])
        self._heatmap_px = int(settings["heatmap_max_px"]) if settings["store_heatmaps"] else None
        self._mode_of_pack = mode_of_pack

    @property
    def media_root(self) -> Path:
        return self.media.root

    def mode_for(self, result: InspectionResult) -> str:
        """The mode the inspection is recorded under: the stager's, else the pack's."""
        return self.mode or self._mode_of_pack(result.pack_id)

    def keeps_full_image(self, mode: str) -> bool:
        if self.keep_full_image is not None:
            return bool(self.keep_full_image)
        return mode not in self._thumbs_only

    def prepare(self, result: InspectionResult, image: ImageInput = None) -> _Prepared:
        """Everything but the disk: check the image, make the thumbnail and the heatmap PNG.
        Raises :class:`ValidationError` when the image is not the one inspected."""
        mode = self.mode_for(result)
        keep_full = self.keeps_full_image(mode)
        prepared = prepare_image(image, expected_sha256=result.image_sha256, keep_full=keep_full,
                                 thumbnail_px=self._thumb_px)
        png = None
        if result.heatmap is not None and self._heatmap_px is not None:
            px = self._heatmap_px if keep_full else self._thumb_px
            # Laid on the image at the stored size straight from the model-size map: no
            # full-resolution float map is ever made (same stored file as before).
            png = encode_heatmap(result.heatmap_image(px), px)
        return _Prepared(result, mode, replace(prepared, rgb=None), png)

    def stage(self, result: InspectionResult, image: ImageInput = None) -> StagedInspection:
        """Stage one inspection; raises :class:`ValidationError` or :class:`StorageError`."""
        staged = self.stage_many([(result, image)], stop_at_error=True)[0]
        assert isinstance(staged, StagedInspection)
        return staged

    def stage_many(self, items: Iterable[tuple[InspectionResult, ImageInput]], *,
                   stop_at_error: bool = False) -> list[StagedInspection | TilikError]:
        """Stage many inspections, their files written and flushed together (much faster than one
        by one). Each inspection's image is checked on its own: one that fails gives its error in
        its place and the others go on (``stop_at_error``: the first such error is raised and
        nothing is written). A disk error raises :class:`StorageError` for the whole group."""
        out: list[_Prepared | TilikError] = []
        for result, image in items:
            try:
                out.append(self.prepare(result, image))
            except TilikError as exc:
                if stop_at_error:
                    raise
                out.append(exc)
        files: list[PendingFile] = []
        for p in out:
            if isinstance(p, _Prepared):
                if p.image.data is not None:
                    folder = "images" if p.image.kind == "original" else "thumbs"
                    files.append(PendingFile(folder, p.image.data, p.image.ext, "the inspected image"))
                if p.heatmap_png is not None:
                    files.append(PendingFile("heatmaps", p.heatmap_png, ".png", "the heatmap"))
        stored = iter(self.media.put_many(files))
        staged: list[StagedInspection | TilikError] = []
        for p in out:
            if not isinstance(p, _Prepared):
                staged.append(p)
                continue
            image_file = next(stored) if p.image.data is not None else None
            heatmap_file = next(stored) if p.heatmap_png is not None else None
            result = p.result
            width, height = result.image_size if result.image_size else (p.image.width, p.image.height)
            staged.append(StagedInspection(
                result=replace(result, heatmap=None, embedding=None), mode=p.mode, media_root=self.media.root,
                image_kind=p.image.kind if image_file is not None else "none", image_file=image_file,
                heatmap_file=heatmap_file, width=width, height=height))
        return staged
