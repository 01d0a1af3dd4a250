"""The safetensors file format, read and written with NumPy alone.

A file is an 8-byte little-endian header size, a JSON header, then the tensors' bytes. The
header maps each tensor's name to its dtype, shape and ``[begin, end)`` byte offsets in the
data that follows, plus an optional ``__metadata__`` map of strings. Nothing in it can run
code, which is the point: a checkpoint is data. The format is small enough to implement in
full here, which keeps checkpoints in the NumPy-only core and lets every malformed file get
an error that names the file and what is wrong with it; the ``safetensors`` library reads and
writes the same files (the tests check both ways).
"""

from __future__ import annotations

import itertools
import json
import math
import os
from pathlib import Path

import numpy as np

from flowgrad.errors import CheckpointError
from flowgrad.io.atomic import write_atomically

#: safetensors dtype names and the NumPy dtypes they hold (little-endian).
DTYPES = {
    "F64": np.dtype("<f8"), "F32": np.dtype("<f4"), "F16": np.dtype("<f2"),
    "I64": np.dtype("<i8"), "I32": np.dtype("<i4"), "I16": np.dtype("<i2"), "I8": np.dtype("i1"),
    "U64": np.dtype("<u8"), "U32": np.dtype("<u4"), "U16": np.dtype("<u2"), "U8": np.dtype("u1"),
    "BOOL": np.dtype("?"),
}
NAMES = {dtype.newbyteorder("="): name for name, dtype in DTYPES.items()}
_BF16 = np.dtype("<u2")  # how bfloat16 (PyTorch's, NumPy has none) is read, then widened
MAX_HEADER = 100_000_000  # as the reference implementation: a larger header is not a checkpoint
ALIGNMENT = 8  # the header is padded with spaces so that the data starts 8-byte aligned


def write(path: str | os.PathLike, tensors: dict[str, np.ndarray],
          metadata: dict[str, str] | None = None) -> None:
    """Write ``tensors`` (name -> array) and ``metadata`` to ``path``, atomically: into a
    temporary file in the same folder, flushed and fsynced, then renamed over ``path``. An
    interrupted write leaves any file already at ``path`` as it was."""
    header: dict[str, object] = {}
    if metadata:
        header["__metadata__"] = metadata
    arrays, offset = [], 0
    for name, array in tensors.items():
        array = np.asarray(array)
        kind = NAMES.get(array.dtype.newbyteorder("="))
        if kind is None:
            raise CheckpointError(f"save: tensor {name!r} has dtype {array.dtype}, which "
                                  f"safetensors cannot hold; convert it first")
        # Raw memory is written: a transposed view or big-endian data must be made plain first.
        array = np.asarray(array, dtype=DTYPES[kind])
        if not array.flags.c_contiguous:
            array = array.copy(order="C")
        header[name] = {"dtype": kind, "shape": list(array.shape),
                        "data_offsets": [offset, offset + array.nbytes]}
        arrays.append(array)
        offset += array.nbytes
    encoded = json.dumps(header, separators=(",", ":")).encode()
    encoded += b" " * (-(8 + len(encoded)) % ALIGNMENT)
    chunks = [len(encoded).to_bytes(8, "little"), encoded,
              *(array.data if array.size else b"" for array in arrays)]
    write_atomically(path, chunks)


