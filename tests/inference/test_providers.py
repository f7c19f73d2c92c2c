"""Execution-provider selection, fallback and the provider actually in use."""

from __future__ import annotations

import onnxruntime as ort
import pytest

from inference.errors import ProviderError
from inference.providers import create_session, display_name, resolve_preference
from tiny_models import build_colour_model

GPU_BOX = ["CUDAExecutionProvider", "CPUExecutionProvider", "AzureExecutionProvider"]
WINDOWS = ["DmlExecutionProvider", "CPUExecutionProvider"]
CPU_ONLY = ["CPUExecutionProvider", "AzureExecutionProvider"]


def test_preference_order_is_gpu_first_then_cpu():
    assert resolve_preference("auto", GPU_BOX) == ["CUDAExecutionProvider", "CPUExecutionProvider"]
    assert resolve_preference("auto", WINDOWS) == ["DmlExecutionProvider", "CPUExecutionProvider"]
    assert resolve_preference("auto", CPU_ONLY) == ["CPUExecutionProvider"]


def test_explicit_choice_and_env_override(monkeypatch):
    assert resolve_preference("cpu", GPU_BOX) == ["CPUExecutionProvider"]
    monkeypatch.setenv("TILIK_PROVIDER", "cpu")
    assert resolve_preference(None, GPU_BOX) == ["CPUExecutionProvider"]
    monkeypatch.setenv("TILIK_PROVIDER", "auto")
    assert resolve_preference(None, GPU_BOX)[0] == "CUDAExecutionProvider"


def test_unavailable_choice_falls_back_to_cpu():
    assert resolve_preference("cuda", CPU_ONLY) == ["CPUExecutionProvider"]
    assert resolve_preference("coreml", WINDOWS) == ["DmlExecutionProvider", "CPUExecutionProvider"]


def test_unknown_provider_name_is_an_error():
    with pytest.raises(ProviderError, match="Unknown execution provider 'tpu'"):
        resolve_preference("tpu", CPU_ONLY)


def test_session_reports_the_provider_really_used(tmp_path):
    path = tmp_path / "m.onnx"
    path.write_bytes(build_colour_model())
    loaded = create_session(path, "cuda")  # asked for CUDA; this machine's wheel may not have it
    assert loaded.provider in ort.get_available_providers()
    assert loaded.provider == loaded.session.get_providers()[0]
    if "CUDAExecutionProvider" not in ort.get_available_providers():
        assert loaded.provider_display == "CPU"
    assert display_name("DmlExecutionProvider") == "DirectML"
