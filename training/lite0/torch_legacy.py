"""Read a legacy (non-zip) ``torch.save`` state_dict into NumPy arrays, without PyTorch.

The legacy format (PyTorch < 1.6 default, still readable by every torch) is one stream of:

1. three small pickles: the magic number, the protocol version (1001) and a sys-info dict;
2. the pickled object itself, in which every tensor is ``_rebuild_tensor_v2(storage, offset, size,
   stride, ...)`` and every storage is a *persistent id* ``("storage", StorageClass, key, location,
   numel, view_metadata)``;
3. a pickled list of storage keys, in the order the storages follow;
4. for each storage: an 8-byte little-endian element count, then the raw little-endian data.

Only a whitelist of globals is resolved, so a hostile file cannot execute code through pickle.
"""

from __future__ import annotations

import collections
import io
import pickle
import struct
from dataclasses import dataclass, field
from os import PathLike
from typing import Any, BinaryIO

import numpy as np

MAGIC_NUMBER = 0x1950A86A20F9469CFC6C
PROTOCOL_VERSION = 1001

# torch storage class name -> NumPy dtype (little-endian, as torch writes it on x86/ARM).
_STORAGE_DTYPES: dict[str, np.dtype] = {
    "FloatStorage": np.dtype("<f4"),
    "DoubleStorage": np.dtype("<f8"),
    "HalfStorage": np.dtype("<f2"),
    "LongStorage": np.dtype("<i8"),
    "IntStorage": np.dtype("<i4"),
    "ShortStorage": np.dtype("<i2"),
    "CharStorage": np.dtype("i1"),
    "ByteStorage": np.dtype("u1"),
    "BoolStorage": np.dtype("?"),
    # NumPy has no bfloat16: read the raw 16 bits and widen them to float32 afterwards.
    "BFloat16Storage": np.dtype("<u2"),
}


class TorchLegacyError(ValueError):
    """The file is not a legacy torch.save stream this reader understands."""


@dataclass
class _StorageType:
    """Stands in for ``torch.FloatStorage`` etc. inside the pickle."""

    name: str

    @property
    def dtype(self) -> np.dtype:
        return _STORAGE_DTYPES[self.name]


@dataclass
class _Storage:
    """A storage announced by a persistent id; its bytes arrive after the pickled object."""

    key: str
    storage_type: _StorageType
    numel: int
    data: np.ndarray | None = None


@dataclass
class _StorageView:
    """Old-style storage views (``view_metadata``): a slice of a root storage."""

    root: _Storage
    offset: int
    size: int


@dataclass
class _TensorRef:
    """A tensor whose storage is not read yet: materialised once all storages are loaded."""

    storage: _Storage | _StorageView
    offset: int
    size: tuple[int, ...]
    stride: tuple[int, ...]
    extra: dict[str, Any] = field(default_factory=dict)


def _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad=False,
                       backward_hooks=None, metadata=None):
    return _TensorRef(storage, int(storage_offset), tuple(size), tuple(stride))


def _rebuild_tensor(storage, storage_offset, size, stride):
    return _TensorRef(storage, int(storage_offset), tuple(size), tuple(stride))


def _rebuild_parameter(data, requires_grad=False, backward_hooks=None):
    return data


def _rebuild_parameter_with_state(data, requires_grad=False, backward_hooks=None, state=None):
    return data


_ALLOWED_GLOBALS: dict[tuple[str, str], Any] = {
    ("collections", "OrderedDict"): collections.OrderedDict,
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor_v2,
    ("torch._utils", "_rebuild_tensor"): _rebuild_tensor,
    ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
    ("torch._utils", "_rebuild_parameter_with_state"): _rebuild_parameter_with_state,
    **{("torch", name): _StorageType(name) for name in _STORAGE_DTYPES},
}


