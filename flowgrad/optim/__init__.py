"""Optimizers and learning-rate schedulers, with PyTorch's names and semantics.

Each optimizer defines its per-parameter state and its update rule; :class:`Optimizer` does
the rest (groups, state, ``step``, ``zero_grad``, ``state_dict``).

>>> import flowgrad as fg
>>> w = fg.tensor([3.0], requires_grad=True)
>>> opt = fg.optim.SGD([w], lr=0.25)
>>> scheduler = fg.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
>>> for _ in range(3):
...     opt.zero_grad()
...     (w * w).sum().backward()
...     opt.step()
...     scheduler.step()
>>> w, scheduler.get_last_lr()
(tensor([0.9844], requires_grad=True), [0.03125])
"""

from flowgrad.optim import lr_scheduler
from flowgrad.optim.adagrad import Adagrad
from flowgrad.optim.adam import Adam
from flowgrad.optim.adamw import AdamW
from flowgrad.optim.optimizer import Optimizer
from flowgrad.optim.rmsprop import RMSprop
from flowgrad.optim.sgd import SGD

__all__ = ["SGD", "Adagrad", "Adam", "AdamW", "Optimizer", "RMSprop", "lr_scheduler"]
