"""Find model packs, validate them, check their hashes, and say why an unusable one is unusable.

Packs are looked for in the bundled ``models/`` folder and in the user packs folder. A user pack
with the same id as a bundled one replaces it only when its version is a release (no pre-release
or build tag) strictly higher than the bundled one's (see :func:`preferred`).
Nothing is loaded into onnxruntime here: a :class:`Pack` is a checked description; the bytes a
session runs are read again, once, and checked against the same hashes (:meth:`Pack.read_model`).

Listing every pack hashes every file (``tilik packs``, the GUI's pack scan); asking for one pack
(:meth:`PackRegistry.get`) reads the small manifests to find the folders with that id and checks
only those.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

from inference import paths
from inference.errors import ManifestError, PackError, PackNotFoundError, PackUnusableError
from inference.manifest import FileRef, Manifest, load_manifest, parse_manifest_bytes
from inference.packfiles import (CARD_IMAGE_MAX_BYTES, EXTERNAL_DATA_MAX_BYTES, MANIFEST_MAX_BYTES,
                                 MODEL_MAX_BYTES, card_path, hash_file, mismatch, read_card, read_inside,
                                 read_limited, read_verified, require_regular)

def sha256_file(path: Path) -> str:
    """SHA-256 hex digest of a regular file, read in chunks."""
    return hash_file(Path(path), MODEL_MAX_BYTES + EXTERNAL_DATA_MAX_BYTES, f"'{Path(path).name}'")


@dataclass(frozen=True)
class ModelBytes:
    """An ONNX file's bytes and its external-data files' bytes, each checked against its SHA-256."""

    model: bytes
    external_data: dict[str, bytes]
    name: str


@dataclass(frozen=True)
class Pack:
    """A pack folder and what we know about it. ``manifest`` is None when it failed validation."""

    folder: Path
    origin: str  # "bundled" or "user"
    manifest: Manifest | None
    problem: str | None = None
    checked_files: tuple[str, ...] = field(default=())
    # False when the files' hashes were left to the loading (PackRegistry.get of an id only one
    # folder claims): read_model/read_file hash every byte they hand on, so they are hashed once.
    hashes_checked: bool = True

    @property
    def usable(self) -> bool:
        return self.manifest is not None and self.problem is None

    @property
    def id(self) -> str:
        return self.manifest.id if self.manifest else self.folder.name

    @property
    def version(self) -> str | None:
        return self.manifest.version if self.manifest else None

    @property
    def manifest_sha256(self) -> str | None:
        """SHA-256 of the manifest.json bytes this pack was checked with."""
        return self.manifest.sha256 if self.manifest else None

    def file_path(self, name: str) -> Path:
        return self.folder / name

    @property
    def model_path(self) -> Path:
        self.require_usable()
        assert self.manifest is not None
        return self.folder / self.manifest.model.file

    def extra_path(self, role: str) -> Path:
        self.require_usable()
        assert self.manifest is not None
        try:
            return self.folder / self.manifest.extra_files[role].file
        except KeyError:
            raise PackUnusableError(f"Pack '{self.id}' has no '{role}' file.") from None

    def file_ref(self, role: str) -> FileRef:
        """The manifest's entry for ``role`` ("model" or a key of extra_files)."""
        m = self.require_usable()
        if role == "model":
            return m.model
        try:
            return m.extra_files[role]
        except KeyError:
            raise PackUnusableError(f"Pack '{self.id}' has no '{role}' file.") from None

    def read_model(self, role: str = "model") -> ModelBytes:
        """Read the ONNX file ``role`` and its external data ONCE each, check every SHA-256 and
        return those bytes: what is hashed is what onnxruntime gets."""
        ref = self.file_ref(role)
        try:
            model = read_verified(self.folder / ref.file, ref.sha256, f"its {role} file '{ref.file}'")
            external = {e.file: read_verified(self.folder / e.file, e.sha256,
                                              f"the external data '{e.file}' of its {role} file",
                                              EXTERNAL_DATA_MAX_BYTES)
                        for e in ref.external_data}
        except PackUnusableError as exc:
            raise PackUnusableError(f"Pack '{self.id}' cannot be used: {exc}") from exc
        return ModelBytes(model, external, ref.file)

    def read_file(self, role: str) -> bytes:
        """Any other listed file (e.g. a projection), read once and checked against its SHA-256."""
        ref = self.file_ref(role)
        try:
            return read_verified(self.folder / ref.file, ref.sha256, f"its {role} file '{ref.file}'")
        except PackUnusableError as exc:
            raise PackUnusableError(f"Pack '{self.id}' cannot be used: {exc}") from exc

    def read_card(self) -> str | None:
        """The model card's text (None when the manifest names none); the card must be a regular
        file inside the pack, checked again now (it may have changed since the listing)."""
        name = self.manifest.raw.get("card") if self.manifest is not None else None
        if not name:
            return None
        try:
            return read_card(self.folder, name)
        except PackUnusableError as exc:
            raise PackUnusableError(f"The model card of pack '{self.id}' cannot be shown: {exc}") from exc

    def read_card_file(self, name: str) -> bytes:
        """A file the model card shows (a plot), by its path in the pack: inside the pack, a
        regular file, at most 16 MB; raises :class:`PackUnusableError` otherwise."""
        return read_inside(self.folder, name, f"the model card's file '{name}'", CARD_IMAGE_MAX_BYTES)

    def require_usable(self) -> Manifest:
        """Return the manifest, or raise :class:`PackUnusableError` with the reason."""
        if not self.usable:
            raise PackUnusableError(f"Pack '{self.id}' cannot be used: {self.problem}")
        assert self.manifest is not None
        return self.manifest


