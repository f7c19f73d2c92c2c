"""onnxruntime execution providers and session creation.

Preference: CUDA, DirectML, CoreML, then CPU, filtered by what the installed onnxruntime offers.
``TILIK_PROVIDER`` (or an explicit argument, e.g. from the GUI settings) picks one by short name.
The provider actually in use is read back from the session, never assumed: a GPU wheel lists CUDA
even on machines where it then falls back to the CPU.

A pack's models are handed to onnxruntime as bytes that were hashed as they were read (see
:meth:`inference.registry.Pack.read_model`), never as a path it would open again. Their external
data comes from memory too; onnxruntime is pointed at an empty folder for any other external file,
so a model that refers to one the manifest does not list fails to load instead of reading it
unhashed (from bytes it would otherwise look in the current directory).

Threads: onnxruntime's intra-op thread count comes from the GUI's setting (:func:`set_threads`),
else ``TILIK_THREADS`` (a whole number, or ``auto``), else onnxruntime's own choice (one thread per
physical core). The best count depends on what else the computer is doing (measured here: either
choice can be 1.65× slower than the other under load), so it is the user's to set.
"""

from __future__ import annotations

import logging
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

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


THREADS_ENV = "TILIK_THREADS"
MAX_THREADS = 256
_threads_setting: int | None = None  # the GUI's setting; None: TILIK_THREADS or automatic


def set_threads(count: int | None) -> None:
    """Use ``count`` intra-op threads for sessions created from now on (None or 0: automatic,
    i.e. ``TILIK_THREADS`` or onnxruntime's choice). Cached sessions keep theirs: they are keyed
    by the count (:func:`inference.inspector.get_session`)."""
    global _threads_setting
    if count is not None and not 0 <= int(count) <= MAX_THREADS:
        raise ProviderError(f"The number of model threads must be between 1 and {MAX_THREADS}, or 0 for automatic.")
    _threads_setting = int(count) if count else None


def intra_op_threads() -> int:
    """The intra-op thread count new sessions get: 0 means onnxruntime's own choice."""
    if _threads_setting is not None:
        return _threads_setting
    raw = os.environ.get(THREADS_ENV, "").strip().lower()
    if raw in ("", "0", "auto"):
        return 0
    try:
        count = int(raw)
    except ValueError:
        count = -1
    if not 1 <= count <= MAX_THREADS:
        raise ProviderError(
            f"{THREADS_ENV} must be a whole number of threads from 1 to {MAX_THREADS}, or 'auto'; it is '{raw}'.")
    return count


def display_name(provider: str) -> str:
    return DISPLAY_NAMES.get(provider, provider.replace("ExecutionProvider", ""))


_WARNED: set[str] = set()  # providers asked for but missing, already warned about


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
        elif wanted not in _WARNED:  # said once per process, not once per model session
            _WARNED.add(wanted)
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


_EXTERNAL_FOLDER = "session.model_external_initializers_file_folder_path"

# onnxruntime session settings every Tilik session gets (benchmarks give their bare loops the same).
# No spinning: by default onnxruntime's intra-op worker threads busy-wait for the next parallel
# section, also while the app decodes, checks and words the next images between model runs.
# Whole processes on a folder of 300 distinct 224-px photos (skin-ham7, 2 threads, 4 runs each,
# loaded machine): spinning cost ~1 s of CPU in the bare loop and ~1.6 s in the app, 17-20% of each
# (benchmarks/PROFILE.md); on a 2-core machine that CPU is the GUI's and the other threads' (the
# overlay painter, the log writer).
SESSION_CONFIG: dict[str, str] = {"session.intra_op.allow_spinning": "0"}


def create_session(model: Path | bytes, preference: str | None = None, *, threads: int | None = None,
                   external_data: Mapping[str, bytes] | None = None, name: str | None = None,
                   low_memory: bool = False) -> LoadedSession:
    """Create a session on the best provider and report what is really used.

    ``model`` is the ONNX file's bytes (a pack's checked bytes, with ``external_data``: file name →
    bytes for every external-data file the manifest lists; ``name`` names it in errors) or, for
    benchmarks and tools, a path. ``low_memory``: no memory pattern (a lower peak, a little more CPU).
    """
    providers = resolve_preference(preference)
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3  # errors only; a CUDA fallback is reported through get_providers()
    # With the memory pattern (onnxruntime's default), the run after the first allocates its whole
    # plan as one block while the arena keeps the first run's chunks: the peak doubles
    # (seal-integrity, batch 8: 284 -> 465 MB; without it 286 MB flat). Without it, 4-5% more CPU
    # per image at batch 16 (imagenet-lite0, skin-ham7), so only a caller that asks for low memory
    # gets it (a pack that caps its batch for memory: Inspector, benchmarks/PROFILE.md).
    options.enable_mem_pattern = not low_memory
    threads = intra_op_threads() if threads is None else threads
    if threads:
        options.intra_op_num_threads = threads
    for key, value in SESSION_CONFIG.items():
        options.add_session_config_entry(key, value)
    shown = name or (Path(model).name if not isinstance(model, (bytes, bytearray, memoryview)) else "model")
    try:
        if isinstance(model, (bytes, bytearray, memoryview)):
            with tempfile.TemporaryDirectory(prefix="tilik-no-external-") as empty:
                options.add_session_config_entry(_EXTERNAL_FOLDER, empty)
                if external_data:
                    names = list(external_data)
                    options.add_external_initializers_from_files_in_memory(
                        names, [external_data[n] for n in names], [len(external_data[n]) for n in names])
                session = ort.InferenceSession(bytes(model), sess_options=options, providers=providers)
        else:
            session = ort.InferenceSession(str(model), sess_options=options, providers=providers)
    except Exception as exc:  # onnxruntime raises its own exception types for corrupt models
        if "xternal" in str(exc):
            raise PackUnusableError(
                f"The model file {shown} refers to external data that its manifest does not list "
                f"(only files listed under external_data, with their SHA-256, are loaded): {exc}"
            ) from exc
        raise PackUnusableError(f"The model file {shown} could not be loaded by onnxruntime: {exc}") from exc
    in_use = session.get_providers()
    return LoadedSession(session, in_use[0] if in_use else "CPUExecutionProvider", tuple(providers))
