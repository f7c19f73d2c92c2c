"""``tilik verify`` with hostile files (issue 22 item 1 and 8): an EPS named like an image is
refused as a query and as a reference without Ghostscript ever running; a FIFO does not hang; a
path longer than the system allows is one error."""

from __future__ import annotations

import io
import json
import os
import threading
from pathlib import Path

import pytest
from PIL import Image

pytest.importorskip("skl2onnx")

from sig_fixtures import draw_signature, save, write_verify_pack  # noqa: E402
from tilik.cli import main  # noqa: E402


def _eps(path: Path) -> str:
    Image.new("RGB", (40, 20), (0, 0, 0)).save(path, format="EPS")
    return str(path)


@pytest.fixture
def env(tmp_path, monkeypatch):
    write_verify_pack(tmp_path / "packs" / "signature-verify")
    monkeypatch.setenv("TILIK_BUNDLED_PACKS_DIR", str(tmp_path / "packs"))
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    marker = tmp_path / "gs-ran"
    (bin_dir / "gs").write_text(f"#!/bin/sh\ntouch '{marker}'\nexit 1\n")
    (bin_dir / "gs").chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    return marker


def test_eps_query_and_reference_are_refused_without_ghostscript(env, tmp_path, capsys):
    refs = [str(save(tmp_path / f"r{i}.png", draw_signature("loops", shift=i))) for i in range(3)]
    eps = _eps(tmp_path / "scan.jpg")
    fifo = tmp_path / "pipe.png"
    os.mkfifo(fifo)
    out = io.StringIO()
    box: dict = {}
    worker = threading.Thread(target=lambda: box.setdefault("code", main(
        ["verify", "--pack", "signature-verify", "--reference", *refs, "--json", "--", eps, str(fifo),
         "/".join(["d" * 200] * 30) + ".png"], out=None)), daemon=True)
    worker.start()
    worker.join(60)
    assert not worker.is_alive(), "verify blocked on a FIFO"
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert box["code"] == 1 and len(rows) == 3
    assert "not an image" in rows[0]["error"] and "not a regular file" in rows[1]["error"]
    assert "longer than this system allows" in rows[2]["error"]
    code = main(["verify", "--pack", "signature-verify", "--reference", refs[0], eps, "--json", "--", refs[1]],
                out=out)
    assert code == 2 and "not an image" in capsys.readouterr().err
    code = main(["verify", "--pack", "signature-verify", "--reference", "/".join(["r" * 200] * 30), "--", refs[1]])
    assert code == 2 and "longer than this system allows" in capsys.readouterr().err
    assert not env.exists()
