"""``flowgrad.utils.tensorboard.SummaryWriter``, where PyTorch users look for it (the
writer lives in :mod:`flowgrad.io.tensorboard`; it needs ``pip install 'flowgrad[tensorboard]'``
only when one is made)."""

from flowgrad.io.tensorboard import SummaryWriter

__all__ = ["SummaryWriter"]
