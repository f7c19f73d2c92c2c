"""What a ``tilik classify`` process loads at start-up (issue 28): not the other subsystems."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parents[2]
OTHERS = ("tilik.log_cmd", "tilik.verify_cmd", "tilik.refs_cmd", "tilik.central_cmd")


def test_classify_does_not_import_the_other_commands(packs_dir, tmp_path):
    img = tmp_path / "red.png"
    Image.fromarray(np.full((40, 40, 3), (220, 20, 20), np.uint8)).save(img)
    code = ("import json, sys; from tilik.cli import main; rc = main(['classify', '--pack', 'colour', '--json', "
            f"{str(img)!r}]); print(json.dumps([rc, [m for m in {OTHERS!r} if m in sys.modules]]))")
    env = dict(os.environ, PYTHONPATH=str(REPO))
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout
    rc, loaded = json.loads(out.strip().splitlines()[-1])
    assert rc == 0 and loaded == []


def test_the_other_commands_still_parse_and_run(packs_dir, tmp_path, capsys):
    from tilik import cli

    assert set(cli.EXTRA_COMMANDS) >= {"log", "verify", "refs", "central"}  # the old attribute still answers
    assert cli.main(["log", "verify", "--db", str(tmp_path / "new.sqlite3")]) in (0, 1)
    assert "central" not in cli.build_parser("classify").format_help()  # built for classify only
    usage = cli.build_parser().format_help()
    assert all(name in usage for name in ("classify", "log", "verify", "refs", "central"))
