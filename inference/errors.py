"""Error hierarchy: every error Tilik expects carries a message a user can read.

Known failures (a bad image, a broken pack, a full disk) are raised as a subclass of
:class:`TilikError`; the CLI prints ``str(error)`` and the GUI shows it in a plain dialog.
Anything else is a bug and is reported as an internal error with its traceback logged.
"""

from __future__ import annotations


class TilikError(Exception):
    """Base of every error with a user-facing message.

    ``message`` is what a person reads; ``detail`` is optional technical context for logs.
    ``code``/``params``, when given, say the same as data, so the GUI can say it in another
    language by code (English: ``inference.wording.ERRORS``; the message stays the English words).
    """

    def __init__(self, message: str, *, detail: str | None = None, code: str | None = None,
                 params: dict | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.detail = detail
        self.code = code
        self.params = dict(params or {})

    def __str__(self) -> str:
        return self.message


class ImageReadError(TilikError):
    """An input could not be turned into an image (empty, truncated, not an image, too large...)."""


class PackError(TilikError):
    """Base for model-pack problems."""


class ManifestError(PackError):
    """A pack's manifest.json is missing, unreadable or does not follow the schema."""


class PackUnusableError(PackError):
    """A pack exists but must not be loaded (failed validation, wrong hash, missing file)."""


class PackNotFoundError(PackError):
    """No pack with the requested id is installed."""


class ProviderError(TilikError):
    """No onnxruntime execution provider could run the model."""


class InferenceError(TilikError):
    """The model ran but failed, or returned outputs that do not match its manifest."""


class StorageError(TilikError):
    """The inspection log could not be read or written (disk full, read-only, corrupt)."""


class UsageError(TilikError):
    """A command or API was called with arguments that make no sense."""
