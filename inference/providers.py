"""onnxruntime execution providers and session creation.

Preference: CUDA, DirectML, CoreML, then CPU, filtered by what the installed onnxruntime offers.
``TILIK_PROVIDER`` (or an explicit argument, e.g. from the GUI settings) picks one by short name.
The provider actually in use is read back from the session, never assumed: a GPU wheel lists CUDA
even on machines where it then falls back to the CPU.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

import onnxruntime as ort

from inference.errors import ProviderError, PackUnusableError

log = logging.getLogger(__name__)

PREFERENCE = (
    "CUDAExecutionProvider",
    "DmlExecutionProvider",
    "CoreMLExecutionProvider",
    "CPUExecutionProvider",
)
SHORT_NAMES = {
    "cuda": "CUDAExecutionProvider",
    "directml": "DmlExecutionProvider",
    "dml": "DmlExecutionProvider",
    "coreml": "CoreMLExecutionProvider",
    "cpu": "CPUExecutionProvider",
}
DISPLAY_NAMES = {
    "CUDAExecutionProvider": "CUDA",
    "DmlExecutionProvider": "DirectML",
    "CoreMLExecutionProvider": "CoreML",
    "CPUExecutionProvider": "CPU",
}


def display_name(provider: str) -> str:
    return DISPLAY_NAMES.get(provider, provider.replace("ExecutionProvider", ""))


def resolve_preference(preference: str | None = None, available: list[str] | None = None) -> list[str]:
    """Ordered provider list to ask onnxruntime for.

    ``preference`` ("auto", "cpu", "cuda", ... or a full provider name; default from
    ``TILIK_PROVIDER``) puts that provider first; CPU is always last as the fallback.
    Raises :class:`ProviderError` for an unknown name.
    """
    if available is None:
        available = ort.get_available_providers()
    pref = (preference if preference is not None else os.environ.get("TILIK_PROVIDER", "auto")).strip()
    ordered = [p for p in PREFERENCE if p in available]
    if pref and pref.lower() != "auto":
        wanted = SHORT_NAMES.get(pref.lower(), pref)
        if wanted not in SHORT_NAMES.values():
            raise ProviderError(
                f"Unknown execution provider '{pref}'. Choose one of: auto, {', '.join(sorted(SHORT_NAMES))}."
            )
        if wanted in available:
            ordered = [wanted] + [p for p in ordered if p != wanted]
            if wanted == "CPUExecutionProvider":
                ordered = [wanted]
        else:
            log.warning("Provider %s is not available here; using %s", wanted, ordered[0] if ordered else "none")
    if "CPUExecutionProvider" not in ordered and "CPUExecutionProvider" in available:
        ordered.append("CPUExecutionProvider")
    if not ordered:
        raise ProviderError("The installed onnxruntime offers no execution provider Tilik can use.")
    return ordered


@dataclass
class LoadedSession:
    """An onnxruntime session and the provider it really runs on."""

    session: ort.InferenceSession
    provider: str
    requested: tuple[str, ...]

    @property
    def provider_display(self) -> str:
        return display_name(self.provider)


def create_session(model_path: Path, preference: str | None = None, *, threads: int | None = None) -> LoadedSession:
    """Create a session for ``model_path`` on the best provider; report what is really used."""
    providers = resolve_preference(preference)
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3  # errors only; a CUDA fallback is reported through get_providers()
    if threads:
        options.intra_op_num_threads = threads
    try:
        session = ort.InferenceSession(str(model_path), sess_options=options, providers=providers)
    except Exception as exc:  # onnxruntime raises its own exception types for corrupt models
        raise PackUnusableError(
            f"The model file {Path(model_path).name} could not be loaded by onnxruntime: {exc}"
        ) from exc
    in_use = session.get_providers()
    return LoadedSession(session, in_use[0] if in_use else "CPUExecutionProvider", tuple(providers))
