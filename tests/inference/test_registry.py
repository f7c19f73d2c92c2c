"""Pack discovery and checking: hashes, missing files, invalid manifests, user packs overriding."""

from __future__ import annotations

import json

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
