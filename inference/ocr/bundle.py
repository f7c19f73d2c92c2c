"""The OCR models shipped with the app: where they are, and proof they are the files we tested.

``resources/ocr/ocr.json`` lists every file (detector, recogniser, angle classifier, the
recogniser's character dictionary, the Apache-2.0 licence) with its SHA-256. Nothing is loaded
until every hash matches, exactly as for a model pack; a missing or altered file makes reading
unavailable with a plain reason, and the rest of the app keeps working.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from inference.errors import PackUnusableError

INDEX_NAME = "ocr.json"
REQUIRED = ("detector", "recogniser", "angle_classifier", "dictionary", "licence")


class OcrUnavailableError(PackUnusableError):
    """The bundled OCR models are missing, altered or unreadable: numbers cannot be read."""


def default_ocr_dir() -> Path:
    from inference.paths import resources_dir

    return resources_dir() / "ocr"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass(frozen=True)
class OcrBundle:
    """The verified OCR files (absolute paths)."""

    folder: Path
    detector: Path
    recogniser: Path
    angle_classifier: Path
    dictionary: Path
    licence: Path
    version: str

    def characters(self) -> list[str]:
        """The recogniser's characters in output order (index 0 of the model is the CTC blank,
        the last index a space; see :mod:`inference.ocr.recognise`)."""
        text = self.dictionary.read_text(encoding="utf-8")
        return [line.rstrip("\r") for line in text.split("\n")[:-1]] if text.endswith("\n") else \
            [line.rstrip("\r") for line in text.split("\n")]


def load_bundle(folder: Path | None = None) -> OcrBundle:
    """Read ``ocr.json`` in ``folder`` (default ``resources/ocr``) and check every file's SHA-256.

    Raises :class:`OcrUnavailableError` with the reason when anything is missing or different.
    """
    folder = Path(folder) if folder is not None else default_ocr_dir()
    index = folder / INDEX_NAME
    try:
        data = json.loads(index.read_text(encoding="utf-8"))
        files = data["files"]
        entries = {key: (str(files[key]["file"]), str(files[key]["sha256"]).lower()) for key in REQUIRED}
    except FileNotFoundError:
        raise OcrUnavailableError(f"Reading numbers off photos is not available: {index} is missing.") from None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise OcrUnavailableError(
            f"Reading numbers off photos is not available: {index} cannot be read ({exc}).") from exc
    paths: dict[str, Path] = {}
    for key, (name, expected) in entries.items():
        path = folder / name
        if Path(name).name != name:
            raise OcrUnavailableError(f"Reading numbers off photos is not available: {INDEX_NAME} names "
                                      f"'{name}', which is not a plain file name.")
        try:
            actual = _sha256(path)
        except OSError:
            raise OcrUnavailableError(
                f"Reading numbers off photos is not available: the OCR file {name} is missing.") from None
        if actual != expected:
            raise OcrUnavailableError(
                f"Reading numbers off photos is not available: the OCR file {name} is not the one Tilik "
                "was tested with (its SHA-256 differs). Reinstall Tilik.")
        paths[key] = path
    return OcrBundle(folder=folder, version=str(data.get("version", "")), **paths)
