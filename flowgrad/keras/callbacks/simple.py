"""Small callbacks: LearningRateScheduler, TerminateOnNaN, LambdaCallback."""

from __future__ import annotations

import inspect
import math
import numbers
from collections.abc import Callable

from flowgrad.errors import at_user_site
from flowgrad.keras.callbacks.base import Callback, _learning_rate


class LearningRateScheduler(Callback):
    """At each epoch's start set the optimizer's learning rate to ``schedule(epoch, lr)`` (or
    ``schedule(epoch)`` for a function of one argument); epochs count from 0. The rate
    appears in the epoch's logs as ``learning_rate``.

    >>> halve_after_10 = LearningRateScheduler(lambda epoch, lr: lr if epoch < 10 else lr / 2)
    """

    def __init__(self, schedule: Callable[..., float], verbose: int = 0) -> None:
        super().__init__()
        if not callable(schedule):
            raise TypeError(at_user_site(
                f"LearningRateScheduler(schedule={schedule!r}): schedule is a function of "
                f"(epoch) or (epoch, lr) that returns the learning rate"))
        self.schedule, self.verbose = schedule, verbose
        self._takes_lr = _positional_count(schedule) >= 2

    def on_epoch_begin(self, epoch, logs=None):
        if self._takes_lr:
            rate = self.schedule(epoch, _learning_rate(self.model))
        else:
            rate = self.schedule(epoch)
        if isinstance(rate, bool) or not isinstance(rate, numbers.Real) or not rate >= 0:
            raise ValueError(f"LearningRateScheduler: schedule({epoch}) returned {rate!r}; "
                             f"expected a learning rate (a float >= 0)")
        self.model.optimizer.learning_rate = float(rate)
        if self.verbose > 0:
            print(f"\nEpoch {epoch + 1}: LearningRateScheduler setting learning rate to "
                  f"{float(rate)}.")

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["learning_rate"] = _learning_rate(self.model)


def _positional_count(function: Callable) -> int:
    """How many positional arguments ``function`` accepts (2 when it cannot be told)."""
    try:
        parameters = inspect.signature(function).parameters.values()
    except (TypeError, ValueError):
        return 2
    kinds = [p.kind for p in parameters]
    if inspect.Parameter.VAR_POSITIONAL in kinds:
        return 2
    positional = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    return sum(kind in positional for kind in kinds)


class TerminateOnNaN(Callback):
    """Stop training at the first batch whose loss is NaN or infinite (``raise_error``:
    raise a RuntimeError there instead)."""

    def __init__(self, raise_error: bool = False) -> None:
        super().__init__()
        self.raise_error = raise_error

    def on_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is None or math.isfinite(loss):
            return
        if self.raise_error:
            raise RuntimeError(f"TerminateOnNaN: the loss is {loss} at batch {batch}")
        print(f"Batch {batch}: Invalid loss, terminating training")
        self.model.stop_training = True


#: The hooks a LambdaCallback may be given.
_HOOKS = tuple(name for name in vars(Callback) if name.startswith("on_"))


class LambdaCallback(Callback):
    """A callback made of functions, each called with its hook's arguments:
    ``on_epoch_begin(epoch, logs)``, ``on_train_begin(logs)``, ``on_train_batch_end(batch,
    logs)`` ...; any other hook (``on_test_end=...``) by keyword.

    >>> seen = []
    >>> callback = LambdaCallback(on_epoch_end=lambda epoch, logs: seen.append(epoch))
    >>> callback.on_epoch_end(0, {"loss": 1.0})
    >>> seen
    [0]
    """

    def __init__(self, on_epoch_begin=None, on_epoch_end=None, on_train_begin=None,
                 on_train_end=None, on_train_batch_begin=None, on_train_batch_end=None,
                 **hooks: Callable) -> None:
        super().__init__()
        unknown = sorted(set(hooks) - set(_HOOKS))
        if unknown:
            raise TypeError(at_user_site(
                f"LambdaCallback: unknown hook {unknown[0]!r}; the hooks are {', '.join(_HOOKS)}"))
        hooks.update(on_epoch_begin=on_epoch_begin, on_epoch_end=on_epoch_end,
                     on_train_begin=on_train_begin, on_train_end=on_train_end,
                     on_train_batch_begin=on_train_batch_begin,
                     on_train_batch_end=on_train_batch_end)
        for name, function in hooks.items():
            if function is None:
                continue
            if not callable(function):
                raise TypeError(at_user_site(f"LambdaCallback({name}={function!r}): not callable"))
            setattr(self, name, function)
