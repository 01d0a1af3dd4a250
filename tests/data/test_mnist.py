"""MNIST and Fashion-MNIST from IDX files: layouts, values, fast batches, clear errors."""

import gzip
import struct

import numpy as np
import pytest

import flowgrad as fg
from flowgrad.data import DataLoader, default_collate
from flowgrad.data.datasets import MNIST, FashionMNIST, read_idx


def idx_bytes(array: np.ndarray, type_code: int = 0x08) -> bytes:
    header = bytes([0, 0, type_code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


def write_split(folder, split="train", n=5, compress=False, labels=None, size=28):
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(n, size, size), dtype=np.uint8)
    labels = np.arange(n, dtype=np.uint8) % 10 if labels is None else labels
    for name, array in ((f"{split}-images-idx3-ubyte", images),
                        (f"{split}-labels-idx1-ubyte", labels)):
        data = idx_bytes(array)
        if compress:
            (folder / (name + ".gz")).write_bytes(gzip.compress(data))
        else:
            (folder / name).write_bytes(data)
    return images, labels


def test_reads_torchvision_layout(tmp_path):
    images, labels = write_split(tmp_path / "MNIST" / "raw", n=6)
    data = MNIST(tmp_path)
    assert len(data) == 6
    assert data.data.dtype == fg.uint8 and data.data.shape == (6, 28, 28)
    assert data.targets.dtype == fg.int64 and data.targets.tolist() == labels.tolist()
    image, target = data[2]
    assert image.shape == (1, 28, 28) and image.dtype == fg.float32
    np.testing.assert_allclose(image.numpy()[0], images[2] / 255, rtol=1e-6)
    assert target == 2 and isinstance(target, int)
    assert "Split: Train" in repr(data)


def test_reads_gzip_files_in_root_and_the_test_split(tmp_path):
    images, _ = write_split(tmp_path, split="t10k", n=3, compress=True)
    data = MNIST(str(tmp_path), train=False)
    assert len(data) == 3
    np.testing.assert_array_equal(data.data.numpy(), images)


def test_fashion_mnist_folder_and_classes(tmp_path):
    write_split(tmp_path / "FashionMNIST" / "raw", n=4)
    data = FashionMNIST(tmp_path)
    assert len(data) == 4 and data.classes[9] == "Ankle boot"
    with pytest.raises(FileNotFoundError):
        MNIST(tmp_path)


def test_transforms(tmp_path):
    write_split(tmp_path, n=4)
    data = MNIST(tmp_path, transform=lambda image: image.sum(), target_transform=lambda t: -t)
    total, target = data[3]
    assert target == -3 and total.shape == ()


def test_loader_batches_equal_collated_samples(tmp_path):
    write_split(tmp_path, n=10)
    data = MNIST(tmp_path)
    fast = list(DataLoader(data, batch_size=4))
    slow = list(DataLoader(data, batch_size=4, collate_fn=lambda b: default_collate(b)))
    for (xa, ya), (xb, yb) in zip(fast, slow, strict=True):
        assert xa.shape == xb.shape and xa.dtype == xb.dtype == fg.float32
        assert ya.dtype == yb.dtype == fg.int64
        np.testing.assert_array_equal(xa.numpy(), xb.numpy())
        np.testing.assert_array_equal(ya.numpy(), yb.numpy())
    assert fast[0][0].shape == (4, 1, 28, 28)


def test_missing_files_name_the_files_and_folders(tmp_path):
    with pytest.raises(FileNotFoundError) as info:
        MNIST(tmp_path, download=True)
    message = str(info.value)
    assert "train-images-idx3-ubyte" in message and ".gz" in message
    assert str(tmp_path / "MNIST" / "raw") in message and "does not download" in message


def test_bad_magic_number(tmp_path):
    write_split(tmp_path, n=2)
    (tmp_path / "train-images-idx3-ubyte").write_bytes(b"PK\x03\x04" + bytes(100))
    with pytest.raises(ValueError, match="bad magic number 0x504b0304"):
        MNIST(tmp_path)


def test_truncated_file(tmp_path):
    write_split(tmp_path, n=2)
    path = tmp_path / "train-images-idx3-ubyte"
    path.write_bytes(path.read_bytes()[:-10])
    with pytest.raises(ValueError, match=r"announces shape \(2, 28, 28\).*truncated"):
        MNIST(tmp_path)


def test_labels_and_images_disagree(tmp_path):
    write_split(tmp_path, n=3, labels=np.zeros(2, np.uint8))
    with pytest.raises(ValueError, match=r"holds 3 images but .* holds 2 labels"):
        MNIST(tmp_path)


def test_wrong_number_of_dimensions(tmp_path):
    write_split(tmp_path, n=2)
    (tmp_path / "train-labels-idx1-ubyte").write_bytes(idx_bytes(np.zeros((2, 1), np.uint8)))
    with pytest.raises(ValueError, match=r"holds a 2-d array .* expected 1-d"):
        MNIST(tmp_path)


def test_corrupted_gzip(tmp_path):
    path = tmp_path / "x-idx1-ubyte.gz"
    path.write_bytes(gzip.compress(idx_bytes(np.arange(5, dtype=np.uint8)))[:-6])
    with pytest.raises(ValueError, match="not a readable gzip file"):
        read_idx(path)


def test_read_idx_other_types(tmp_path):
    values = np.array([[1, -2], [300000, 4]], dtype=np.int32)
    path = tmp_path / "ints.idx"
    path.write_bytes(idx_bytes(values, type_code=0x0C))
    out = read_idx(path, ndim=2)
    assert out.dtype == np.int32 and out.dtype.isnative
    np.testing.assert_array_equal(out, values)
