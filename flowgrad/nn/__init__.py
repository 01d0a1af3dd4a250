"""``fg.nn``: modules, parameters, layers, losses and initialisers, with PyTorch's names."""

from flowgrad.nn import functional, init, utils
from flowgrad.nn.module import Module
from flowgrad.nn.modules import *  # noqa: F403
from flowgrad.nn.summary import ModelSummary, summary
from flowgrad.tensor import Parameter
