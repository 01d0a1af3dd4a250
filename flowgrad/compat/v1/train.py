"""``tf.train``: TensorFlow-1's optimizers, each a flowgrad optimizer with TF-1's arguments.

They subclass :mod:`flowgrad.optim` optimizers, so ``minimize`` builds the update into the
graph exactly as flowgrad's own do (and ``sess.run(optimizer)`` is caught and explained).
Where TF-1's arithmetic differs from PyTorch's, the update rule is TF-1's:

- ``GradientDescentOptimizer``, ``MomentumOptimizer``: flowgrad's SGD; TF-1 momentum has no
  dampening, so it is SGD's ``momentum`` rule as it is (Nesterov too).
- ``AdamOptimizer``: TF-1 adds ``epsilon`` to ``sqrt(v)`` before the bias correction of the
  step (``lr * sqrt(1 - beta2**t) / (1 - beta1**t) * m / (sqrt(v) + epsilon)``), PyTorch after
  it; the rule here is TF-1's.
- ``RMSPropOptimizer``: TF-1 starts the mean square at one (not zero), adds ``epsilon`` inside
  the square root, and keeps the learning rate inside the momentum buffer; the rule here is
  TF-1's.

TF-1's ``use_locking`` has no meaning for a session that runs one step at a time; it is
accepted and ignored. Learning rates are numbers (TF-1 also took tensors, for schedules).
"""

from __future__ import annotations

import numbers
from typing import Any

from flowgrad import functions as F
from flowgrad import graph as G
from flowgrad.errors import at_user_site
from flowgrad.optim import SGD, Adam, RMSprop
from flowgrad.optim.tensorflow_rules import adam_update, rmsprop_update
from flowgrad.tensor import Tensor

__all__ = ["AdamOptimizer", "GradientDescentOptimizer", "MomentumOptimizer",
           "RMSPropOptimizer"]


class _TF1Minimize:
    """TF-1's ``minimize(loss, global_step=None, var_list=None, name=None)``."""

    _tf_name: str

    def minimize(self, loss: Tensor, global_step: G.Variable | None = None, var_list=None,
                 name: str | None = None) -> Tensor:
        """The train op: one update of ``var_list`` (default: the trainable variables) down
        the gradient of ``loss``; with ``global_step``, it also adds one to that variable."""
        train = super().minimize(loss, var_list, name=name or self._tf_name)
        if global_step is None:
            return train
        if not isinstance(global_step, G.Variable):
            raise TypeError(at_user_site(
                f"{type(self).__name__}.minimize: global_step must be a Variable, got "
                f"{type(global_step).__name__}"
            ))
        return G.group(train, global_step.assign_add(1), name=f"{self._tf_name}/step")


def _number(optimizer: str, what: str, value) -> float:
    if isinstance(value, Tensor) or not isinstance(value, numbers.Real):
        raise TypeError(at_user_site(
            f"{optimizer}: {what} must be a number, got {type(value).__name__} (a tensor "
            f"learning rate, for a schedule, is not supported)"
        ))
    return float(value)


class GradientDescentOptimizer(_TF1Minimize, SGD):
    """``var -= learning_rate * grad``, as ``tf.train.GradientDescentOptimizer``.

    >>> import flowgrad.compat.v1 as tf
    >>> with tf.Graph().as_default():
    ...     w = tf.Variable(3.0)
    ...     train = tf.train.GradientDescentOptimizer(0.25).minimize(tf.square(w))
    ...     with tf.Session() as sess:
    ...         _ = sess.run(tf.global_variables_initializer())
    ...         _ = sess.run(train)
    ...         sess.run(w)  # 3 - 0.25 * 2 * 3
    array(1.5, dtype=float32)
    """

    def __init__(self, learning_rate: float, use_locking: bool = False,
                 name: str = "GradientDescent") -> None:
        super().__init__(lr=_number(type(self).__name__, "learning_rate", learning_rate))
        self._tf_name = name


class MomentumOptimizer(_TF1Minimize, SGD):
    """``accum = momentum * accum + grad; var -= learning_rate * accum`` (Nesterov:
    ``var -= learning_rate * (grad + momentum * accum)``), as ``tf.train.MomentumOptimizer``:
    flowgrad's SGD with ``momentum`` and no dampening."""

    def __init__(self, learning_rate: float, momentum: float, use_locking: bool = False,
                 name: str = "Momentum", use_nesterov: bool = False) -> None:
        where = type(self).__name__
        super().__init__(lr=_number(where, "learning_rate", learning_rate),
                         momentum=_number(where, "momentum", momentum), dampening=0.0,
                         nesterov=use_nesterov)
        self._tf_name = name


class AdamOptimizer(_TF1Minimize, Adam):
    """Adam as ``tf.train.AdamOptimizer`` computes it: ``m``, ``v`` as in Adam, then
    ``var -= lr * sqrt(1 - beta2**t) / (1 - beta1**t) * m / (sqrt(v) + epsilon)`` (epsilon
    before the bias correction, unlike PyTorch's Adam)."""

    def __init__(self, learning_rate: float = 0.001, beta1: float = 0.9, beta2: float = 0.999,
                 epsilon: float = 1e-08, use_locking: bool = False, name: str = "Adam") -> None:
        where = type(self).__name__
        super().__init__(lr=_number(where, "learning_rate", learning_rate),
                         betas=(_number(where, "beta1", beta1), _number(where, "beta2", beta2)),
                         eps=_number(where, "epsilon", epsilon))
        self._tf_name = name

    def update(self, param: Tensor, grad: Tensor, state: dict[str, Any],
               group: dict[str, Any]) -> None:
        adam_update(param, grad, state, group)


class RMSPropOptimizer(_TF1Minimize, RMSprop):
    """RMSProp as ``tf.train.RMSPropOptimizer`` computes it: ``ms`` starts at one,
    ``ms = decay * ms + (1 - decay) * grad**2``,
    ``mom = momentum * mom + learning_rate * grad / sqrt(ms + epsilon)``, ``var -= mom``
    (``centered`` subtracts the squared running mean gradient from ``ms`` first)."""

    def __init__(self, learning_rate: float, decay: float = 0.9, momentum: float = 0.0,
                 epsilon: float = 1e-10, use_locking: bool = False, centered: bool = False,
                 name: str = "RMSProp") -> None:
        where = type(self).__name__
        super().__init__(lr=_number(where, "learning_rate", learning_rate),
                         alpha=_number(where, "decay", decay),
                         eps=_number(where, "epsilon", epsilon),
                         momentum=_number(where, "momentum", momentum), centered=centered)
        self._tf_name = name

    def init_state(self, param: Tensor, group: dict[str, Any]) -> dict[str, Any]:
        state = super().init_state(param, group)
        state["square_avg"] = F.ones_like(param)  # TF-1 starts the mean square at one
        return state

    def update(self, param: Tensor, grad: Tensor, state: dict[str, Any],
               group: dict[str, Any]) -> None:
        rmsprop_update(param, grad, state, group)
