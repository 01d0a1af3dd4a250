"""Loading data: datasets, samplers, collation and the :class:`DataLoader` (PyTorch's
``torch.utils.data`` names), and ready-made datasets in :mod:`flowgrad.data.datasets`.

>>> import flowgrad as fg
>>> from flowgrad.data import DataLoader, TensorDataset
>>> _ = fg.manual_seed(0)
>>> loader = DataLoader(TensorDataset(fg.randn(100, 3), fg.randint(0, 2, (100,))),
...                     batch_size=32, shuffle=True)
>>> [len(y) for x, y in loader]
[32, 32, 32, 4]
"""

from flowgrad.data import datasets
from flowgrad.data.collate import default_collate, default_convert
from flowgrad.data.dataloader import DataLoader
from flowgrad.data.dataset import (
    ChainDataset,
    ConcatDataset,
    Dataset,
    IterableDataset,
    Subset,
    TensorDataset,
    random_split,
)
from flowgrad.data.sampler import (
    BatchSampler,
    RandomSampler,
    Sampler,
    SequentialSampler,
    SubsetRandomSampler,
    WeightedRandomSampler,
)
from flowgrad.data.worker import WorkerInfo, get_worker_info

__all__ = [
    "BatchSampler", "ChainDataset", "ConcatDataset", "DataLoader", "Dataset", "IterableDataset",
    "RandomSampler", "Sampler", "SequentialSampler", "Subset", "SubsetRandomSampler",
    "TensorDataset", "WeightedRandomSampler", "WorkerInfo", "datasets", "default_collate",
    "default_convert", "get_worker_info", "random_split",
]
