"""``tilik verify``: JSON fields, the ``--`` separator, error objects and exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("skl2onnx")

from sig_fixtures import draw_signature, save, write_verify_pack  # noqa: E402
from tilik.cli import main  # noqa: E402

FIELDS = {"path", "label", "score", "threshold", "reference_scores", "needs_review", "review_reasons", "overlay",
          "timings_ms", "references", "pack", "pack_version"}


@pytest.fixture(scope="module")
def bundled(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("cli-packs")
    write_verify_pack(root / "signature-verify")
    return root


@pytest.fixture
def env(bundled, monkeypatch):
    monkeypatch.setenv("TILIK_BUNDLED_PACKS_DIR", str(bundled))


@pytest.fixture(scope="module")
def imgs(tmp_path_factory) -> dict[str, str]:
    d = tmp_path_factory.mktemp("cli-imgs")
    out = {
        "r1": save(d / "r1.png", draw_signature("loops")),
        "r2": save(d / "r2.png", draw_signature("loops", shift=4)),
        "r3": save(d / "r3.png", draw_signature("loops", shift=-3)),
        "gen": save(d / "gen.png", draw_signature("loops", shift=2)),
        "forg": save(d / "forg.png", draw_signature("zigzag")),
        "blank": save(d / "blank.png", np.full((60, 90), 250, np.uint8)),
    }
    (d / "text.png").write_text("hello")
    out["text"] = d / "text.png"
    return {k: str(v) for k, v in out.items()}


def _rows(out: str) -> list[dict]:
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def test_json_contract_and_double_dash(env, imgs, capsys, tmp_path):
    code = main(["verify", "--pack", "signature-verify", "--reference", imgs["r1"], imgs["r2"], imgs["r3"],
                 "--json", "--overlay-dir", str(tmp_path / "ov"), "--", imgs["gen"], imgs["forg"]])
    rows = _rows(capsys.readouterr().out)
    assert code == 0
    assert [r["label"] for r in rows] == ["genuine", "forged"]
    for r in rows:
        assert FIELDS <= set(r)
        assert 0.0 <= r["score"] <= 1.0 and len(r["reference_scores"]) == 3
        assert Path(r["overlay"]).is_file()
        assert r["references"] == [imgs["r1"], imgs["r2"], imgs["r3"]]


def test_queries_may_come_first_and_pack_defaults(env, imgs, capsys):
    code = main(["verify", imgs["gen"], "--json", "-r", imgs["r1"], imgs["r2"], imgs["r3"]])
    assert code == 0
    assert _rows(capsys.readouterr().out)[0]["path"] == imgs["gen"]


def test_bad_query_gives_error_object_and_exit_1(env, imgs, capsys):
    code = main(["verify", "--reference", imgs["r1"], imgs["r2"], imgs["r3"], "--json", "--",
                 imgs["gen"], imgs["text"], imgs["blank"], "/no/such/file.png"])
    rows = _rows(capsys.readouterr().out)
    assert code == 1
    assert rows[0]["label"] == "genuine"
    assert [set(r) for r in rows[1:]] == [{"path", "error"}] * 3
    assert rows[1]["path"] == imgs["text"] and "not an image" in rows[1]["error"]
    assert "no signature" in rows[2]["error"]


def test_usage_errors_exit_2(env, imgs, capsys):
    # without `--` the references swallow the query: no QUERY left
    assert main(["verify", "--reference", imgs["r1"], imgs["gen"]]) == 2
    assert main(["verify", "--", imgs["gen"]]) == 2  # no --reference
    assert main(["verify", "--pack", "nope", "--reference", imgs["r1"], "--", imgs["gen"]]) == 2
    assert main(["verify", "--reference", "/no/ref.png", "--", imgs["gen"]]) == 2
    assert main(["verify", "--reference", imgs["blank"], "--", imgs["gen"]]) == 2
    err = capsys.readouterr().err
    assert "reference" in err


def test_table_output(env, imgs, capsys):
    code = main(["verify", "--reference", imgs["r1"], "--", imgs["gen"]])
    out = capsys.readouterr().out
    assert code == 0
    assert "Signature" in out or "genuine" in out.lower()
    assert "only 1 reference" in out and "1 of 1 signatures verified" in out
