"""The bundled UCI digits."""

import gzip

import numpy as np
import pytest

import flowgrad as fg
from flowgrad.data import DataLoader, TensorDataset, random_split
from flowgrad.data.datasets import load_digits
from flowgrad.data.datasets.digits import DIGITS_FILE

# Label counts of the 1,797 digits (as scikit-learn's load_digits reports them)
LABEL_COUNTS = [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]


def test_images_and_labels():
    images, labels = load_digits(as_dataset=False)
    assert images.shape == (1797, 1, 8, 8) and images.dtype == fg.float32
    assert labels.shape == (1797,) and labels.dtype == fg.int64
    pixels = images.numpy()
    assert pixels.min() == 0.0 and pixels.max() == 1.0
    # values are the integers 0..16 divided by 16
    np.testing.assert_array_equal(pixels * 16, np.round(pixels * 16))
    assert np.bincount(labels.numpy()).tolist() == LABEL_COUNTS


def test_first_sample_matches_the_file():
    with gzip.open(DIGITS_FILE, "rt") as f:
        first = [int(v) for v in f.readline().split(",")]
    images, labels = load_digits(return_tensors=False)
    assert isinstance(images, np.ndarray)
    np.testing.assert_array_equal(images[0, 0] * 16, np.array(first[:64]).reshape(8, 8))
    assert labels[0] == first[64] == 0


def test_a_dataset_by_default_ready_for_split_and_loader():
    data = load_digits()
    assert isinstance(data, TensorDataset) and len(data) == 1797
    train, test = random_split(data, [0.8, 0.2])
    assert (len(train), len(test)) == (1438, 359)
    x, y = next(iter(DataLoader(train, batch_size=32, shuffle=True)))
    assert x.shape == (32, 1, 8, 8) and x.dtype == fg.float32
    assert y.shape == (32,) and y.dtype == fg.int64


def test_flatten_and_flag_errors():
    flat, _ = load_digits(as_dataset=False, flatten=True)
    assert flat.shape == (1797, 64)
    assert load_digits(flatten=True)[0][0].shape == (64,)
    with pytest.raises(ValueError, match="as_dataset=True needs return_tensors=True"):
        load_digits(return_tensors=False, as_dataset=True)


def test_packaged_alongside_its_license():
    license_text = DIGITS_FILE.with_name("DIGITS_LICENSE.txt").read_text()
    assert "CC BY 4.0" in license_text and "scikit-learn" in license_text
