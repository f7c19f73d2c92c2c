"""Seal profiles on disk: enrolled, listed, loaded only when intact, retired (never deleted).

Each profile is a folder ``<TILIK_DATA_DIR>/profiles/<uuid>/`` with:

- ``bank.npy``: the memory bank (M×C float32, :mod:`inference.profiles.bank`);
- ``profile.json``: ``content`` (everything that decides a verdict: id, name, the pack and model
  hash it was made with, the feature shape, the threshold and how it was set, the bank's SHA-256,
  the enrolled photos' SHA-256s) and ``sha256``, the SHA-256 of ``content`` in canonical JSON. That
  hash is the profile's hash written into every log record made with it. ``status`` (active or
  retired, and when) sits outside ``content``: retiring a profile does not change its hash;
- ``thumbs/*.jpg``: small pictures of the enrolled photos, for people (not part of the hash).

A profile whose JSON or bank was edited on disk is refused with a plain error (its hash no longer
matches) and never judges a photo. A retired profile is never offered for judging, but it stays
readable so old records can be checked against it (:meth:`ProfileStore.verify_record`).
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import io
import json
import os
import re
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from inference.errors import TilikError
from inference.paths import user_data_dir

FORMAT = "tilik-seal-profile/2"   # 2: the fused score (inference.profiles.bank.fuse); 1: patch distance alone
READABLE_FORMATS = ("tilik-seal-profile/1", FORMAT)
ACTIVE, RETIRED = "active", "retired"
_NAME = re.compile(r"^[^\x00-\x1f/\\]{1,80}$")
_JSON_MAX = 4 << 20
_BANK_MAX = 256 << 20


class ProfileError(TilikError):
    """A profile is missing, edited on disk, made for another model, or cannot be made."""


def profiles_dir() -> Path:
    """Where profiles live (``TILIK_PROFILES_DIR`` overrides, for tests)."""
    override = os.environ.get("TILIK_PROFILES_DIR")
    return Path(override) if override else user_data_dir() / "profiles"


def canonical(content: Mapping[str, Any]) -> bytes:
    return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False).encode("utf-8")


def content_hash(content: Mapping[str, Any]) -> str:
    return hashlib.sha256(canonical(content)).hexdigest()


@dataclass(frozen=True)
class Profile:
    """A loaded, hash-checked profile. ``bank`` is M×C float32."""

    content: Mapping[str, Any]
    sha256: str
    status: str
    retired_utc: str | None
    folder: Path
    bank: np.ndarray

    @property
    def id(self) -> str:
        return str(self.content["id"])

    @property
    def name(self) -> str:
        return str(self.content["name"])

    @property
    def threshold(self) -> float:
        return float(self.content["threshold"])

    @property
    def pack_id(self) -> str:
        return str(self.content["pack"]["id"])

    @property
    def retired(self) -> bool:
        return self.status == RETIRED

    def thumbnails(self) -> list[Path]:
        return sorted((self.folder / "thumbs").glob("*.jpg"))

    def summary(self) -> dict[str, Any]:
        """What ``tilik profile list/show --json`` prints (no bank)."""
        c = self.content
        return {"name": self.name, "id": self.id, "sha256": self.sha256, "status": self.status,
                "retired_utc": self.retired_utc, "pack": dict(c["pack"]), "created_utc": c["created_utc"],
                "images": len(c["images"]), "enrol_copies": list(c.get("enrol_copies", [])),
                "bank_patches": int(self.bank.shape[0]),
                "feature_shape": list(c["feature_shape"]), "threshold": round(self.threshold, 6),
                "false_alarm_rate": c["false_alarm_rate"], "threshold_method": c["threshold_method"],
                "enrol_scores": c["enrol_scores"], "folder": str(self.folder)}

    def check_model(self, pack_id: str, model_sha256: str, version: str = "") -> None:
        """Refuse to judge with a model other than the one whose features the bank holds."""
        pack = self.content["pack"]
        if pack["id"] != pack_id or pack["model_sha256"] != model_sha256:
            raise ProfileError(
                f"The profile '{self.name}' was enrolled with the pack {pack['id']} {pack['version']}; "
                f"the pack in use is {pack_id} {version or ''}with a different model, whose features do not "
                "compare with the enrolled ones. Enrol the profile again with this pack.".replace("  ", " "),
                code="profile_other_model", params={"name": self.name})


def _read(path: Path, limit: int, what: str) -> bytes:
    try:
        if not path.is_file():
            raise ProfileError(f"{what} is missing ({path}).")
        if path.stat().st_size > limit:
            raise ProfileError(f"{what} is too large to be a profile file ({path}).")
        return path.read_bytes()
    except OSError as exc:
        raise ProfileError(f"{what} cannot be read ({path}): {exc.strerror or exc}.") from exc


def load_profile_folder(folder: Path) -> Profile:
    """Load and check one profile folder; raise :class:`ProfileError` if anything was changed."""
    folder = Path(folder)
    raw = _read(folder / "profile.json", _JSON_MAX, "The profile file")
    try:
        doc = json.loads(raw.decode("utf-8"))
        content, recorded = doc["content"], doc["sha256"]
        name = str(content.get("name", folder.name))
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ProfileError(f"The profile file {folder / 'profile.json'} is damaged (not a Tilik profile): "
                           f"{exc}.") from exc
    if doc.get("format") not in READABLE_FORMATS:
        raise ProfileError(f"The profile '{name}' uses format {doc.get('format')!r}, which this Tilik does not read.")
    try:
        actual = content_hash(content)
    except ValueError as exc:
        raise ProfileError(f"The profile '{name}' holds values a profile cannot have: {exc}.") from exc
    if actual != recorded:
        raise ProfileError(
            f"The profile '{name}' was changed on disk after it was enrolled (its SHA-256 no longer "
            "matches), so it is not used. Enrol it again from the photos.",
            code="profile_edited", params={"name": name})
    bank_bytes = _read(folder / "bank.npy", _BANK_MAX, f"The memory bank of profile '{name}'")
    if hashlib.sha256(bank_bytes).hexdigest() != content.get("bank_sha256"):
        raise ProfileError(
            f"The memory bank of profile '{name}' was changed on disk after it was enrolled (its SHA-256 "
            "no longer matches), so the profile is not used. Enrol it again from the photos.",
            code="profile_edited", params={"name": name})
    try:
        bank = np.load(io.BytesIO(bank_bytes), allow_pickle=False)
    except (ValueError, OSError) as exc:
        raise ProfileError(f"The memory bank of profile '{name}' cannot be read: {exc}.") from exc
    shape = content["feature_shape"]
    if bank.dtype != np.float32 or bank.ndim != 2 or bank.shape[1] != int(shape[-1]):
        raise ProfileError(f"The memory bank of profile '{name}' does not have the recorded shape.")
    status = doc.get("status") or {}
    return Profile(content=content, sha256=recorded, status=status.get("state", ACTIVE),
                   retired_utc=status.get("retired_utc"), folder=folder, bank=bank)


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    tmp.replace(path)


class ProfileStore:
    """The profiles folder: save, find by name or id, list, retire."""

    def __init__(self, root: Path | None = None) -> None:
        self.root = Path(root) if root is not None else profiles_dir()

    def _folders(self) -> list[Path]:
        if not self.root.is_dir():
            return []
        return sorted(p for p in self.root.iterdir() if p.is_dir() and (p / "profile.json").is_file())

    def list(self, *, include_retired: bool = False) -> list[Profile | ProfileError]:
        """Every profile, newest first; one that fails its check is listed as its error."""
        out: list[Profile | ProfileError] = []
        for folder in self._folders():
            try:
                p = load_profile_folder(folder)
            except ProfileError as exc:
                exc.params.setdefault("folder", str(folder))
                out.append(exc)
                continue
            if include_retired or not p.retired:
                out.append(p)
        return sorted(out, key=lambda p: p.content["created_utc"] if isinstance(p, Profile) else "", reverse=True)

    def _raw_names(self) -> dict[str, tuple[Path, str, str]]:
        """name (casefolded) of every active profile → (folder, name, id), read without hashing."""
        names = {}
        for folder in self._folders():
            try:
                doc = json.loads((folder / "profile.json").read_text(encoding="utf-8"))
                if (doc.get("status") or {}).get("state", ACTIVE) == ACTIVE:
                    names[str(doc["content"]["name"]).casefold()] = (folder, doc["content"]["name"],
                                                                     doc["content"]["id"])
            except (OSError, ValueError, KeyError, TypeError):
                continue
        return names

    def get(self, name_or_id: str, *, include_retired: bool = False) -> Profile:
        """The active profile named ``name_or_id`` (or with that id; retired ones by id or when asked)."""
        key = str(name_or_id).strip()
        hit = self._raw_names().get(key.casefold())
        if hit is not None:
            return load_profile_folder(hit[0])
        folder = self.root / key
        if re.fullmatch(r"[0-9a-f-]{36}", key) and (folder / "profile.json").is_file():
            return load_profile_folder(folder)
        if include_retired:
            for folder in self._folders():
                try:
                    doc = json.loads((folder / "profile.json").read_text(encoding="utf-8"))
                except (OSError, ValueError):
                    continue
                if str((doc.get("content") or {}).get("name", "")).casefold() == key.casefold():
                    return load_profile_folder(folder)
        raise ProfileError(f"There is no seal profile named '{key}'. `tilik profile list` shows the profiles.",
                           code="profile_missing", params={"name": key})

    def save(self, content: dict[str, Any], bank: np.ndarray, thumbnails: list[bytes] = ()) -> Profile:
        """Write a new profile (refused when an active one already has this name)."""
        name = str(content["name"]).strip()
        if not _NAME.match(name):
            raise ProfileError("A profile name must be 1 to 80 characters, without slashes or control characters.")
        if name.casefold() in self._raw_names():
            raise ProfileError(f"A seal profile named '{name}' already exists. Choose another name, or retire "
                               f"that one first (`tilik profile remove {name}`).",
                               code="profile_exists", params={"name": name})
        profile_id = str(uuid.uuid4())
        folder = self.root / profile_id
        try:
            (folder / "thumbs").mkdir(parents=True)
            buf = io.BytesIO()
            np.save(buf, np.ascontiguousarray(bank, dtype=np.float32), allow_pickle=False)
            bank_bytes = buf.getvalue()
            _write_atomic(folder / "bank.npy", bank_bytes)
            for i, jpg in enumerate(thumbnails):
                _write_atomic(folder / "thumbs" / f"{i:03d}.jpg", jpg)
            content = {**content, "name": name, "id": profile_id, "created_utc": _now(),
                       "bank_sha256": hashlib.sha256(bank_bytes).hexdigest()}
            doc = {"format": FORMAT, "content": content, "sha256": content_hash(content),
                   "status": {"state": ACTIVE}}
            _write_atomic(folder / "profile.json", (json.dumps(doc, indent=2, ensure_ascii=False) + "\n").encode())
        except OSError as exc:
            raise ProfileError(f"The profile could not be saved in {folder}: {exc.strerror or exc}.") from exc
        return load_profile_folder(folder)

    def retire(self, name_or_id: str) -> Profile:
        """Mark a profile retired: never offered again, still readable for old records."""
        profile = self.get(name_or_id)
        path = profile.folder / "profile.json"
        doc = json.loads(path.read_text(encoding="utf-8"))
        doc["status"] = {"state": RETIRED, "retired_utc": _now()}
        try:
            _write_atomic(path, (json.dumps(doc, indent=2, ensure_ascii=False) + "\n").encode())
        except OSError as exc:
            raise ProfileError(f"The profile '{profile.name}' could not be retired: {exc.strerror or exc}.") from exc
        return load_profile_folder(profile.folder)

    def verify_record(self, profile_id: str, profile_sha256: str) -> Profile:
        """The profile a log record names, checked: it exists (active or retired), is unchanged, and
        is the one the record used. Raises :class:`ProfileError` saying which of these fails."""
        folder = self.root / str(profile_id)
        if not re.fullmatch(r"[0-9a-f-]{36}", str(profile_id)) or not (folder / "profile.json").is_file():
            raise ProfileError(f"The profile {profile_id} named by the record is not in {self.root}.")
        profile = load_profile_folder(folder)
        if profile.sha256 != profile_sha256:
            raise ProfileError(f"The record names profile '{profile.name}' with SHA-256 {profile_sha256[:16]}…, "
                               f"but that profile's SHA-256 is {profile.sha256[:16]}….")
        return profile


__all__ = ["ACTIVE", "FORMAT", "READABLE_FORMATS", "Profile", "ProfileError", "ProfileStore", "RETIRED", "content_hash",
           "load_profile_folder", "profiles_dir"]
