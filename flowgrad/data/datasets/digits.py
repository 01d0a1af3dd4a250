"""The UCI handwritten digits: 1,797 images of 8x8 pixels, labels 0..9, bundled with flowgrad
(the copy scikit-learn ships; CC BY 4.0, see DIGITS_LICENSE.txt). Small enough to train a
classifier in seconds, with no download."""

from __future__ import annotations

import gzip
import io
from pathlib import Path

import numpy as np

from flowgrad.data.dataset import TensorDataset
from flowgrad.tensor import Tensor

DIGITS_FILE = Path(__file__).with_name("digits.csv.gz")


def load_digits(return_tensors: bool = True, *, as_dataset: bool | None = None,
                flatten: bool = False):
    """The digits as a :class:`~flowgrad.data.TensorDataset` of ``(image, label)`` samples,
    ready for ``random_split`` and a DataLoader; or, with ``as_dataset=False``, the tensors
    ``(images, labels)``; or, with ``return_tensors=False``, the same as NumPy arrays.

    ``images`` are float32 of shape ``(1797, 1, 8, 8)`` (channels first, ready for a CNN): the
    pixel values 0..16 divided by 16, so they lie in ``[0, 1]``; ``flatten=True`` gives
    ``(1797, 64)`` for a multilayer perceptron. ``labels`` are int64 of shape ``(1797,)``.

    >>> from flowgrad.data.datasets import load_digits
    >>> digits = load_digits()
    >>> len(digits), digits[0][0].shape, digits[0][1]
    (1797, (1, 8, 8), tensor(0))
    >>> images, labels = load_digits(as_dataset=False, flatten=True)
    >>> images.shape, images.dtype, labels.shape, labels.dtype
    ((1797, 64), flowgrad.float32, (1797,), flowgrad.int64)
    """
    if as_dataset is None:
        as_dataset = return_tensors
    if as_dataset and not return_tensors:
        raise ValueError(
            "load_digits: as_dataset=True needs return_tensors=True (a TensorDataset holds "
            "tensors); pass as_dataset=False for NumPy arrays"
        )
    with gzip.open(DIGITS_FILE) as compressed:
        table = np.loadtxt(io.BytesIO(compressed.read()), delimiter=",", dtype=np.int64)
    pixels, labels = table[:, :64], table[:, 64].copy()
    images = pixels.astype(np.float32) / np.float32(16.0)
    images = images.reshape(-1, 64) if flatten else images.reshape(-1, 1, 8, 8)
    if not return_tensors:
        return images, labels
    images_tensor, labels_tensor = Tensor._wrap(images), Tensor._wrap(labels)
    if as_dataset:
        return TensorDataset(images_tensor, labels_tensor)
    return images_tensor, labels_tensor
