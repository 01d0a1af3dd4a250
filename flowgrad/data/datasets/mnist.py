"""MNIST and Fashion-MNIST read from their IDX files on disk (flowgrad does not download).

The files are looked up as torchvision lays them out (``root/MNIST/raw``), or directly in
``root``, with or without ``.gz``:
``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte`` (60,000 samples) and
``t10k-images-idx3-ubyte``, ``t10k-labels-idx1-ubyte`` (10,000 samples).
"""

from __future__ import annotations

import gzip
import os
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import ClassVar

import numpy as np

from flowgrad.data.dataset import Dataset
from flowgrad.tensor import Tensor

# IDX type codes (the third byte of the magic number) and their big-endian NumPy dtypes
_IDX_DTYPES = {
    0x08: np.dtype(np.uint8), 0x09: np.dtype(np.int8), 0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"), 0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8"),
}


def read_idx(path: str | os.PathLike, ndim: int | None = None) -> np.ndarray:
    """The array in an IDX file (gzip-compressed when the name ends in ``.gz``); ValueError
    naming the file when it is corrupted (bad magic number, wrong size) or has not ``ndim``
    dimensions.

    >>> import gzip, tempfile, os
    >>> from flowgrad.data.datasets.mnist import read_idx
    >>> path = os.path.join(tempfile.mkdtemp(), "labels-idx1-ubyte.gz")
    >>> with gzip.open(path, "wb") as f:
    ...     _ = f.write(bytes([0, 0, 8, 1, 0, 0, 0, 3, 7, 2, 1]))
    >>> read_idx(path, ndim=1)
    array([7, 2, 1], dtype=uint8)
    """
    path = Path(path)
    try:
        if path.suffix == ".gz":
            with gzip.open(path) as compressed:
                raw = compressed.read()
        else:
            raw = path.read_bytes()
    except (OSError, EOFError, zlib.error) as exc:
        if isinstance(exc, FileNotFoundError):
            raise
        raise ValueError(f"read_idx: {path} is not a readable gzip file ({exc})") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_DTYPES:
        raise ValueError(
            f"read_idx: {path} is not an IDX file: bad magic number 0x{raw[:4].hex()} (expected "
            f"00 00, a type code among {[hex(c) for c in _IDX_DTYPES]}, then the number of "
            f"dimensions)"
        )
    dtype, file_ndim = _IDX_DTYPES[raw[2]], raw[3]
    if ndim is not None and file_ndim != ndim:
        raise ValueError(
            f"read_idx: {path} holds a {file_ndim}-d array (magic number 0x{raw[:4].hex()}); "
            f"expected {ndim}-d"
        )
    header = 4 + 4 * file_ndim
    if len(raw) < header:
        raise ValueError(f"read_idx: {path} is truncated: {len(raw)} bytes, shorter than its "
                         f"header of {header} bytes")
    shape = tuple(int(d) for d in np.frombuffer(raw, dtype=">u4", count=file_ndim, offset=4))
    expected = header + int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(raw) != expected:
        raise ValueError(
            f"read_idx: {path} has {len(raw)} bytes but its header announces shape {shape} of "
            f"{dtype.name}, which takes {expected} bytes; the file is truncated or corrupted"
        )
    data = np.frombuffer(raw, dtype=dtype, offset=header).reshape(shape)
    return data.astype(dtype.newbyteorder("="))  # native byte order, and a writable copy


class MNIST(Dataset):
    """The MNIST handwritten digits from IDX files in ``root``.

    Sample ``i`` is ``(image, label)``: the image a float32 tensor of shape ``(1, 28, 28)``
    with values in ``[0, 1]`` (what torchvision's ``ToTensor()`` gives), the label an ``int``;
    ``transform`` and ``target_transform`` are applied to them. ``data`` holds the raw uint8
    images ``(N, 28, 28)`` and ``targets`` the int64 labels. Without transforms a
    :class:`~flowgrad.data.DataLoader` loads each batch with one index.

    ``download`` is accepted for torchvision compatibility: flowgrad never downloads, and
    missing files raise FileNotFoundError naming them and the folders searched.
    """

    folder = "MNIST"
    classes: ClassVar[list[str]] = ["0 - zero", "1 - one", "2 - two", "3 - three", "4 - four",
                                    "5 - five", "6 - six", "7 - seven", "8 - eight", "9 - nine"]

    def __init__(self, root: str | os.PathLike, train: bool = True,
                 transform: Callable | None = None, target_transform: Callable | None = None,
                 download: bool = False) -> None:
        self.root = Path(root).expanduser()
        self.train = train
        self.transform = transform
        self.target_transform = target_transform
        split = "train" if train else "t10k"
        images_path = self._find(f"{split}-images", "idx3-ubyte")
        labels_path = self._find(f"{split}-labels", "idx1-ubyte")
        images, labels = read_idx(images_path, ndim=3), read_idx(labels_path, ndim=1)
        if images.dtype != np.uint8 or labels.dtype != np.uint8:
            raise ValueError(
                f"{type(self).__name__}: expected uint8 IDX files, got {images.dtype} images "
                f"({images_path}) and {labels.dtype} labels ({labels_path})"
            )
        if len(images) != len(labels):
            raise ValueError(
                f"{type(self).__name__}: {images_path} holds {len(images)} images but "
                f"{labels_path} holds {len(labels)} labels"
            )
        self.data = Tensor._wrap(images)
        self.targets = Tensor._wrap(labels.astype(np.int64))

    def _folders(self) -> list[Path]:
        return [self.root / self.folder / "raw", self.root / self.folder, self.root]

    def _find(self, stem: str, kind: str) -> Path:
        names = [f"{stem}-{kind}", f"{stem}.{kind}"]  # the second spelling is common too
        names += [name + ".gz" for name in names]
        for folder in self._folders():
            for name in names:
                if (folder / name).is_file():
                    return folder / name
        raise FileNotFoundError(
            f"{type(self).__name__}: cannot find {names[0]} (or {', '.join(names[1:])}) in "
            f"{', '.join(str(f) for f in self._folders())}. flowgrad does not download "
            f"datasets: put the {self.folder} IDX files in {self._folders()[0]} or in "
            f"{self.root}"
        )

    def __len__(self) -> int:
        return len(self.targets._data)

    def __getitem__(self, index: int):
        image = Tensor._wrap(self.data._data[index][None].astype(np.float32) / np.float32(255))
        target = int(self.targets._data[index])
        if self.transform is not None:
            image = self.transform(image)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return image, target

    def _batch_loader(self):
        if (self.transform is not None or self.target_transform is not None
                or type(self).__getitem__ is not MNIST.__getitem__):
            return None
        return self._load_batch

    def _load_batch(self, indices: np.ndarray) -> list[Tensor]:
        images = self.data._data[indices][:, None].astype(np.float32) / np.float32(255)
        return [Tensor._wrap(images), Tensor._wrap(self.targets._data[indices])]

    def __repr__(self) -> str:
        return (f"Dataset {type(self).__name__}\n    Number of datapoints: {len(self)}\n"
                f"    Root location: {self.root}\n    Split: {'Train' if self.train else 'Test'}")


class FashionMNIST(MNIST):
    """Zalando's Fashion-MNIST: MNIST's format and sizes, ten kinds of clothing
    (``root/FashionMNIST/raw`` or ``root``)."""

    folder = "FashionMNIST"
    classes: ClassVar[list[str]] = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
