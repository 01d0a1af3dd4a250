"""TensorFlow-1's graph, variable and session names, with TF-1's argument order.

``Variable`` and ``Session`` are flowgrad's (subclasses that only reorder the arguments), so
a compat variable or session is an ``fg.Variable`` / ``fg.Session`` everywhere.
"""

from __future__ import annotations

from flowgrad import graph as G
from flowgrad.errors import GraphError, at_user_site
from flowgrad.graph.ir import Graph
from flowgrad.tensor import Tensor


def placeholder(dtype, shape=None, name: str | None = None) -> Tensor:
    """A value fed at run time, as ``tf.placeholder``: ``shape=None`` accepts any shape, a
    ``None`` dimension any size."""
    return G.placeholder(dtype, shape=shape, name=name)


class Variable(G.Variable):
    """``tf.Variable(initial_value, trainable=True, name=None, dtype=None)``: flowgrad's
    :class:`~flowgrad.graph.Variable` with TF-1's argument order (``trainable`` second).
    TF-1's placement and partitioning arguments do not apply and are not accepted.

    >>> import flowgrad.compat.v1 as tf
    >>> with tf.Graph().as_default():
    ...     step = tf.Variable(0, False, name="global_step")
    ...     step, tf.trainable_variables()
    (<Variable 'global_step' shape=() dtype=flowgrad.int64 trainable=False>, [])
    """

    __slots__ = ()

    def __new__(cls, initial_value=None, trainable: bool = True, *, name: str | None = None,
                dtype=None) -> Variable:
        return super().__new__(cls, initial_value, name=name, trainable=trainable, dtype=dtype)


class Session(G.Session):
    """``tf.Session(target='', graph=None, config=None)``: flowgrad's
    :class:`~flowgrad.graph.Session` with TF-1's argument order. Only the in-process target
    ``''`` exists; ``config`` (a ``ConfigProto``: threads, devices) is accepted and ignored."""

    def __init__(self, target: str = "", graph: Graph | None = None, config=None, *,
                 disable_passes=()) -> None:
        if target:
            raise GraphError(at_user_site(
                f"Session: target {target!r} is a distributed TensorFlow runtime; flowgrad "
                f"runs graphs in this process only (use target='')"
            ))
        super().__init__(graph, disable_passes=disable_passes)
