"""Ready-made datasets: the bundled UCI digits, and MNIST / Fashion-MNIST from files on disk."""

from flowgrad.data.datasets.digits import load_digits
from flowgrad.data.datasets.mnist import MNIST, FashionMNIST, read_idx

__all__ = ["FashionMNIST", "MNIST", "load_digits", "read_idx"]
