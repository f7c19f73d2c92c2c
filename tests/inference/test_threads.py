"""onnxruntime's intra-op thread count (issue #28): TILIK_THREADS, the GUI's setting, applied
where sessions are created and part of the session cache's key."""

from __future__ import annotations

import pytest

from inference import providers
from inference.errors import ProviderError
from inference.inspector import Inspector, clear_session_cache, get_session
from inference.providers import create_session, intra_op_threads, set_threads
from inference.registry import check_pack
from tiny_models import build_colour_model, colour_manifest, solid, write_pack


@pytest.fixture(autouse=True)
def _no_setting():
    set_threads(None)
    clear_session_cache()
    yield
    set_threads(None)
    clear_session_cache()


def _model(tmp_path):
    model = build_colour_model()
    pack = check_pack(write_pack(tmp_path / "colour", model, manifest=colour_manifest(model)))
    return pack


def test_automatic_by_default_and_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.delenv("TILIK_THREADS", raising=False)
    assert intra_op_threads() == 0  # onnxruntime's own choice
    for raw in ("auto", "AUTO", "0", " "):
        monkeypatch.setenv("TILIK_THREADS", raw)
        assert intra_op_threads() == 0
    monkeypatch.setenv("TILIK_THREADS", "1")
    pack = _model(tmp_path)
    loaded = create_session(pack.model_path)
    assert loaded.session.get_session_options().intra_op_num_threads == 1
    assert Inspector(pack).classify(solid("red")).label == "red"


@pytest.mark.parametrize("raw", ["two", "-1", "1.5", "100000"])
def test_a_bad_value_is_refused_in_plain_words(monkeypatch, raw):
    monkeypatch.setenv("TILIK_THREADS", raw)
    with pytest.raises(ProviderError, match="TILIK_THREADS must be a whole number of threads"):
        intra_op_threads()


def test_the_cli_says_what_is_wrong_with_tilik_threads(monkeypatch, tmp_path, capsys):
    from tilik.cli import EXIT_USAGE, main

    monkeypatch.setenv("TILIK_THREADS", "many")
    monkeypatch.setenv("TILIK_PACKS_DIR", str(tmp_path))
    _model(tmp_path)
    assert main(["classify", "--pack", "colour", str(tmp_path)]) == EXIT_USAGE
    assert "TILIK_THREADS must be a whole number" in capsys.readouterr().err


def test_the_setting_wins_over_the_environment_and_keys_the_session_cache(monkeypatch, tmp_path):
    monkeypatch.setenv("TILIK_THREADS", "1")
    pack = _model(tmp_path)
    one = get_session(pack, "model")
    set_threads(2)
    two = get_session(pack, "model")
    assert two is not one and two.session.get_session_options().intra_op_num_threads == 2
    assert get_session(pack, "model") is two
    set_threads(None)  # back to the environment's count: the cached session is reused
    assert get_session(pack, "model") is one
    with pytest.raises(ProviderError):
        set_threads(providers.MAX_THREADS + 1)


def test_sessions_do_not_spin_and_benchmarks_share_the_setting(tmp_path):
    """Issue #28: onnxruntime's worker threads do not busy-wait between runs (providers.SESSION_CONFIG);
    the benchmarks' bare loops read the same dictionary."""
    assert providers.SESSION_CONFIG == {"session.intra_op.allow_spinning": "0"}
    loaded = create_session(_model(tmp_path).model_path)
    options = loaded.session.get_session_options()
    assert options.get_session_config_entry("session.intra_op.allow_spinning") == "0"


def test_low_memory_sessions_plan_no_memory_pattern_with_the_same_outputs(tmp_path):
    """``low_memory``: no onnxruntime memory pattern, so the second run does not allocate the whole
    plan again beside the first run's chunks (seal-integrity at batch 8 peaked at 465 MB with it,
    286 MB without); the outputs are the same bits, for batch sizes that change from run to run. The
    default keeps the pattern (4-5% less CPU per image at batch 16)."""
    import numpy as np

    pack = _model(tmp_path)
    lean, default = create_session(pack.model_path, low_memory=True), create_session(pack.model_path)
    assert not lean.session.get_session_options().enable_mem_pattern
    assert default.session.get_session_options().enable_mem_pattern
    name = lean.session.get_inputs()[0].name
    outputs = [o.name for o in lean.session.get_outputs()]
    rng = np.random.default_rng(5)
    for n in (4, 4, 7, 1, 4):
        x = rng.random([n] + list(lean.session.get_inputs()[0].shape[1:]), dtype=np.float32)
        for a, b in zip(lean.session.run(outputs, {name: x}), default.session.run(outputs, {name: x})):
            assert np.array_equal(a, b)


def test_a_pack_that_caps_its_batch_runs_low_memory(tmp_path):
    """runtime.max_batch says the pack's memory matters: its session has no memory pattern; a pack
    without the cap keeps onnxruntime's default. Separate cached sessions."""
    clear_session_cache()
    model = build_colour_model()
    plain = Inspector(check_pack(write_pack(tmp_path / "plain", model, manifest=colour_manifest(model))))
    capped_manifest = colour_manifest(model, pack_id="capped")
    capped_manifest["runtime"] = {"max_batch": 2}
    capped = Inspector(check_pack(write_pack(tmp_path / "capped", model, manifest=capped_manifest)))
    assert plain.loaded.session.get_session_options().enable_mem_pattern
    assert not capped.loaded.session.get_session_options().enable_mem_pattern
    a = plain.classify_batch([solid("red"), solid("green"), solid("blue")])
    b = capped.classify_batch([solid("red"), solid("green"), solid("blue")])
    assert [x.result.probabilities for x in a] == [x.result.probabilities for x in b]
