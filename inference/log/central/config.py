"""Where the central server is and how to log in to it, without a password ever reaching the
command line, the inspection log or Tilik's own messages.

- The URL: given explicitly (``--to`` / ``--central``, the GUI's setting), else ``TILIK_CENTRAL_URL``.
  ``postgresql://USER@HOST:PORT/DB?sslmode=verify-full&sslrootcert=ca.pem``: every libpq option in
  the query string (the TLS ones included: ``sslmode``, ``sslrootcert``, ``sslcert``, ``sslkey``,
  ``sslcrl``) is passed through to the driver unchanged.
- A URL that holds a password is refused: it would end up in shell history and process lists.
- The password: ``TILIK_CENTRAL_PASSWORD`` (or libpq's own ``PGPASSWORD``), else a ``.pgpass``-
  style file (``host:port:database:user:password`` lines) named by ``TILIK_CENTRAL_PASSFILE`` (or
  ``PGPASSFILE``, else ``~/.pgpass``), which must not be readable by anyone but its owner (0600).
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from inference.errors import UsageError

URL_ENV = "TILIK_CENTRAL_URL"
PASSWORD_ENV = "TILIK_CENTRAL_PASSWORD"
PASSFILE_ENV = "TILIK_CENTRAL_PASSFILE"
_SCHEMES = ("postgresql://", "postgres://")


class CentralConfigError(UsageError):
    """The central server's address or credentials are unusable (said in plain words)."""


def _parse(url: str) -> dict[str, Any]:
    from psycopg.conninfo import conninfo_to_dict

    try:
        return conninfo_to_dict(url)
    except Exception as exc:  # noqa: BLE001 - psycopg raises ProgrammingError with libpq's text
        # libpq's message may quote the URL; never echo it back (it could hold a secret).
        raise CentralConfigError("The central server address is not a valid postgresql:// URL "
                                 "(e.g. postgresql://station@db.example.org:5432/tilik?sslmode=verify-full).") from exc


def check_url(url: str | None) -> str:
    """The URL, checked: a postgresql:// URL without a password. Raises :class:`CentralConfigError`."""
    url = (url or "").strip()
    if not url:
        raise CentralConfigError(f"No central server is configured: give its postgresql:// URL, or set {URL_ENV}.")
    if not url.startswith(_SCHEMES):
        raise CentralConfigError("The central server address must be a postgresql:// URL "
                                 "(e.g. postgresql://station@db.example.org/tilik).")
    if "password" in _parse(url):
        raise CentralConfigError(
            "The central server URL contains a password; it would be kept in shell history and shown in "
            f"process lists. Remove it from the URL and give it in {PASSWORD_ENV}, or in a password file "
            f"({PASSFILE_ENV} or ~/.pgpass, readable only by you: chmod 600).")
    return url


def redact(url: str) -> str:
    """The URL as it may be shown: user, host, port and database only (no query options)."""
    try:
        parts = _parse(url)
    except CentralConfigError:
        return "postgresql://(unreadable address)"
    host = parts.get("host", "")
    if host.startswith("/"):
        host = f"[socket {host}]"
    port = f":{parts['port']}" if parts.get("port") else ""
    user = f"{parts['user']}@" if parts.get("user") else ""
    return f"postgresql://{user}{host}{port}/{parts.get('dbname', '')}"


def _passfile(env: Mapping[str, str]) -> Path | None:
    name = env.get(PASSFILE_ENV) or env.get("PGPASSFILE")
    if name:
        path = Path(name).expanduser()
        if not path.is_file():
            raise CentralConfigError(f"The password file {path} does not exist.")
        return path
    default = Path("~/.pgpass").expanduser()
    return default if default.is_file() else None


def check_passfile(path: Path) -> None:
    """Refuse a password file others can read (libpq would silently ignore it)."""
    if os.name == "nt":
        return  # NTFS permissions are not mode bits; libpq does not check them either
    mode = path.stat().st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise CentralConfigError(f"The password file {path} can be read by other users (mode "
                                 f"{stat.S_IMODE(mode):o}); make it private with: chmod 600 {path}")


@dataclass(frozen=True)
class CentralConfig:
    """A checked address plus the connection options that carry the credentials."""

    url: str
    options: Mapping[str, Any]

    @property
    def shown(self) -> str:
        return redact(self.url)

    def connect(self, *, autocommit: bool = True, connect_timeout: int = 10) -> Any:
        """A psycopg connection; :class:`CentralUnavailable` (words, no secrets) when it fails."""
        import psycopg

        from inference.log.central.errors import CentralUnavailable

        try:
            return psycopg.connect(self.url, autocommit=autocommit, connect_timeout=connect_timeout,
                                   application_name="tilik", **self.options)
        except psycopg.OperationalError as exc:
            raise CentralUnavailable(f"Cannot reach the central server {self.shown}: {_first_line(exc)}",
                                     detail=type(exc).__name__) from None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def resolve(url: str | None = None, env: Mapping[str, str] | None = None) -> CentralConfig:
    """The central server to use: ``url`` when given, else ``TILIK_CENTRAL_URL``; credentials from
    the environment or a private password file."""
    env = os.environ if env is None else env
    checked = check_url(url or env.get(URL_ENV))
    options: dict[str, Any] = {}
    password = env.get(PASSWORD_ENV)
    if password:
        options["password"] = password
    elif not env.get("PGPASSWORD"):
        passfile = _passfile(env)
        if passfile is not None:
            check_passfile(passfile)
            options["passfile"] = str(passfile)
    return CentralConfig(checked, options)


def configured(url: str | None = None, env: Mapping[str, str] | None = None) -> bool:
    """Whether a central server is configured at all (the GUI's "look centrally too")."""
    env = os.environ if env is None else env
    return bool((url or env.get(URL_ENV) or "").strip())