def _refs(manifest: Manifest) -> list[tuple[str, FileRef]]:
    """(what, ref) for every file the pack loads: models, other listed files, external data."""
    out: list[tuple[str, FileRef]] = []
    for role, ref in [("model", manifest.model), *manifest.extra_files.items()]:
        out.append((f"its {role} file '{ref.file}'", ref))
        out.extend((f"the external data '{e.file}' of its {role} file", e) for e in ref.external_data)
    return out


def check_pack(folder: Path, origin: str = "bundled", *, hashes: bool = True) -> Pack:
    """Validate ``folder/manifest.json``, its card, and the SHA-256 of every file it names.

    ``hashes=False`` checks that every file is there (a regular file within the size limit) but
    leaves its SHA-256 to :meth:`Pack.read_model` / :meth:`Pack.read_file`, which check it on the
    bytes they load anyway. Never raises for a broken pack: it comes back unusable with the reason.
    """
    folder = Path(folder)
    try:
        manifest = load_manifest(folder / "manifest.json")
    except ManifestError as exc:
        return Pack(folder, origin, None, str(exc))
    except (ValueError, RecursionError, MemoryError) as exc:  # one hostile file must not stop a listing
        return Pack(folder, origin, None, f"The manifest could not be read ({type(exc).__name__}).")
    checked: list[str] = []
    try:
        if manifest.raw.get("card"):  # missing is allowed (it is documentation); elsewhere, never
            card_path(folder, manifest.raw["card"], missing_ok=True)
        for what, ref in _refs(manifest):
            if not hashes:
                require_regular(folder / ref.file, MODEL_MAX_BYTES + EXTERNAL_DATA_MAX_BYTES, what)
                continue
            actual = hash_file(folder / ref.file, MODEL_MAX_BYTES + EXTERNAL_DATA_MAX_BYTES, what)
            if actual != ref.sha256:
                return Pack(folder, origin, manifest, mismatch(what, ref.sha256, actual))
            checked.append(ref.file)
    except PackError as exc:
        return Pack(folder, origin, manifest, str(exc))
    return Pack(folder, origin, manifest, None, tuple(checked), hashes_checked=hashes)


_VERSION = re.compile(r"^(\d+)\.(\d+)\.(\d+)([-+].*)?$")


def parse_version(version: str | None) -> tuple[tuple[int, ...], bool] | None:
    """``"1.2.0"`` → ((1, 2, 0), True); ``"1.2.0-rc1"`` / ``"1.2.0+x"`` → ((1, 2, 0), False) (not a
    release); None when it is no version at all."""
    match = _VERSION.match(version or "")
    if not match:
        return None
    return tuple(int(p) for p in match.groups()[:3]), match.group(4) is None


def version_key(version: str | None) -> tuple[int, ...]:
    """A pack version as a tuple that sorts as releases do (tags ignored; -1 for no version)."""
    parsed = parse_version(version)
    return parsed[0] if parsed else (-1,)


