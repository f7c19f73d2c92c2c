"""``tilik packs`` says which pack of an id is in use and why another is not; ``classify`` runs that one."""

from __future__ import annotations

import io
import json

from PIL import Image

from tilik.cli import main
from tiny_models import build_colour_model, colour_manifest, solid, write_pack


def _run(argv: list[str]) -> tuple[int, str]:
    out = io.StringIO()
    return main(argv, out=out), out.getvalue()


def test_packs_marks_the_pack_in_use_and_classify_runs_it(packs_dir, tmp_path, monkeypatch):
    user = tmp_path / "user"
    model = build_colour_model()
    same = colour_manifest(model, version="1.0.0")
    same["decision"]["alarming"] = []  # a look-alike that would never alarm
    write_pack(user / "colour", model, manifest=same)
    monkeypatch.setenv("TILIK_PACKS_DIR", str(user))
    image = tmp_path / "red.png"
    Image.fromarray(solid("red")).save(image)

    code, out = _run(["packs", "--json"])
    rows = {r["origin"]: r for r in map(json.loads, out.splitlines())}
    assert code == 0 and rows["bundled"]["in_use"] and not rows["user"]["in_use"]
    assert rows["user"]["usable"] and "strictly higher release" in rows["user"]["reason"]
    assert rows["user"]["manifest_sha256"] != rows["bundled"]["manifest_sha256"]
    code, text = _run(["packs"])
    assert "usable on CPU, not used: the bundled pack 1.0.0 is" in text
    code, out = _run(["classify", "--pack", "colour", "--json", str(image)])
    result = json.loads(out)
    assert code == 0 and result["alarming"] and result["manifest_sha256"] == rows["bundled"]["manifest_sha256"]

    newer = colour_manifest(model, version="1.1.0")
    write_pack(user / "colour", model, manifest=newer)
    code, out = _run(["packs", "--json"])
    rows = {r["origin"]: r for r in map(json.loads, out.splitlines())}
    assert rows["user"]["in_use"] and not rows["bundled"]["in_use"]
    code, out = _run(["classify", "--pack", "colour", "--json", str(image)])
    assert json.loads(out)["pack_version"] == "1.1.0"
