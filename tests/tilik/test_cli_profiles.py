"""``tilik profile`` and ``tilik classify --profile`` on the real seal-integrity pack (issue 25),
with seal photos rendered by the project's generator."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
from PIL import Image

from inference.log import InspectionLog
from inference.profiles import ProfileStore
from tilik.cli import main
from training.seals.generator import render_sample


@pytest.fixture()
def run(capsys):
    """main() on argv; what it printed (subcommands like ``profile`` print to stdout)."""
    def _run(argv: list[str]) -> tuple[int, str]:
        out = io.StringIO()
        capsys.readouterr()
        code = main(argv, out=out)
        return code, out.getvalue() + capsys.readouterr().out
    return _run


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    folder = tmp_path_factory.mktemp("seals")
    paths = {"intact": [], "damaged": []}
    for i in range(12):
        for label in ("intact", "damaged") if i >= 10 else ("intact",):
            img, _, _ = render_sample(np.random.default_rng([25, i]), label, "bolt", None if label == "intact" else "cut",
                                      "steel_door_blue", "daylight", size=224)
            path = folder / f"{label}_{i:02d}.jpg"
            Image.fromarray(img).save(path, quality=92)
            paths[label].append(path)
    return paths


def test_enrol_list_show_classify_remove(run, photos, tmp_path):
    enrolled = photos["intact"][:10]
    code, out = run(["profile", "enrol", "--pack", "seal-integrity", "--name", "Gate 3 bolts", "--json",
                     *map(str, enrolled)])
    assert code == 0, out
    made = json.loads(out)
    assert made["images"] + len(made["skipped"]) == 10 and made["threshold"] > 0
    assert made["pack"]["id"] == "seal-integrity" and made["feature_shape"] == [14, 14, 192]
    code, out = run(["profile", "list", "--json"])
    assert code == 0 and [json.loads(x)["name"] for x in out.splitlines()] == ["Gate 3 bolts"]
    code, out = run(["profile", "show", "Gate 3 bolts"])
    assert code == 0 and "threshold" in out and "5-fold" in out

    judged = [photos["intact"][10], photos["damaged"][0]]
    db = tmp_path / "log.sqlite3"
    code, out = run(["classify", "--pack", "seal-integrity", "--profile", "Gate 3 bolts", "--json",
                     "--heatmap-dir", str(tmp_path / "heat"), "--log", str(db), *map(str, judged)])
    assert code == 0, out
    rows = [json.loads(x) for x in out.splitlines()]
    for row in rows:
        assert row["label"] in ("intact", "damaged") or row["outcome"] == "refused"
        assert "damaged" in row["probabilities"]
        assert isinstance(row["anomaly_score"], float)
        assert row["profile"]["name"] == "Gate 3 bolts" and row["profile"]["id"] == made["id"]
        assert row["profile"]["hash"] == made["sha256"]
        assert row["heatmap"] and (tmp_path / "heat").is_dir()
        assert "synthetic_training" not in json.dumps(row["decision"])  # a profile judged it
    # The anomaly score of the cut bolt is above the intact one's.
    assert rows[1]["anomaly_score"] > rows[0]["anomaly_score"]

    code, out = run(["profile", "remove", "Gate 3 bolts"])
    assert code == 0 and "Retired" in out
    code, out = run(["classify", "--pack", "seal-integrity", "--profile", "Gate 3 bolts", str(judged[0])])
    assert code == 2  # a retired profile judges nothing
    with InspectionLog.open(db) as log:
        assert log.verify_chain().ok
        records = [log.get(i) for i in (1, 2)]
    for rec in records:
        assert ProfileStore().verify_record(rec.profile["id"], rec.profile["sha256"]).retired


def test_without_a_profile_the_seal_verdict_says_it_was_trained_on_generated_photos(run, photos):
    code, out = run(["classify", "--pack", "seal-integrity", "--json", str(photos["intact"][11])])
    assert code == 0
    row = json.loads(out)
    assert "anomaly_score" not in row
    assert [n["code"] for n in row["decision"]["notes"]] == ["synthetic_training"]
    code, out = run(["classify", "--pack", "seal-integrity", str(photos["intact"][11])])
    assert "trained on generated photos only" in out


def test_profile_errors_are_plain(run, photos):
    code, out = run(["profile", "enrol", "--pack", "seal-integrity", "--name", "few", *map(str, photos["intact"][:3])])
    assert code == 2
    code, _ = run(["classify", "--pack", "seal-integrity", "--profile", "nobody", str(photos["intact"][0])])
    assert code == 2
    code, _ = run(["profile", "show", "nobody"])
    assert code == 2
