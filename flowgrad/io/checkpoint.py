"""``fg.save`` and ``fg.load``: checkpoints as safetensors files, never pickles.

What can be saved: tensors and NumPy arrays, Python numbers, strings, None, and lists, tuples
and dicts of them (module and optimizer state dicts, RNG states, a training step count). The
tensors go into the safetensors data, each once: a state dict's tensors are named by its keys
(``fc.weight``), nested ones by their dotted path (``state.0.exp_avg``), and a tensor reached
twice (tied weights) is stored once and comes back as one tensor. Everything else -- the
structure and the Python values -- is JSON in the file's metadata, under ``flowgrad``.

A safetensors file written elsewhere (PyTorch's ``safetensors.torch.save_file``) loads as a
dict of its tensors by name, ready for ``module.load_state_dict``.
"""

from __future__ import annotations

import json
import os
from collections import OrderedDict

import numpy as np

from flowgrad.errors import CheckpointError, at_user_site
from flowgrad.io import safetensors
from flowgrad.tensor import Tensor

FORMAT_KEY = "flowgrad"  # the metadata entry holding the structure
_SCALARS = (bool, int, float, str, type(None))


def save(obj, path: str | os.PathLike, *, metadata: dict[str, str] | None = None) -> None:
    """Write ``obj`` to ``path`` as a safetensors file, atomically (an interrupted save leaves
    the previous file intact). ``metadata``: extra strings stored in the header.

    >>> import os, tempfile, flowgrad as fg
    >>> model = fg.nn.Linear(2, 1)
    >>> path = os.path.join(tempfile.mkdtemp(), "model.safetensors")
    >>> fg.save(model.state_dict(), path)
    >>> sorted(fg.load(path))
    ['bias', 'weight']
    """
    encoder = _Encoder()
    structure = encoder.encode(obj, [])
    extra = dict(metadata or {})
    bad = [k for k, v in extra.items() if not (isinstance(k, str) and isinstance(v, str))]
    if bad or FORMAT_KEY in extra:
        raise CheckpointError(at_user_site(
            f"save: metadata maps strings to strings (and may not use the key "
            f"{FORMAT_KEY!r}), got {bad or [FORMAT_KEY]!r}"
        ))
    try:
        text = json.dumps(structure, separators=(",", ":"), allow_nan=True)
    except (TypeError, ValueError) as exc:
        raise CheckpointError(at_user_site(f"save: cannot store the structure: {exc}")) from None
    extra.update({"format": "np", FORMAT_KEY: text})
    safetensors.write(path, encoder.arrays, extra)


def load(path: str | os.PathLike):
    """Read what :func:`save` wrote at ``path``; tensors come back as flowgrad tensors (and
    arrays as arrays). A plain safetensors file gives a dict of its tensors by name."""
    arrays, metadata = safetensors.read(path)
    text = metadata.get(FORMAT_KEY)
    if text is None:
        return OrderedDict((name, Tensor._wrap(array)) for name, array in arrays.items())
    try:
        structure = json.loads(text)
    except ValueError as exc:
        raise CheckpointError(f"load: {path}: its flowgrad structure is not JSON ({exc})"
                              ) from None
    return _Decoder(path, arrays).decode(structure)


class _Encoder:
    """The structure of an object as JSON, collecting its arrays by name on the way."""

    def __init__(self) -> None:
        self.arrays: dict[str, np.ndarray] = {}
        self._seen: dict[tuple, str] = {}  # the memory an array covers -> its name

    def encode(self, value, path: list):
        if isinstance(value, Tensor):
            data = value._data
            if type(data) is not np.ndarray:
                raise CheckpointError(at_user_site(
                    f"save: the tensor at {_where(path)} is a graph value, not an array; run "
                    f"the graph and save its result"
                ))
            entry = {"t": self._add(data, path)}
            if value._rg:
                entry["rg"] = True
            return entry
        if isinstance(value, np.ndarray):
            return {"a": self._add(value, path)}
        if isinstance(value, np.generic):
            return {"a": self._add(np.asarray(value), path), "scalar": True}
        if isinstance(value, _SCALARS):
            return {"v": value}
        if isinstance(value, dict):
            items = []
            for key, item in value.items():
                if not isinstance(key, _SCALARS):
                    raise CheckpointError(at_user_site(
                        f"save: the dict at {_where(path)} has a key of type "
                        f"{type(key).__name__}; keys must be strings, numbers, bools or None"
                    ))
                items.append([key, self.encode(item, [*path, key])])
            return {"d": items}
        if isinstance(value, list | tuple):
            items = [self.encode(item, [*path, i]) for i, item in enumerate(value)]
            return {"u": items} if isinstance(value, tuple) else {"l": items}
        raise CheckpointError(at_user_site(
            f"save: cannot save a {type(value).__name__} at {_where(path)}: checkpoints hold "
            f"tensors, arrays, numbers, strings, None and lists/tuples/dicts of them (save a "
            f"module's or optimizer's state_dict(), not the object)"
        ))

    def _add(self, array: np.ndarray, path: list) -> str:
        """The name of ``array`` in the file: stored once per memory region, so tied tensors
        stay one tensor."""
        key = (array.__array_interface__["data"][0], array.shape, array.strides,
               array.dtype.str) if array.size else None
        if key is not None and key in self._seen:
            return self._seen[key]
        base = ".".join(str(p) for p in path) or "tensor"
        name, copy = base, 1
        while name in self.arrays:
            copy += 1
            name = f"{base}~{copy}"
        self.arrays[name] = array
        if key is not None:
            self._seen[key] = name
        return name


class _Decoder:
    def __init__(self, path, arrays: dict[str, np.ndarray]) -> None:
        self.path, self.arrays = path, arrays
        self._tensors: dict[str, Tensor] = {}

    def decode(self, node):
        if not isinstance(node, dict) or len(node) < 1:
            raise CheckpointError(f"load: {self.path}: its flowgrad structure is corrupted")
        if "t" in node:
            name = node["t"]
            tensor = self._tensors.get(name)
            if tensor is None:
                tensor = self._tensors[name] = Tensor._wrap(self._array(name))
                if node.get("rg"):
                    tensor.requires_grad_(True)
            return tensor
        if "a" in node:
            array = self._array(node["a"])
            return array[()] if node.get("scalar") else array
        if "v" in node:
            return node["v"]
        if "d" in node:
            return {key: self.decode(item) for key, item in node["d"]}
        if "l" in node:
            return [self.decode(item) for item in node["l"]]
        if "u" in node:
            return tuple(self.decode(item) for item in node["u"])
        raise CheckpointError(f"load: {self.path}: its flowgrad structure has an unknown "
                              f"entry {sorted(node)!r}")

    def _array(self, name: str) -> np.ndarray:
        if name not in self.arrays:
            raise CheckpointError(f"load: {self.path} is corrupted: its structure names a "
                                  f"tensor {name!r} that the file does not hold")
        return self.arrays[name]


def _where(path: list) -> str:
    return "the top level" if not path else "".join(f"[{p!r}]" for p in path)