def _best(packs: list[Pack]) -> Pack:
    """Highest version; a release beats a tagged version of the same numbers; first found wins a tie."""
    def rank(p: Pack) -> tuple:
        parsed = parse_version(p.version)
        return (parsed[0], parsed[1]) if parsed else ((-1,), False)
    return max(packs, key=rank)  # max keeps the first of equal maxima


def overrides(user: Pack, bundled: Pack) -> bool:
    """A user pack replaces a bundled one only with a strictly higher RELEASE version: pre-release
    and build tags never win, and the same version never wins (a look-alike pack must not
    silently change a verdict)."""
    mine, theirs = parse_version(user.version), parse_version(bundled.version)
    return mine is not None and theirs is not None and mine[1] and mine[0] > theirs[0]


def preferred(packs: Iterable[Pack]) -> list[Pack]:
    """One usable pack per id, sorted by id: the bundled one unless a user pack overrides it."""
    by_id: dict[str, dict[str, list[Pack]]] = {}
    for pack in packs:
        if pack.usable:
            by_id.setdefault(pack.id, {}).setdefault("user" if pack.origin == "user" else "bundled", []).append(pack)
    chosen: list[Pack] = []
    for pack_id in sorted(by_id):
        bundled, user = by_id[pack_id].get("bundled"), by_id[pack_id].get("user")
        if bundled and user:
            best_bundled = _best(bundled)
            winners = [p for p in user if overrides(p, best_bundled)]
            chosen.append(_best(winners) if winners else best_bundled)
        else:
            chosen.append(_best(bundled or user or []))
    return chosen


def _peek_id(folder: Path) -> str | None:
    """The id a pack folder's manifest claims (read and parsed only, not validated); None if unreadable."""
    try:
        data = parse_manifest_bytes(read_limited(folder / "manifest.json", MANIFEST_MAX_BYTES, "The manifest",
                                                 ManifestError))
    except (ManifestError, ValueError, RecursionError, MemoryError):
        return None
    return data.get("id") if isinstance(data, dict) and isinstance(data.get("id"), str) else None


class PackRegistry:
    """All packs found in the given folders (default: bundled, then user packs)."""

    def __init__(self, folders: Iterable[tuple[Path, str]] | None = None) -> None:
        if folders is None:
            folders = [(paths.bundled_models_dir(), "bundled"), (paths.user_packs_dir(), "user")]
        self.folders = [(Path(f), origin) for f, origin in folders]
        self._packs: list[Pack] | None = None

    def refresh(self) -> None:
        self._packs = None

    def _folders(self) -> list[tuple[Path, str]]:
        """Every pack folder (sub-folder of a packs folder), in listing order, with its origin."""
        found: list[tuple[Path, str]] = []
        for folder, origin in self.folders:
            try:
                subs = sorted(folder.iterdir()) if folder.is_dir() else []
            except OSError:  # an unreadable user packs folder must not stop the bundled packs
                continue
            found.extend((sub, origin) for sub in subs if sub.is_dir() and not sub.name.startswith((".", "_")))
        return found

    def all(self) -> list[Pack]:
        """Every pack folder found, usable or not (each one fully checked), in folder order."""
        if self._packs is None:
            self._packs = [check_pack(sub, origin) for sub, origin in self._folders()]
        return list(self._packs)

    def usable(self) -> list[Pack]:
        """One pack per id, sorted by id: the bundled one unless a user pack overrides it (:func:`preferred`)."""
        return preferred(self.all())

    def get(self, pack_id: str) -> Pack:
        """The usable pack with this id; raises with the reason when it exists but is unusable.

        Unless everything was listed already, only the folders whose manifest claims ``pack_id``
        (or, for an unreadable manifest, whose folder is named so) are checked. When one folder
        claims it, its files are hashed as they are loaded (once), not here too; when several
        do, they are hashed here, since which one is used depends on which are intact.
        """
        if self._packs is not None:
            candidates = [p for p in self._packs if p.id == pack_id]
        else:
            claims = [(sub, origin) for sub, origin in self._folders() if (_peek_id(sub) or sub.name) == pack_id]
            candidates = [check_pack(sub, origin, hashes=len(claims) > 1) for sub, origin in claims]
        chosen = preferred(candidates)
        if chosen:
            return chosen[0]
        if candidates:
            raise PackUnusableError(f"Pack '{pack_id}' cannot be used: {candidates[0].problem}")
        known = ", ".join(p.id for p in self.usable()) or "none"
        raise PackNotFoundError(f"No pack called '{pack_id}' is installed. Usable packs: {known}.")
