"""Where the central server is and how to log in: checked addresses, passwords never in a URL or
a message, private password files, and a clear reason when no test server can be started."""

from __future__ import annotations

import pytest

from inference.errors import UsageError
from inference.log.central.config import CentralConfigError, check_url, configured, redact, resolve


def test_a_url_with_a_password_is_refused_without_repeating_it():
    with pytest.raises(CentralConfigError) as err:
        check_url("postgresql://gate:hunter22@db.example.org/tilik")
    assert "contains a password" in str(err.value) and "hunter22" not in str(err.value)
    assert isinstance(err.value, UsageError)  # exit 2 on the command line
    with pytest.raises(CentralConfigError, match="password"):
        check_url("postgresql://gate@db.example.org/tilik?password=hunter22")


@pytest.mark.parametrize("url, words", [("", "No central server"), ("mysql://x@y/z", "postgresql://"),
                                        ("postgresql://x@y/z?nonsense=1", "not a valid")])
def test_bad_addresses_are_said_in_words(url, words):
    with pytest.raises(CentralConfigError, match=words):
        check_url(url)


def test_shown_address_keeps_only_user_host_port_and_database():
    url = "postgresql://gate@db.example.org:6543/tilik?sslmode=verify-full&sslkey=/secret/key.pem"
    assert redact(url) == "postgresql://gate@db.example.org:6543/tilik"
    assert redact("postgresql://gate@/tilik?host=/run/pg") == "postgresql://gate@[socket /run/pg]/tilik"


def test_url_and_password_come_from_the_environment(tmp_path):
    env = {"TILIK_CENTRAL_URL": "postgresql://gate@db/tilik?sslmode=require", "TILIK_CENTRAL_PASSWORD": "pw"}
    config = resolve(env=env)
    assert config.url.endswith("sslmode=require") and config.options == {"password": "pw"}
    assert configured(env=env) and not configured(env={})
    assert resolve("postgresql://other@db/tilik", env=env).url == "postgresql://other@db/tilik"  # explicit wins
    assert resolve(env={**env, "TILIK_CENTRAL_PASSWORD": "", "PGPASSWORD": "x"}).options == {}  # libpq reads it


def test_a_password_file_must_be_private(tmp_path):
    passfile = tmp_path / "pgpass"
    passfile.write_text("db:5432:tilik:gate:pw\n")
    env = {"TILIK_CENTRAL_URL": "postgresql://gate@db/tilik", "TILIK_CENTRAL_PASSFILE": str(passfile)}
    passfile.chmod(0o640)
    with pytest.raises(CentralConfigError, match="chmod 600"):
        resolve(env=env)
    passfile.chmod(0o600)
    assert resolve(env=env).options == {"passfile": str(passfile)}
    with pytest.raises(CentralConfigError, match="does not exist"):
        resolve(env={**env, "TILIK_CENTRAL_PASSFILE": str(tmp_path / "missing")})


def test_no_server_binaries_gives_a_clear_reason(monkeypatch):
    import pg_cluster

    monkeypatch.setattr(pg_cluster.glob, "glob", lambda pattern: [])
    monkeypatch.setattr(pg_cluster.shutil, "which", lambda name: None)
    with pytest.raises(pg_cluster.ClusterUnavailable, match="apt-get install -y postgresql"):
        pg_cluster.start()
