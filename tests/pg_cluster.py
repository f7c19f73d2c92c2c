"""A throwaway PostgreSQL cluster for tests and benchmarks: ``initdb`` in a temporary folder, a
free local port, started with ``pg_ctl`` and removed at the end.

As root (CI, this machine) the server runs as the ``postgres`` user (initdb refuses root); as
anyone else it runs as that user. TCP connections need a password (scram-sha-256), so the tests
exercise the same credential path as a real server; the Unix socket in the cluster folder trusts
the local superuser ``tilik`` (the administrator's door).

    python tests/pg_cluster.py start DIR     # prints the admin URL; leaves it running
    python tests/pg_cluster.py stop DIR
"""

from __future__ import annotations

import glob
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

SUPERUSER = "tilik"


class ClusterUnavailable(RuntimeError):
    """No PostgreSQL server can be started here (not installed, or it failed to start)."""


def find_bindir() -> Path:
    """The folder holding ``initdb`` and ``pg_ctl`` (Debian keeps them out of PATH)."""
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(Path(p).parent.name)
                        if Path(p).parent.name.isdigit() else 0)
    for folder in reversed(candidates):
        if Path(folder, "initdb").exists():
            return Path(folder)
    initdb = shutil.which("initdb")
    if initdb:
        return Path(initdb).parent
    raise ClusterUnavailable("PostgreSQL is not installed (no initdb found; on Debian: apt-get install -y postgresql)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Cluster:
    """A running throwaway cluster."""

    root: Path
    port: int
    password: str
    bindir: Path
    owned_root: bool = True
    _as_postgres: bool = field(default=False, repr=False)

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def admin_url(self) -> str:
        """Superuser over the Unix socket (trusted; no password)."""
        return f"postgresql://{SUPERUSER}@/postgres?host={self.root}&port={self.port}"

    def tcp_url(self, user: str = SUPERUSER, dbname: str = "postgres") -> str:
        """A URL over TCP (needs the user's password from the environment or a password file)."""
        return f"postgresql://{user}@127.0.0.1:{self.port}/{dbname}"

    def _run(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
        cmd = [str(self.bindir / args[0]), *args[1:]]
        if self._as_postgres:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)

    def stop(self, *, remove: bool = True) -> None:
        """Stop at once (``-m immediate``) and remove the folder."""
        if self.data.exists():
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        if remove and self.owned_root:
            shutil.rmtree(self.root, ignore_errors=True)


def start(root: Path | None = None, *, fsync: bool = False, timeout: float = 90) -> Cluster:
    """initdb + start a cluster under ``root`` (a new temporary folder when None); raises
    :class:`ClusterUnavailable` with the reason when that is impossible."""
    bindir = find_bindir()
    as_postgres = os.geteuid() == 0
    owned = root is None
    root = Path(tempfile.mkdtemp(prefix="tilik-pg-")) if root is None else Path(root)
    root.mkdir(parents=True, exist_ok=True)
    password = secrets.token_urlsafe(18)
    cluster = Cluster(root=root, port=free_port(), password=password, bindir=bindir, owned_root=owned,
                      _as_postgres=as_postgres)
    pwfile = root / "pw"
    pwfile.write_text(password + "\n")
    if as_postgres:
        try:
            shutil.chown(root, "postgres", "postgres")
            shutil.chown(pwfile, "postgres", "postgres")
        except (LookupError, PermissionError) as exc:
            raise ClusterUnavailable(f"cannot hand {root} to the postgres user: {exc}") from exc
        # The data folder's parents must be reachable by the postgres user.
        for parent in [root, *root.parents]:
            if parent == Path("/"):
                break
            mode = parent.stat().st_mode
            if not mode & 0o001:
                os.chmod(parent, mode | 0o011)
    os.chmod(pwfile, 0o600)
    try:
        res = cluster._run("initdb", "-D", str(cluster.data), "-U", SUPERUSER, "--auth-local=trust",
                           "--auth-host=scram-sha-256", f"--pwfile={pwfile}", "--no-sync", "-E", "UTF8",
                           "--locale=C", timeout=timeout)
        if res.returncode != 0:
            raise ClusterUnavailable(f"initdb failed: {res.stderr.strip() or res.stdout.strip()}")
        opts = (f"-p {cluster.port} -k {root} -c listen_addresses=127.0.0.1 -c max_connections=40 "
                f"-c shared_buffers=128MB -c fsync={'on' if fsync else 'off'} "
                f"-c synchronous_commit={'on' if fsync else 'off'} -c full_page_writes={'on' if fsync else 'off'}")
        res = cluster._run("pg_ctl", "-D", str(cluster.data), "-o", opts, "-l", str(root / "server.log"), "-w",
                           "-t", str(int(timeout)), "start", timeout=timeout + 10)
        if res.returncode != 0:
            log = (root / "server.log").read_text(errors="replace")[-2000:] if (root / "server.log").exists() else ""
            raise ClusterUnavailable(f"pg_ctl start failed: {res.stderr.strip()} {log}")
    except (OSError, subprocess.TimeoutExpired) as exc:
        cluster.stop()
        raise ClusterUnavailable(f"PostgreSQL could not be started: {exc}") from exc
    except ClusterUnavailable:
        cluster.stop()
        raise
    return cluster


if __name__ == "__main__":  # pragma: no cover - manual use
    action, folder = sys.argv[1], Path(sys.argv[2])
    if action == "start":
        c = start(folder)
        print(c.admin_url)
        print(f"password for TCP: {c.password} (also in {folder / 'pw'})")
    else:
        Cluster(root=folder, port=0, password="", bindir=find_bindir(), owned_root=False,
                _as_postgres=os.geteuid() == 0).stop(remove=False)


# -- pytest fixtures (imported by tests/conftest.py) ------------------------------------------------
try:
    import pytest
except ImportError:  # pragma: no cover - used as a plain script
    pytest = None  # type: ignore[assignment]


@dataclass
class CentralDb:
    """One fresh database on the throwaway cluster, migrated, with a station login role."""

    cluster: Cluster
    dbname: str
    station_user: str
    station_password: str

    @property
    def admin_url(self) -> str:
        return f"postgresql://{SUPERUSER}@/{self.dbname}?host={self.cluster.root}&port={self.cluster.port}"

    @property
    def station_url(self) -> str:
        """The station's URL over TCP; its password comes from ``station_env``."""
        return self.cluster.tcp_url(self.station_user, self.dbname)

    @property
    def station_env(self) -> dict[str, str]:
        return {"TILIK_CENTRAL_PASSWORD": self.station_password}

    def admin(self):
        import psycopg

        return psycopg.connect(self.admin_url, autocommit=True)


if pytest is not None:
    _counter = iter(range(1, 1_000_000))

    @pytest.fixture(scope="session")
    def pg_server():
        """A real PostgreSQL server for the whole run; tests skip (with the reason) when none starts."""
        try:
            import psycopg  # noqa: F401
        except ImportError:
            pytest.skip("psycopg is not installed (pip install 'psycopg[binary]')")
        try:
            cluster = start()
        except ClusterUnavailable as exc:
            pytest.skip(f"no PostgreSQL server can be started here: {exc}")
        try:
            yield cluster
        finally:
            cluster.stop()

    @pytest.fixture
    def central_db(pg_server) -> CentralDb:
        """A fresh migrated database and a station login (member of tilik_station)."""
        import psycopg

        from inference.log.central.schema import migrate

        n = next(_counter)
        db = CentralDb(pg_server, f"tilik_test_{n}", f"station_{n}_{secrets.token_hex(3)}", secrets.token_urlsafe(12))
        with psycopg.connect(pg_server.admin_url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{db.dbname}"')
        with db.admin() as conn:
            migrate(conn)
            conn.execute(f'CREATE ROLE "{db.station_user}" LOGIN IN ROLE tilik_station PASSWORD %s'.replace(
                "%s", "'" + db.station_password + "'"))
        yield db
        with psycopg.connect(pg_server.admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{db.dbname}" WITH (FORCE)')
            conn.execute(f'DROP ROLE IF EXISTS "{db.station_user}"')
