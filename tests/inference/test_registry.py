"""Pack discovery and checking: hashes, missing files, invalid manifests, user packs overriding."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from inference.errors import PackNotFoundError, PackUnusableError
from inference.inspector import Inspector
from inference.registry import PackRegistry, check_pack, sha256_file
from tiny_models import build_colour_model, colour_manifest, write_pack


def test_usable_pack_is_found(packs_dir):
    registry = PackRegistry()
    [pack] = registry.usable()
    assert pack.id == "colour" and pack.usable and pack.origin == "bundled"
    assert pack.checked_files == ("model.onnx",)


def test_sha_mismatch_is_refused_and_never_loaded(tmp_path):
    folder = write_pack(tmp_path / "colour")
    with open(folder / "model.onnx", "ab") as fh:
        fh.write(b"\0")  # one byte appended: the file no longer matches its manifest
    pack = check_pack(folder)
    assert not pack.usable
    assert "does not match the manifest's SHA-256" in pack.problem
    with pytest.raises(PackUnusableError, match="SHA-256"):
        Inspector(pack)


def test_missing_model_file_and_invalid_manifest_are_listed_with_reasons(tmp_path):
    models = tmp_path / "models"
    write_pack(models / "good")
    broken = write_pack(models / "nofile")
    (broken / "model.onnx").unlink()
    invalid = write_pack(models / "invalid")
    data = json.loads((invalid / "manifest.json").read_text())
    del data["classes"]
    (invalid / "manifest.json").write_text(json.dumps(data))
    (models / "empty-folder").mkdir()
    registry = PackRegistry([(models, "bundled")])
    by_id = {p.id: p for p in registry.all()}
    assert by_id["good"].usable
    assert "model file 'model.onnx' is missing" in by_id["nofile"].problem
    assert "'classes' is a required property" in by_id["invalid"].problem
    assert "no manifest.json" in by_id["empty-folder"].problem
    assert [p.id for p in registry.usable()] == ["good"]
    with pytest.raises(PackUnusableError, match="cannot be used: .*missing"):
        registry.get("nofile")
    with pytest.raises(PackNotFoundError, match="Usable packs: good"):
        registry.get("nope")


def test_user_pack_with_higher_version_wins(tmp_path):
    bundled, user = tmp_path / "bundled", tmp_path / "user"
    model = build_colour_model()
    write_pack(bundled / "colour", model)
    write_pack(user / "colour", model, manifest=colour_manifest(model, version="1.1.0"))
    registry = PackRegistry([(bundled, "bundled"), (user, "user")])
    pack = registry.get("colour")
    assert (pack.origin, pack.version) == ("user", "1.1.0")


def test_corrupt_onnx_with_matching_hash_is_a_clear_error(tmp_path):
    garbage = b"this is not an onnx model"
    folder = write_pack(tmp_path / "colour", garbage)
    pack = check_pack(folder)
    assert pack.usable  # the hash matches what the manifest says ...
    with pytest.raises(PackUnusableError, match="could not be loaded by onnxruntime"):
        Inspector(pack)  # ... but onnxruntime refuses it, in plain words


def test_manifest_that_disagrees_with_model_is_refused(tmp_path):
    model = build_colour_model()
    for overrides, words in [
        ({"classes": [{"name": n, "label": n} for n in ("a", "b")], "decision": {"alarming": ["a"]}},
         "gives 3 probabilities but the manifest lists 2"),
        ({"input": {**colour_manifest(model)["input"], "size": [64, 64]}}, "input shape"),
        ({"input": {**colour_manifest(model)["input"], "name": "pixels"}}, "no input named 'pixels'"),
        ({"outputs": {"probs": "probs", "cam": "heat"}}, "names output 'heat'"),
    ]:
        manifest = colour_manifest(model)
        manifest.update(overrides)
        folder = write_pack(tmp_path / f"p{len(words)}", model, manifest=manifest)
        with pytest.raises(PackUnusableError, match=words):
            Inspector(check_pack(folder))


def test_sha256_file_matches_hashlib(tmp_path):
    import hashlib

    path = tmp_path / "f.bin"
    data = bytes(range(256)) * 9000
    path.write_bytes(data)
    assert sha256_file(path) == hashlib.sha256(data).hexdigest()


# -- user packs override only with a strictly higher release (issue 22 item 3) ----------------------
@pytest.mark.parametrize("user_version, wins", [
    ("1.0.0", False),          # the same version never wins (it used to)
    ("1.0.0+x", False),        # build tags never win
    ("1.0.0-rc1", False),      # pre-releases never win
    ("1.0.1-rc1", False),      # ... not even of a higher version
    ("1.0.1+build.7", False),
    ("0.9.9", False),
    ("1.0.1", True),
    ("2.0.0", True),
    ("1.0.10", True),          # numbers, not text: 10 > 9
])
def test_user_pack_overrides_only_with_a_strictly_higher_release(tmp_path, user_version, wins):
    bundled, user = tmp_path / "bundled", tmp_path / "user"
    model = build_colour_model()
    write_pack(bundled / "colour", model, manifest=colour_manifest(model, version="1.0.9"))
    write_pack(user / "colour", model, manifest=colour_manifest(model, version=_bump(user_version)))
    for registry in (PackRegistry([(bundled, "bundled"), (user, "user")]),):
        assert registry.get("colour").origin == ("user" if wins else "bundled")  # the lazy path
        assert [p.origin for p in registry.usable()] == ["user" if wins else "bundled"]  # the full listing
        assert registry.get("colour").origin == ("user" if wins else "bundled")  # from the listing


def _bump(version: str) -> str:
    """Versions in the table are relative to 1.0.0; the bundled pack is 1.0.9 (so 1.0.10 tests numeric order)."""
    return {"1.0.0": "1.0.9", "1.0.0+x": "1.0.9+x", "1.0.0-rc1": "1.0.9-rc1", "1.0.1-rc1": "1.1.0-rc1",
            "1.0.1+build.7": "1.1.0+build.7", "0.9.9": "0.9.9", "1.0.1": "1.1.0", "2.0.0": "2.0.0",
            "1.0.10": "1.0.10"}[version]


def test_same_version_user_pack_cannot_silence_an_alarm(tmp_path):
    """The reproduction: a look-alike user pack (same id, same version, same model, so the same
    pack_sha256) with a manifest that never alarms turned a red ("alarming") image calm."""
    from tiny_models import solid

    bundled, user = tmp_path / "bundled", tmp_path / "user"
    model = build_colour_model()
    write_pack(bundled / "colour", model, manifest=colour_manifest(
        model, decision={"alarming": ["red"], "alarm_threshold": 0.3, "top_k": 3}))
    calm = colour_manifest(model, decision={"alarming": ["red"], "alarm_threshold": 1.0, "top_k": 3},
                           classes=("red", "green", "blue"))
    calm["classes"][0]["label"] = "Looks fine"
    write_pack(user / "colour", model, manifest=calm)
    registry = PackRegistry([(bundled, "bundled"), (user, "user")])
    pack = registry.get("colour")
    assert pack.origin == "bundled"
    result = Inspector(pack).classify(solid("red"))
    assert result.label == "red" and result.display_label == "Red" and result.alarming
    # Both packs are listed and usable; the records tell them apart by the manifest's hash.
    both = {p.origin: p for p in registry.all()}
    assert both["user"].usable and both["user"].manifest_sha256 != both["bundled"].manifest_sha256
    assert result.manifest_sha256 == both["bundled"].manifest_sha256


def test_two_user_packs_of_one_id_the_higher_release_is_used(tmp_path):
    bundled, user = tmp_path / "bundled", tmp_path / "user"
    model = build_colour_model()
    write_pack(bundled / "colour", model)
    write_pack(user / "colour-a", model, manifest=colour_manifest(model, version="1.2.0"))
    write_pack(user / "colour-b", model, manifest=colour_manifest(model, version="1.3.0-rc1"))
    write_pack(user / "colour-c", model, manifest=colour_manifest(model, version="1.1.0"))
    pack = PackRegistry([(bundled, "bundled"), (user, "user")]).get("colour")
    assert (pack.folder.name, pack.version) == ("colour-a", "1.2.0")


def test_a_broken_user_pack_with_a_higher_version_leaves_the_bundled_one_in_use(tmp_path):
    bundled, user = tmp_path / "bundled", tmp_path / "user"
    model = build_colour_model()
    write_pack(bundled / "colour", model)
    newer = write_pack(user / "colour", model, manifest=colour_manifest(model, version="9.0.0"))
    (newer / "model.onnx").write_bytes(model + b"\0")
    registry = PackRegistry([(bundled, "bundled"), (user, "user")])
    assert registry.get("colour").origin == "bundled"
    assert "does not match" in {p.origin: p for p in registry.all()}["user"].problem


# -- one broken user pack never affects another (issue 22 item 6) -----------------------------------
def _hostile_user_packs(user, model: bytes) -> dict[str, str]:
    """User packs that each broke something; returns folder name -> words of the reason listed."""
    import os

    def manifest_text(name: str, text: str) -> None:
        folder = write_pack(user / name, model)
        (folder / "manifest.json").write_text(text, encoding="utf-8")

    def with_manifest(name: str, **changes) -> None:
        data = colour_manifest(model, pack_id="colour", version="9.0.0")
        data.update(changes)
        write_pack(user / name, model, manifest=data)

    manifest_text("nested", "[" * 200_000 + "]" * 200_000)
    manifest_text("bigint", json.dumps(colour_manifest(model, pack_id="bigint")).replace('"top_k": 3', '"top_k": ' + "7" * 5000))
    manifest_text("nan", json.dumps(colour_manifest(model, pack_id="colour", version="9.0.0")).replace('"min_confidence": 0.5', '"min_confidence": NaN'))
    float_size = colour_manifest(model, pack_id="colour", version="9.0.0")
    float_size["input"]["size"] = [32.0, 32.0]
    write_pack(user / "floatsize", model, manifest=float_size)
    with_manifest("passwd", card="/etc/passwd")
    with_manifest("devzero", card="CARD.md")
    os.symlink("/dev/zero", user / "devzero" / "CARD.md")
    with_manifest("symlink-out", card="CARD.md")
    os.symlink("/etc/hostname", user / "symlink-out" / "CARD.md")
    with_manifest("fifo-card", card="CARD.md")
    os.mkfifo(user / "fifo-card" / "CARD.md")
    fifo_model = write_pack(user / "fifo-model", model, manifest=colour_manifest(model, pack_id="colour", version="9.0.0"))
    (fifo_model / "model.onnx").unlink()
    os.mkfifo(fifo_model / "model.onnx")
    fifo_manifest = user / "fifo-manifest"
    fifo_manifest.mkdir()
    os.mkfifo(fifo_manifest / "manifest.json")
    return {"nested": "nests more than", "bigint": "5000-digit integer", "nan": "contains NaN",
            "floatsize": "is not of type 'integer'", "passwd": "not an absolute path",
            "devzero": "leads outside the pack", "symlink-out": "leads outside the pack",
            "fifo-card": "not a regular file", "fifo-model": "not a regular file",
            "fifo-manifest": "not a regular file"}


def test_hostile_user_packs_are_listed_as_unusable_and_the_bundled_pack_still_works(tmp_path, packs_dir, capsys):
    from tilik.cli import main
    from tiny_models import solid

    user = tmp_path / "user"
    expected = _hostile_user_packs(user, build_colour_model())
    import os
    os.environ["TILIK_PACKS_DIR"] = str(user)  # restored by the autouse fixture's monkeypatch
    registry = PackRegistry()
    listed = {p.folder.name: p for p in registry.all() if p.origin == "user"}
    for name, words in expected.items():
        assert not listed[name].usable and words in listed[name].problem, (name, listed[name].problem)
    assert [(p.id, p.origin) for p in registry.usable()] == [("colour", "bundled")]
    assert registry.get("colour").origin == "bundled"
    assert PackRegistry().get("colour").origin == "bundled"  # the lazy path reads the same manifests

    assert main(["packs", "--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert {r["folder"].rsplit("/", 1)[-1] for r in rows if not r["usable"]} == set(expected)
    image = tmp_path / "red.png"
    from PIL import Image
    Image.fromarray(solid("red")).save(image)
    assert main(["classify", "--pack", "colour", "--json", str(image)]) == 0
    out = json.loads(capsys.readouterr().out.splitlines()[0])
    assert out["label"] == "red" and len(out["manifest_sha256"]) == 64


# -- lazy packs (issue 28): one pack asked for, one pack checked ------------------------------------
_OPENED: list[str] | None = None


def _audit(event: str, args: tuple) -> None:
    if _OPENED is not None and event == "open" and isinstance(args[0], (str, bytes, os.PathLike)):
        _OPENED.append(os.fsdecode(args[0]))


sys.addaudithook(_audit)  # Python's own audit events: every file the registry really opens


def test_get_reads_the_manifests_but_hashes_only_the_pack_asked_for(tmp_path):
    global _OPENED
    bundled, user = tmp_path / "bundled", tmp_path / "user"
    model = build_colour_model()
    write_pack(bundled / "colour", model)
    write_pack(bundled / "other", model)
    write_pack(user / "colour-retrained", model, manifest=colour_manifest(model, version="1.1.0"))
    write_pack(user / "third", model)
    registry = PackRegistry([(bundled, "bundled"), (user, "user")])
    _OPENED = []
    try:
        pack = registry.get("colour")
    finally:
        opened, _OPENED = _OPENED, None
    assert (pack.origin, pack.version) == ("user", "1.1.0")  # the override still resolved
    models_read = sorted(Path(p).parent.name for p in opened if p.endswith("model.onnx"))
    assert models_read == ["colour", "colour-retrained"]  # never 'other' or 'third'
    assert {Path(p).parent.name for p in opened if p.endswith("manifest.json")} >= {"other", "third"}
    # `tilik packs` (all) still checks everything
    _OPENED = []
    try:
        everything = PackRegistry([(bundled, "bundled"), (user, "user")]).all()
    finally:
        opened, _OPENED = _OPENED, None
    assert len(everything) == 4
    assert sorted(Path(p).parent.name for p in opened if p.endswith("model.onnx")) == [
        "colour", "colour-retrained", "other", "third"]


def test_a_pack_only_one_folder_claims_is_hashed_once_as_it_is_loaded(tmp_path):
    from tiny_models import solid

    bundled = tmp_path / "bundled"
    model = build_colour_model()
    folder = write_pack(bundled / "colour", model)
    pack = PackRegistry([(bundled, "bundled")]).get("colour")
    assert pack.usable and not pack.hashes_checked and pack.checked_files == ()
    assert Inspector(pack).classify(solid("blue")).label == "blue"  # hashed here, on the bytes loaded
    from inference.inspector import clear_session_cache

    clear_session_cache()
    (folder / "model.onnx").write_bytes(model + b"\0")
    pack = PackRegistry([(bundled, "bundled")]).get("colour")
    with pytest.raises(PackUnusableError, match="does not match the manifest's SHA-256"):
        Inspector(pack)  # still never runs unhashed bytes
    os.remove(folder / "model.onnx")
    with pytest.raises(PackUnusableError, match="model file 'model.onnx' is missing"):
        PackRegistry([(bundled, "bundled")]).get("colour")
