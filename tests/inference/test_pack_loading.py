"""The bytes that are hashed are the bytes that are loaded (issue 22 item 3).

A pack's ONNX files (and their external data) are read once, hashed, and those bytes go to
onnxruntime; a file swapped after the listing fails its hash instead of running, and external data
the manifest does not list is never loaded, not even from the current directory.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np
import onnx
import pytest

from inference.errors import PackUnusableError
from inference.inspector import Inspector, clear_session_cache
from inference.registry import check_pack
from tiny_models import build_colour_model, colour_manifest, solid, write_pack


@pytest.fixture(autouse=True)
def _fresh_sessions():
    clear_session_cache()  # a cached session would hide what a new load does
    yield
    clear_session_cache()


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _external_pack(folder: Path, *, list_data: bool = True, data_name: str = "model.onnx.data") -> Path:
    """The colour pack with every weight in an external-data file."""
    folder.mkdir(parents=True)
    from onnx.external_data_helper import convert_model_to_external_data

    proto = onnx.load_from_string(build_colour_model())
    convert_model_to_external_data(proto, all_tensors_to_one_file=True, location=data_name, size_threshold=0)
    for tensor in proto.graph.initializer:  # weights only: onnxruntime wants shape constants inline
        if tensor.data_type != onnx.TensorProto.FLOAT:
            del tensor.external_data[:]
            tensor.data_location = onnx.TensorProto.DEFAULT
    onnx.save_model(proto, str(folder / "model.onnx"))
    assert (folder / data_name).stat().st_size > 0
    model = (folder / "model.onnx").read_bytes()
    manifest = colour_manifest(model)
    if list_data:
        manifest["model"]["external_data"] = [{"file": data_name, "sha256": _sha((folder / data_name).read_bytes())}]
    (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    return folder


def test_a_model_swapped_after_the_listing_is_refused_not_run(tmp_path):
    folder = write_pack(tmp_path / "colour")
    pack = check_pack(folder)
    assert pack.usable
    # Another valid model (it calls everything 'blue') put in place between listing and loading.
    (folder / "model.onnx").write_bytes(build_colour_model(classes=("blue", "green", "red")))
    with pytest.raises(PackUnusableError, match="model file 'model.onnx' does not match the manifest's SHA-256"):
        Inspector(pack)


def test_a_guard_file_swapped_after_the_listing_is_refused(tmp_path):
    from tiny_models import build_autoencoder_model, write_guarded_pack

    folder = write_guarded_pack(tmp_path / "guarded")
    pack = check_pack(folder)
    assert pack.usable
    (folder / "guard_ae.onnx").write_bytes(build_autoencoder_model("swap"))
    with pytest.raises(PackUnusableError, match="guard_autoencoder file 'guard_ae.onnx' does not match"):
        Inspector(pack)


def test_the_session_runs_the_bytes_that_were_hashed(tmp_path):
    folder = write_pack(tmp_path / "colour")
    pack = check_pack(folder)
    data = pack.read_model()
    assert _sha(data.model) == pack.manifest.model.sha256 and data.external_data == {}
    inspector = Inspector(pack)
    (folder / "model.onnx").unlink()  # nothing reads the path again: the session holds the bytes
    assert inspector.classify(solid("green")).label == "green"


def test_listed_external_data_is_hashed_and_loaded_from_memory(tmp_path, monkeypatch):
    folder = _external_pack(tmp_path / "colour")
    pack = check_pack(folder)
    assert pack.usable and pack.checked_files == ("model.onnx", "model.onnx.data")
    monkeypatch.chdir(tmp_path)  # not the pack folder: the data comes from memory
    inspector = Inspector(pack)
    plain = Inspector(check_pack(write_pack(tmp_path / "plain")))
    img = solid("red")
    assert inspector.classify(img).label == "red"
    np.testing.assert_allclose(list(inspector.classify(img).probabilities.values()),
                               list(plain.classify(img).probabilities.values()), atol=1e-6)


def test_tampered_external_data_is_refused_at_listing_and_at_loading(tmp_path):
    folder = _external_pack(tmp_path / "colour")
    data_file = folder / "model.onnx.data"
    original = data_file.read_bytes()
    tampered = np.frombuffer(original, np.uint8).copy()
    tampered[:64] ^= 0xFF
    data_file.write_bytes(tampered.tobytes())
    listed = check_pack(folder)
    assert not listed.usable and "external data 'model.onnx.data' of its model file does not match" in listed.problem
    data_file.write_bytes(original)
    pack = check_pack(folder)
    assert pack.usable
    data_file.write_bytes(tampered.tobytes())  # swapped after the listing
    with pytest.raises(PackUnusableError, match="external data 'model.onnx.data'.*does not match"):
        Inspector(pack)


def test_unlisted_external_data_is_never_loaded_not_even_from_the_current_folder(tmp_path, monkeypatch):
    folder = _external_pack(tmp_path / "colour", list_data=False)
    pack = check_pack(folder)
    assert pack.usable  # the listing cannot see inside the ONNX file ...
    monkeypatch.chdir(folder)  # ... and onnxruntime, given bytes, would read the data from here
    with pytest.raises(PackUnusableError, match="refers to external data that its manifest does not list"):
        Inspector(pack)


def test_external_data_under_another_name_is_not_found(tmp_path):
    folder = _external_pack(tmp_path / "colour", data_name="weights.bin")
    manifest = json.loads((folder / "manifest.json").read_text())
    (folder / "other.bin").write_bytes((folder / "weights.bin").read_bytes())
    manifest["model"]["external_data"] = [{"file": "other.bin", "sha256": manifest["model"]["external_data"][0]["sha256"]}]
    (folder / "manifest.json").write_text(json.dumps(manifest))
    pack = check_pack(folder)
    assert pack.usable
    with pytest.raises(PackUnusableError, match="external data"):
        Inspector(pack)


def test_a_model_file_that_became_a_fifo_is_refused_without_hanging(tmp_path):
    folder = write_pack(tmp_path / "colour")
    pack = check_pack(folder)
    (folder / "model.onnx").unlink()
    os.mkfifo(folder / "model.onnx")
    with pytest.raises(PackUnusableError, match="not a regular file"):
        Inspector(pack)


def test_card_checked_again_when_it_is_read(tmp_path):
    model = build_colour_model()
    folder = write_pack(tmp_path / "colour", model, manifest=colour_manifest(model, card="CARD.md"))
    (folder / "CARD.md").write_text("# Colour\n\nA card.", encoding="utf-8")
    pack = check_pack(folder)
    assert pack.usable and pack.read_card().startswith("# Colour")
    (folder / "CARD.md").unlink()
    os.symlink("/etc/hostname", folder / "CARD.md")  # after the listing
    with pytest.raises(PackUnusableError, match="model card of pack 'colour' cannot be shown: .*outside the pack"):
        pack.read_card()
    (folder / "CARD.md").unlink()
    os.symlink("/dev/zero", folder / "CARD.md")
    with pytest.raises(PackUnusableError, match="outside the pack"):
        pack.read_card()
    (folder / "CARD.md").unlink()
    (folder / "docs").mkdir()
    (folder / "docs" / "real.md").write_text("inside", encoding="utf-8")
    os.symlink("docs/real.md", folder / "CARD.md")  # a link that stays inside the pack is fine
    assert pack.read_card() == "inside"
    (folder / "CARD.md").unlink()
    (folder / "CARD.md").write_bytes(b"x" * (2 << 20))
    with pytest.raises(PackUnusableError, match="larger than the"):
        pack.read_card()


def test_a_missing_card_leaves_the_pack_usable_and_says_so_when_shown(tmp_path):
    model = build_colour_model()
    pack = check_pack(write_pack(tmp_path / "colour", model, manifest=colour_manifest(model, card="CARD.md")))
    assert pack.usable
    with pytest.raises(PackUnusableError, match="model card 'CARD.md' is missing"):
        pack.read_card()
