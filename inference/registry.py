"""Find model packs, validate them, check their hashes, and say why an unusable one is unusable.

Packs are looked for in the bundled ``models/`` folder and in the user packs folder. A user pack
with the same id as a bundled one wins when its version is higher (a retrained pack).
Nothing is loaded into onnxruntime here: a :class:`Pack` is a checked description.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

from inference import paths
from inference.errors import ManifestError, PackNotFoundError, PackUnusableError
from inference.manifest import Manifest, load_manifest

_HASH_CHUNK = 1 << 20


def sha256_file(path: Path) -> str:
    """SHA-256 hex digest of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(_HASH_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass(frozen=True)
class Pack:
    """A pack folder and what we know about it. ``manifest`` is None when it failed validation."""

    folder: Path
    origin: str  # "bundled" or "user"
    manifest: Manifest | None
    problem: str | None = None
    checked_files: tuple[str, ...] = field(default=())

    @property
    def usable(self) -> bool:
        return self.manifest is not None and self.problem is None

    @property
    def id(self) -> str:
        return self.manifest.id if self.manifest else self.folder.name

    @property
    def version(self) -> str | None:
        return self.manifest.version if self.manifest else None

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

    def require_usable(self) -> Manifest:
        """Return the manifest, or raise :class:`PackUnusableError` with the reason."""
        if not self.usable:
            raise PackUnusableError(f"Pack '{self.id}' cannot be used: {self.problem}")
        assert self.manifest is not None
        return self.manifest


def check_pack(folder: Path, origin: str = "bundled") -> Pack:
    """Validate ``folder/manifest.json`` and verify the SHA-256 of every file it names."""
    folder = Path(folder)
    try:
        manifest = load_manifest(folder / "manifest.json")
    except ManifestError as exc:
        return Pack(folder, origin, None, str(exc))
    refs = [("model", manifest.model)] + [(role, ref) for role, ref in manifest.extra_files.items()]
    checked: list[str] = []
    for role, ref in refs:
        path = folder / ref.file
        if not path.is_file():
            return Pack(folder, origin, manifest, f"its {role} file '{ref.file}' is missing.")
        try:
            actual = sha256_file(path)
        except OSError as exc:
            return Pack(folder, origin, manifest, f"its {role} file '{ref.file}' cannot be read ({exc.strerror}).")
        if actual != ref.sha256:
            return Pack(
                folder, origin, manifest,
                f"its {role} file '{ref.file}' does not match the manifest's SHA-256 "
                f"(expected {ref.sha256[:12]}…, found {actual[:12]}…); it may be damaged or altered.",
            )
        checked.append(ref.file)
    return Pack(folder, origin, manifest, None, tuple(checked))


def version_key(version: str | None) -> tuple[int, ...]:
    """A pack version ("1.2.0", "1.2.0-rc1") as a tuple that sorts as versions do."""
    if not version:
        return (-1,)
    core = version.split("-")[0].split("+")[0]
    return tuple(int(p) for p in core.split(".") if p.isdigit())


class PackRegistry:
    """All packs found in the given folders (default: bundled, then user packs)."""

    def __init__(self, folders: Iterable[tuple[Path, str]] | None = None) -> None:
        if folders is None:
            folders = [(paths.bundled_models_dir(), "bundled"), (paths.user_packs_dir(), "user")]
        self.folders = [(Path(f), origin) for f, origin in folders]
        self._packs: list[Pack] | None = None

    def refresh(self) -> None:
        self._packs = None

    def all(self) -> list[Pack]:
        """Every pack folder found, usable or not, sorted by id then origin."""
        if self._packs is None:
            found: list[Pack] = []
            for folder, origin in self.folders:
                if not folder.is_dir():
                    continue
                for sub in sorted(folder.iterdir()):
                    if sub.is_dir() and not sub.name.startswith((".", "_")):
                        found.append(check_pack(sub, origin))
            self._packs = found
        return list(self._packs)

    def usable(self) -> list[Pack]:
        """One pack per id: the usable one with the highest version (a user pack wins a tie)."""
        best: dict[str, Pack] = {}
        for pack in self.all():
            if not pack.usable:
                continue
            current = best.get(pack.id)
            if current is None or version_key(pack.version) >= version_key(current.version):
                best[pack.id] = pack
        return [best[k] for k in sorted(best)]

    def get(self, pack_id: str) -> Pack:
        """The usable pack with this id; raises with the reason when it exists but is unusable."""
        for pack in self.usable():
            if pack.id == pack_id:
                return pack
        broken = [p for p in self.all() if p.id == pack_id]
        if broken:
            raise PackUnusableError(f"Pack '{pack_id}' cannot be used: {broken[0].problem}")
        known = ", ".join(p.id for p in self.usable()) or "none"
        raise PackNotFoundError(f"No pack called '{pack_id}' is installed. Usable packs: {known}.")
