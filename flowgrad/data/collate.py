"""Collation: a list of samples into one batch, with PyTorch's ``default_collate`` rules.

=====================  ==================================================================
sample element         batch
=====================  ==================================================================
Tensor                 the tensors stacked along a new first dimension
NumPy array            the same, as a tensor of the array's dtype
NumPy scalar           a 1-d tensor of its dtype
``bool``               a bool tensor
``int``                an int64 tensor
``float``              a float64 tensor (as PyTorch: Python floats are double precision)
``str``, ``bytes``     the list, unchanged
mapping                a mapping of the same keys, each value collated
named tuple            the same named tuple, each field collated
other sequence         a list (a list-like of the same type when it can be built) of the
                       collated positions; a tuple becomes a list, as in PyTorch
=====================  ==================================================================
"""

from __future__ import annotations

import collections.abc
import copy

import numpy as np

from flowgrad.functions.shaping import stack
from flowgrad.tensor import Tensor

_COLLATABLE_KINDS = "biuf"  # NumPy dtype kinds a tensor can hold


def default_collate(batch: list):
    """Stack a list of samples into a batch (the :class:`DataLoader`'s default).

    >>> from flowgrad.data import default_collate
    >>> default_collate([(1, 0.5), (2, 1.5)])
    [tensor([1, 2]), tensor([0.5000, 1.5000], dtype=flowgrad.float64)]
    >>> default_collate([{"x": 1, "name": "a"}, {"x": 2, "name": "b"}])
    {'x': tensor([1, 2]), 'name': ['a', 'b']}
    """
    if not len(batch):
        raise ValueError("default_collate: the batch is empty")
    elem = batch[0]
    if isinstance(elem, Tensor):
        return _collate_tensors(batch)
    if isinstance(elem, np.ndarray):
        if elem.dtype.kind not in _COLLATABLE_KINDS:
            raise TypeError(_unsupported(f"arrays of dtype {elem.dtype}"))
        return _collate_tensors([Tensor._wrap(np.asarray(b)) for b in batch])
    if isinstance(elem, np.bool_ | np.number):
        return Tensor._wrap(np.array(batch))
    if isinstance(elem, bool):
        return Tensor._wrap(np.array(batch, dtype=np.bool_))
    if isinstance(elem, int):
        return Tensor._wrap(np.array(batch, dtype=np.int64))
    if isinstance(elem, float):
        return Tensor._wrap(np.array(batch, dtype=np.float64))
    if isinstance(elem, str | bytes):
        return batch
    if isinstance(elem, collections.abc.Mapping):
        collated = {key: default_collate([sample[key] for sample in batch]) for key in elem}
        return _rebuild_mapping(elem, collated)
    if isinstance(elem, tuple) and hasattr(elem, "_fields"):  # named tuple
        return type(elem)(*(default_collate(list(field)) for field in zip(*batch, strict=True)))
    if isinstance(elem, collections.abc.Sequence):
        size = len(elem)
        for position, sample in enumerate(batch):
            if len(sample) != size:
                raise RuntimeError(
                    f"default_collate: sample {position} has {len(sample)} elements but sample "
                    f"0 has {size}; every sample in a batch needs the same structure"
                )
        collated = [default_collate(list(field)) for field in zip(*batch, strict=True)]
        if isinstance(elem, tuple):
            return collated  # a list, as PyTorch
        return _rebuild_sequence(elem, collated)
    raise TypeError(_unsupported(type(elem).__name__))


def default_convert(data):
    """Turn NumPy arrays and scalars in ``data`` (nested in mappings and sequences) into tensors;
    used in place of collation when a :class:`DataLoader` has ``batch_size=None``.

    >>> import numpy as np
    >>> from flowgrad.data import default_convert
    >>> default_convert({"x": np.zeros(2, dtype=np.float32), "y": 3})
    {'x': tensor([0., 0.]), 'y': 3}
    """
    if isinstance(data, Tensor):
        return data
    if isinstance(data, np.ndarray):
        return Tensor._wrap(data) if data.dtype.kind in _COLLATABLE_KINDS else data
    if isinstance(data, np.bool_ | np.number):
        return Tensor._wrap(np.asarray(data))
    if isinstance(data, str | bytes):
        return data
    if isinstance(data, collections.abc.Mapping):
        return _rebuild_mapping(data, {key: default_convert(data[key]) for key in data})
    if isinstance(data, tuple) and hasattr(data, "_fields"):
        return type(data)(*(default_convert(field) for field in data))
    if isinstance(data, tuple):
        return [default_convert(item) for item in data]
    if isinstance(data, collections.abc.Sequence):
        return _rebuild_sequence(data, [default_convert(item) for item in data])
    return data


def _collate_tensors(batch: list[Tensor]) -> Tensor:
    first = batch[0].shape
    for position, item in enumerate(batch):
        if item.shape != first:
            raise RuntimeError(
                f"default_collate: sample {position} has shape {item.shape} but sample 0 has "
                f"shape {first}; stacking a batch needs equal shapes (pad the samples, or pass "
                f"a collate_fn)"
            )
    if any(item.requires_grad for item in batch):
        return stack(batch)  # keep the autograd history
    return Tensor._wrap(np.stack([item._data for item in batch]))


def _rebuild_mapping(elem, collated: dict):
    """A mapping of ``elem``'s type holding ``collated`` (a dict when the type cannot be
    rebuilt)."""
    try:
        if isinstance(elem, collections.abc.MutableMapping):
            clone = copy.copy(elem)  # keeps the subclass and its extra attributes
            clone.update(collated)
            return clone
        return type(elem)(collated)
    except TypeError:
        return collated


def _rebuild_sequence(elem, collated: list):
    try:
        if isinstance(elem, collections.abc.MutableSequence):
            clone = copy.copy(elem)
            for position, value in enumerate(collated):
                clone[position] = value
            return clone
        return type(elem)(collated)
    except TypeError:  # range and other sequences that cannot be built from a list
        return collated


def _unsupported(what: str) -> str:
    return (
        f"default_collate: cannot batch {what}; samples must hold tensors, NumPy arrays, "
        f"numbers, strings, or dicts/lists/tuples of them (or pass a collate_fn)"
    )