def read(path: str | os.PathLike) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """The tensors (name -> writable array, in file order) and metadata of the file at
    ``path``; a file that is not a complete safetensors file raises CheckpointError naming
    the file and the problem, and nothing in it is executed."""
    path = Path(path)
    try:
        with open(path, "rb") as file:
            raw = file.read()
    except IsADirectoryError:
        raise CheckpointError(f"load: {path} is a folder, not a checkpoint file") from None
    header, start = _header(path, raw)
    metadata = header.pop("__metadata__", None) or {}
    if not isinstance(metadata, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()):
        raise CheckpointError(f"load: {path}: __metadata__ must map strings to strings")
    data = memoryview(raw)[start:]
    tensors: dict[str, np.ndarray] = {}
    spans = []
    for name, entry in header.items():
        kind, dtype, shape, (begin, end) = _entry(path, name, entry)
        if end > len(data):
            raise CheckpointError(
                f"load: {path} is truncated: tensor {name!r} ends at byte {end} of the data, "
                f"which has only {len(data)} bytes")
        if end - begin != math.prod(shape) * dtype.itemsize:
            raise CheckpointError(
                f"load: {path} is corrupted: tensor {name!r} of shape {tuple(shape)} and "
                f"dtype {dtype} needs {math.prod(shape) * dtype.itemsize} bytes, its offsets "
                f"span {end - begin}")
        spans.append((begin, end, name))
        array = np.frombuffer(data[begin:end], dtype=dtype).reshape(shape)
        if kind == "BF16":  # bfloat16 is float32's top half: widened, exactly, to float32
            tensors[name] = (array.astype(np.uint32) << 16).view(np.float32)
        else:
            tensors[name] = array.astype(dtype.newbyteorder("="), copy=True)
    spans.sort()
    for (_, end, first), (begin, _, second) in itertools.pairwise(spans):
        if begin < end:
            raise CheckpointError(f"load: {path} is corrupted: tensors {first!r} and "
                                  f"{second!r} overlap")
    return tensors, metadata


def _header(path: Path, raw: bytes) -> tuple[dict, int]:
    if len(raw) < 8:
        raise CheckpointError(f"load: {path} is not a safetensors checkpoint: it has only "
                              f"{len(raw)} bytes" + _guess(raw))
    size = int.from_bytes(raw[:8], "little")
    if size > MAX_HEADER or size < 2:
        raise CheckpointError(f"load: {path} is not a safetensors checkpoint (its first 8 "
                              f"bytes give a header of {size} bytes)" + _guess(raw))
    if 8 + size > len(raw):
        raise CheckpointError(f"load: {path} is truncated: its header needs {size} bytes, "
                              f"the file has {len(raw) - 8} after the size")
    try:
        header = json.loads(bytes(raw[8:8 + size]).decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise CheckpointError(f"load: {path} is not a safetensors checkpoint: its header is "
                              f"not JSON ({exc})" + _guess(raw)) from None
    if not isinstance(header, dict):
        raise CheckpointError(f"load: {path}: the header must be a JSON object")
    return header, 8 + size


def _entry(path: Path, name: str, entry) -> tuple[str, np.dtype, list[int], tuple[int, int]]:
    if not isinstance(entry, dict) or not {"dtype", "shape", "data_offsets"} <= entry.keys():
        raise CheckpointError(f"load: {path} is corrupted: the entry of tensor {name!r} needs "
                              f"dtype, shape and data_offsets")
    dtype = DTYPES.get(entry["dtype"]) if entry["dtype"] != "BF16" else _BF16
    if dtype is None:
        raise CheckpointError(f"load: {path}: tensor {name!r} has dtype {entry['dtype']!r}, "
                              f"which flowgrad cannot hold; known: BF16, {', '.join(DTYPES)}")
    shape, offsets = entry["shape"], entry["data_offsets"]
    if not (isinstance(shape, list) and all(type(d) is int and d >= 0 for d in shape)
            and isinstance(offsets, list) and len(offsets) == 2
            and all(type(o) is int for o in offsets) and 0 <= offsets[0] <= offsets[1]):
        raise CheckpointError(f"load: {path} is corrupted: tensor {name!r} has shape "
                              f"{shape!r} and data_offsets {offsets!r}")
    return entry["dtype"], dtype, shape, (offsets[0], offsets[1])


def _guess(raw: bytes) -> str:
    """What a file that is not safetensors probably is (it is never unpickled to find out)."""
    if raw[:1] == b"\x80":
        return "; it looks like a pickle, which flowgrad never loads (it can run code)"
    if raw[:2] == b"PK":
        return ("; it looks like a zip archive (torch.save writes one, with pickles inside), "
                "which flowgrad never loads")
    if raw[:6] == b"\x93NUMPY":
        return "; it looks like a NumPy .npy file: load it with np.load"
    return ""
