"""The central copy on the command line against a real PostgreSQL server: migrate, push (killed
at a random moment, then resumed), verify --central (JSON shape, a server edit named), the read
commands and exports from the central copy, and passwords kept out of argv, output and logs."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "inference" / "log"))

from central_helpers import fill_station, local_rows, server_rows  # noqa: E402
from inference.log import InspectionLog  # noqa: E402
from log_helpers import synthetic_result  # noqa: E402
from tilik.cli import main  # noqa: E402

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def station_env(central_db, monkeypatch):
    monkeypatch.setenv("TILIK_CENTRAL_PASSWORD", central_db.station_password)
    monkeypatch.delenv("TILIK_CENTRAL_URL", raising=False)
    monkeypatch.delenv("PGPASSWORD", raising=False)
    return central_db


def _cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_migrate_push_verify_and_read_the_central_copy(station_env, tmp_path, capsys, monkeypatch):
    db = station_env
    fresh = "tilik_cli_fresh"
    with db.admin() as admin:
        admin.execute(f'CREATE DATABASE "{fresh}"')
    try:
        url = db.admin_url.replace(f"/{db.dbname}?", f"/{fresh}?")
        code, out, _ = _cli(capsys, "central", "migrate", "--url", url)
        assert code == 0 and "applied 1" in out
        code, out, _ = _cli(capsys, "central", "migrate", "--url", url)
        assert code == 0 and "already up to date" in out
    finally:
        with db.admin() as admin:
            admin.execute(f'DROP DATABASE "{fresh}" WITH (FORCE)')

    path = tmp_path / "a.sqlite3"
    with InspectionLog.open(path) as log:
        fill_station(log, 8)
    with InspectionLog.open(tmp_path / "b.sqlite3") as log:
        fill_station(log, 4, start=40, customer="ACC-2")
    code, out, _ = _cli(capsys, "log", "push", "--db", str(path), "--to", db.station_url, "--station", "gate-1")
    assert code == 0 and "Pushed 12 rows and 1 files of station gate-1" in out
    code, out, _ = _cli(capsys, "log", "push", "--db", str(path), "--to", db.station_url, "--station", "gate-1")
    assert code == 0 and out.startswith("Nothing to push")
    monkeypatch.setenv("TILIK_CENTRAL_URL", db.station_url)  # the other way to say where the server is
    code, out, _ = _cli(capsys, "refs", "push", "--db", str(tmp_path / "b.sqlite3"), "--station", "gate-2")
    assert code == 0 and "station gate-2" in out

    code, out, _ = _cli(capsys, "log", "verify", "--central", db.station_url, "--json")
    report = json.loads(out)
    assert code == 0 and report["ok"] is True and set(report["stations"]) == {"gate-1", "gate-2"}
    g1 = report["stations"]["gate-1"]
    assert g1["inspections"] == 9 and g1["rows"] == 12 and g1["ok"] is True and g1["first_broken"] is None
    with InspectionLog.open(path, read_only=True) as log:
        seq, h = log.head()
    assert g1["head"] == f"{seq}:{h}"

    # The read commands, with the same filters (and the station as one).
    code, out, _ = _cli(capsys, "log", "list", "--central", "--json", "--limit", "0")
    assert code == 0 and len(out.splitlines()) == 9 + 5
    code, out, _ = _cli(capsys, "log", "list", "--central", "--station", "gate-1", "--mode", "signature", "--json")
    rows = [json.loads(line) for line in out.splitlines()]
    assert len(rows) == 1 and rows[0]["signature"]["customer_id"] == "ACC-1"
    assert rows[0]["review_state"] == "confirm" and rows[0]["latest_review"]["by"] == "chief"
    with InspectionLog.open(path, read_only=True) as log:
        local = log.get(rows[0]["id"])
    assert rows[0]["hash"] == local.hash and rows[0]["probabilities"] == local.probabilities
    code, out, _ = _cli(capsys, "log", "list", "--central", "--reviewed", "--json")
    assert code == 0 and len(out.splitlines()) == 2
    code, out, _ = _cli(capsys, "log", "list", "--central", "--limit", "0")  # many stations: a station column
    header, *lines = out.splitlines()
    assert code == 0 and header.split()[:6] == ["id", "time", "(local)", "mode", "station", "operator"]
    assert {line.split()[4] for line in lines[:14]} == {"gate-1", "gate-2"}
    code, out, err = _cli(capsys, "log", "show", "1", "--central")
    assert code == 2 and "several stations (gate-1, gate-2)" in err
    code, out, _ = _cli(capsys, "log", "show", str(rows[0]["id"]), "--central", "--station", "gate-1", "--json")
    shown = json.loads(out)
    assert code == 0 and shown["hash"] == local.hash and [r["decision"] for r in shown["reviews"]] == ["confirm"]

    csv_out = tmp_path / "central.csv"
    code, out, _ = _cli(capsys, "log", "export", "--central", "--format", "csv", "--station", "gate-2", str(csv_out))
    assert code == 0 and out.startswith("5 inspections")
    assert len(csv_out.read_text(encoding="utf-8-sig").splitlines()) == 1 + 5
    pdf_out = tmp_path / "central.pdf"
    code, _, err = _cli(capsys, "log", "export", "--central", "--format", "pdf", str(pdf_out))
    assert code == 2 and "--station" in err
    code, out, _ = _cli(capsys, "log", "export", "--central", "--format", "pdf", "--station", "gate-1",
                        "--mode", "signature", str(pdf_out))
    assert code == 0 and out.startswith("2 pages") and pdf_out.read_bytes().startswith(b"%PDF")

    # A server-side edit: exit 1, the row named, in JSON and in words.
    with db.admin() as admin:
        admin.execute("SET session_replication_role = replica")
        admin.execute("UPDATE tilik.evidence SET doc = replace(doc, '\"label\":\"red\"', '\"label\":\"green\"') "
                      "WHERE station = 'gate-2' AND tbl = 'inspections' AND row_id = 2")
    code, out, _ = _cli(capsys, "log", "verify", "--central", "--json")
    report = json.loads(out)
    assert code == 1 and report["ok"] is False and report["stations"]["gate-1"]["ok"] is True
    broken = report["stations"]["gate-2"]["first_broken"]
    assert broken["table"] == "inspections" and broken["id"] == 2
    code, out, _ = _cli(capsys, "log", "verify", "--central", "--station", "gate-2")
    assert code == 1 and "Station gate-2: BROKEN at inspection 2" in out


def test_a_push_killed_at_a_random_moment_resumes_to_exactly_the_stations_rows(station_env, tmp_path):
    db = station_env
    path = tmp_path / "station.sqlite3"
    with InspectionLog.open(path) as log:
        fill_station(log, 3000)
    total = len(local_rows(path))
    env = {**os.environ, "PYTHONPATH": str(REPO), "TILIK_CENTRAL_URL": db.station_url,
           "TILIK_CENTRAL_PASSWORD": db.station_password}
    cmd = [sys.executable, "-m", "tilik", "log", "push", "--db", str(path), "--station", "gate-k", "--batch", "10"]
    rng = random.Random(27)
    seen_mid_push = []
    with db.admin() as admin:
        for attempt in range(3):
            proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            deadline = time.monotonic() + 60
            start_rows = len(server_rows(admin, "gate-k"))
            while time.monotonic() < deadline and proc.poll() is None:
                if len(server_rows(admin, "gate-k")) > start_rows:
                    break  # it is pushing now
                time.sleep(0.02)
            time.sleep(rng.uniform(0.0, 0.1))
            proc.send_signal(signal.SIGKILL)
            proc.wait(30)
            seen_mid_push.append(len(server_rows(admin, "gate-k")))
        assert any(0 < n < total for n in seen_mid_push), seen_mid_push  # at least one kill landed mid-push
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        assert server_rows(admin, "gate-k") == local_rows(path)  # exactly the station's rows, in order
        again = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
        assert again.returncode == 0 and again.stdout.startswith("Nothing to push")
        assert server_rows(admin, "gate-k") == local_rows(path)
    verify = subprocess.run([sys.executable, "-m", "tilik", "log", "verify", "--central", "--json"], env=env,
                            capture_output=True, text=True, timeout=120)
    assert verify.returncode == 0 and json.loads(verify.stdout)["stations"]["gate-k"]["rows"] == total


def test_a_rewritten_station_is_refused_on_the_command_line(station_env, tmp_path, capsys):
    from central_helpers import rewrite_local

    db = station_env
    path = tmp_path / "a.sqlite3"
    with InspectionLog.open(path) as log:
        fill_station(log, 6)
    assert _cli(capsys, "log", "push", "--db", str(path), "--to", db.station_url, "--station", "g")[0] == 0
    seq = rewrite_local(path, "inspections", 2, "operator", "nobody")
    code, out, err = _cli(capsys, "log", "push", "--db", str(path), "--to", db.station_url, "--station", "g")
    assert code == 1 and f"from chain position {seq} on" in err and "rewritten after a push" in err
    code, out, _ = _cli(capsys, "log", "verify", "--central", db.station_url)
    assert code == 0 and "refused push" in out and "rewritten after a push" in out


def test_passwords_never_reach_argv_output_or_the_logs(station_env, tmp_path, capsys, monkeypatch):
    db = station_env
    path = tmp_path / "a.sqlite3"
    with InspectionLog.open(path) as log:
        log.record_result(synthetic_result(1), mode="general")
    secret = db.station_password
    with_password = db.station_url.replace(f"{db.station_user}@", f"{db.station_user}:{secret}@")
    code, out, err = _cli(capsys, "log", "push", "--db", str(path), "--to", with_password)
    assert code == 2 and "contains a password" in err and secret not in out + err
    # A wrong password: refused in words, no secret echoed.
    monkeypatch.setenv("TILIK_CENTRAL_PASSWORD", "wrong-" + secret)
    code, out, err = _cli(capsys, "log", "push", "--db", str(path), "--to", db.station_url)
    assert code == 1 and "Cannot reach the central server" in err and secret not in out + err
    # A password file readable by others is refused; 0600 works.
    monkeypatch.delenv("TILIK_CENTRAL_PASSWORD")
    passfile = tmp_path / "pgpass"
    passfile.write_text(f"127.0.0.1:{db.cluster.port}:{db.dbname}:{db.station_user}:{secret}\n")
    passfile.chmod(0o644)
    monkeypatch.setenv("TILIK_CENTRAL_PASSFILE", str(passfile))
    code, out, err = _cli(capsys, "log", "push", "--db", str(path), "--to", db.station_url)
    assert code == 2 and "chmod 600" in err
    passfile.chmod(0o600)
    monkeypatch.setenv("TILIK_LOG_LEVEL", "DEBUG")
    import logging

    records: list[str] = []
    handler = logging.Handler()
    handler.emit = lambda record: records.append(record.getMessage())  # type: ignore[method-assign]
    logging.getLogger().addHandler(handler)
    try:
        code, out, err = _cli(capsys, "log", "push", "--db", str(path), "--to", db.station_url, "--station", "p")
    finally:
        logging.getLogger().removeHandler(handler)
    assert code == 0 and "Pushed 1 rows" in out
    assert secret not in out + err + "\n".join(records)
    # Nor in the station's log or anything the server keeps.
    assert secret.encode() not in path.read_bytes()
    with db.admin() as admin:
        dump = " ".join(str(r) for t in ("stations", "evidence", "pushes", "refused_pushes")
                        for r in admin.execute(f"SELECT * FROM tilik.{t}"))
    assert secret not in dump


def test_tls_options_in_the_url_reach_the_driver(station_env, tmp_path, capsys):
    """sslmode=require against this server (no TLS) must fail: the option was passed through."""
    path = tmp_path / "a.sqlite3"
    with InspectionLog.open(path) as log:
        log.record_result(synthetic_result(1), mode="general")
    code, _, err = _cli(capsys, "log", "push", "--db", str(path), "--to", station_env.station_url + "?sslmode=require")
    assert code == 1 and "SSL" in err


def test_an_unreachable_server_is_said_in_words(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("TILIK_CENTRAL_PASSWORD", "x")
    path = tmp_path / "a.sqlite3"
    InspectionLog.open(path).close()
    from pg_cluster import free_port

    code, _, err = _cli(capsys, "log", "push", "--db", str(path), "--to", f"postgresql://s@127.0.0.1:{free_port()}/t")
    assert code == 1 and "Cannot reach the central server postgresql://s@127.0.0.1" in err
    code, _, err = _cli(capsys, "log", "verify", "--central")
    assert code == 2 and "TILIK_CENTRAL_URL" in err


def test_push_progress_bar_on_a_terminal():
    import io

    from tilik.central_cmd import PushProgress

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    stream = Terminal()
    bar = PushProgress(stream)
    bar(0, 200)
    bar(100, 200)
    bar(200, 200)
    bar.close()
    text = stream.getvalue()
    assert "100/200 rows" in text and "200/200 rows" in text and "#" * 30 in text and text.endswith("\n")
    quiet = io.StringIO()  # not a terminal (a log file, CI): no bar
    PushProgress(quiet)(50, 100)
    assert quiet.getvalue() == ""


def test_push_and_verify_central_report_the_signed_head(station_env, tmp_path, capsys):
    """The push says it sent the signed head; verify --central reports it per station (JSON and
    words), and a signed head edited on the server is named with exit 1."""
    from inference.log.signing import StationKey

    db = station_env
    path = tmp_path / "s.sqlite3"
    with InspectionLog.open(path) as log:
        fill_station(log, 3)
        seq, _ = log.head()
    key_id = StationKey.load().key_id
    code, out, _ = _cli(capsys, "log", "push", "--db", str(path), "--to", db.station_url, "--station", "gate-s")
    assert code == 0 and f"Sent the head signed by this log's key {key_id}" in out
    code, out, _ = _cli(capsys, "log", "verify", "--central", db.station_url, "--json")
    signed = json.loads(out)["stations"]["gate-s"]["signed_head"]
    assert code == 0 and signed == {"seq": seq, "key_id": key_id, "ok": True, "heads_checked": 1, "problem": None}
    code, out, _ = _cli(capsys, "log", "verify", "--central", db.station_url)
    assert code == 0 and f"signed head: position {seq} by key {key_id}, signature valid" in out
    with db.admin() as admin:
        admin.execute("SET session_replication_role = replica")
        admin.execute("UPDATE tilik.signed_heads SET time_utc = '2031-01-01T00:00:00Z'")
    code, out, _ = _cli(capsys, "log", "verify", "--central", db.station_url, "--json")
    signed = json.loads(out)["stations"]["gate-s"]["signed_head"]
    assert code == 1 and signed["ok"] is False and "edited on the server" in signed["problem"]
    code, out, _ = _cli(capsys, "log", "verify", "--central", db.station_url)
    assert code == 1 and "signed head: NOT VALID: the signed head of station gate-s" in out
    assert f"Station gate-s: BROKEN at chain position {seq}" in out