class _Unpickler(pickle.Unpickler):
    def __init__(self, file: BinaryIO) -> None:
        super().__init__(file, encoding="utf-8")
        self.storages: dict[str, _Storage] = {}

    def find_class(self, module: str, name: str) -> Any:
        try:
            return _ALLOWED_GLOBALS[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(
                f"refusing to load global {module}.{name}: not part of a plain state_dict"
            ) from None

    def persistent_load(self, pid: Any) -> Any:
        if not (isinstance(pid, tuple) and pid and pid[0] == "storage"):
            raise pickle.UnpicklingError(f"unsupported persistent id {pid!r}")
        _, storage_type, key, _location, numel, view_metadata = pid
        if not isinstance(storage_type, _StorageType):
            raise pickle.UnpicklingError(f"unsupported storage type {storage_type!r}")
        key = str(key)
        storage = self.storages.get(key)
        if storage is None:
            storage = self.storages[key] = _Storage(key, storage_type, int(numel))
        if view_metadata is not None:
            _view_key, offset, size = view_metadata
            return _StorageView(storage, int(offset), int(size))
        return storage


def _read_exact(f: BinaryIO, n: int) -> bytes:
    data = f.read(n)
    if len(data) != n:
        raise TorchLegacyError(f"truncated file: wanted {n} bytes, got {len(data)}")
    return data


def _materialise(ref: _TensorRef) -> np.ndarray:
    storage = ref.storage
    offset = ref.offset
    if isinstance(storage, _StorageView):
        offset += storage.offset
        storage = storage.root
    flat = storage.data
    assert flat is not None
    itemsize = flat.dtype.itemsize
    if len(ref.size) != len(ref.stride):
        raise TorchLegacyError(f"tensor with size {ref.size} but stride {ref.stride}")
    # Index of the last element the view touches, to refuse views reaching past the storage.
    needed = offset + sum((s - 1) * st for s, st in zip(ref.size, ref.stride)) + 1
    if any(s == 0 for s in ref.size):
        arr = np.zeros(ref.size, dtype=flat.dtype)
    else:
        if needed > flat.size:
            raise TorchLegacyError(f"tensor reaches past its storage {storage.key}")
        arr = np.lib.stride_tricks.as_strided(
            flat[offset:], shape=ref.size, strides=tuple(st * itemsize for st in ref.stride)
        )
    # np.array, not np.ascontiguousarray: the latter turns 0-d tensors (num_batches_tracked) into 1-d.
    arr = np.array(arr, order="C", copy=True)
    if storage.storage_type.name == "BFloat16Storage":
        arr = (arr.astype(np.uint32) << 16).view(np.float32)
    return arr


def _replace_refs(obj: Any) -> Any:
    if isinstance(obj, _TensorRef):
        return _materialise(obj)
    if isinstance(obj, dict):
        out = collections.OrderedDict() if isinstance(obj, collections.OrderedDict) else {}
        for k, v in obj.items():
            out[k] = _replace_refs(v)
        return out
    if isinstance(obj, list):
        return [_replace_refs(v) for v in obj]
    if isinstance(obj, tuple):
        return tuple(_replace_refs(v) for v in obj)
    return obj


def load_legacy(source: str | PathLike | BinaryIO | bytes) -> Any:
    """Load a legacy torch.save stream; tensors become NumPy arrays, containers keep their type."""
    if isinstance(source, (bytes, bytearray)):
        f: BinaryIO = io.BytesIO(source)
        close = False
    elif hasattr(source, "read"):
        f = source  # type: ignore[assignment]
        close = False
    else:
        f = open(source, "rb")
        close = True
    try:
        head = f.read(2)
        if head[:2] == b"PK":
            raise TorchLegacyError("this is a zip-format torch.save file, not the legacy format")
        f.seek(-len(head), io.SEEK_CUR)
        try:
            magic = pickle.load(f)
        except Exception as exc:  # any decoding failure means the stream is not ours
            raise TorchLegacyError(f"not a torch.save stream: {exc}") from exc
        if magic != MAGIC_NUMBER:
            raise TorchLegacyError("wrong magic number: not a legacy torch.save file")
        protocol = pickle.load(f)
        if protocol != PROTOCOL_VERSION:
            raise TorchLegacyError(f"unsupported protocol version {protocol}")
        pickle.load(f)  # sys_info: endianness and type sizes; torch itself writes little-endian
        unpickler = _Unpickler(f)
        result = unpickler.load()
        keys = pickle.load(f)
        for key in keys:
            storage = unpickler.storages.get(str(key))
            if storage is None:
                raise TorchLegacyError(f"storage {key} listed but never referenced")
            (count,) = struct.unpack("<q", _read_exact(f, 8))
            dtype = storage.storage_type.dtype
            raw = _read_exact(f, count * dtype.itemsize)
            storage.data = np.frombuffer(raw, dtype=dtype)
        missing = [k for k, s in unpickler.storages.items() if s.data is None]
        if missing:
            raise TorchLegacyError(f"storages referenced but absent from the file: {missing[:5]}")
        return _replace_refs(result)
    finally:
        if close:
            f.close()


def load_state_dict(source: str | PathLike | BinaryIO | bytes) -> dict[str, np.ndarray]:
    """Load a legacy state_dict file as a plain ``{name: np.ndarray}`` dict (insertion order kept)."""
    obj = load_legacy(source)
    if not isinstance(obj, dict):
        raise TorchLegacyError(f"expected a state_dict (a dict), got {type(obj).__name__}")
    return {str(k): v for k, v in obj.items() if isinstance(v, np.ndarray)}
