"""The callback base class, the list that calls callbacks in order, History, ProgbarLogger,
and the argument checks the other callback modules share."""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable
from typing import TextIO

from flowgrad.errors import at_user_site
from flowgrad.keras.progbar import Progbar

Logs = dict[str, float]


class Callback:
    """The base class: every hook does nothing. ``model`` and ``params`` (``verbose``,
    ``epochs``, ``steps``) are set by the training loop before training starts."""

    def __init__(self) -> None:
        self.params: dict = {}
        self._model = None

    @property
    def model(self):
        return self._model

    def set_model(self, model) -> None:
        self._model = model

    def set_params(self, params: dict) -> None:
        self.params = params

    def on_batch_begin(self, batch: int, logs: Logs | None = None) -> None:
        """A training batch begins (``on_train_batch_begin`` calls it)."""

    def on_batch_end(self, batch: int, logs: Logs | None = None) -> None:
        """A training batch ended (``on_train_batch_end`` calls it)."""

    def on_epoch_begin(self, epoch: int, logs: Logs | None = None) -> None:
        """Epoch ``epoch`` (counted from 0) begins."""

    def on_epoch_end(self, epoch: int, logs: Logs | None = None) -> None:
        """Epoch ``epoch`` ended; ``logs`` holds its results, validation ones as ``val_*``."""

    def on_train_batch_begin(self, batch: int, logs: Logs | None = None) -> None:
        self.on_batch_begin(batch, logs)

    def on_train_batch_end(self, batch: int, logs: Logs | None = None) -> None:
        """``logs``: the epoch's running results so far."""
        self.on_batch_end(batch, logs)

    def on_test_batch_begin(self, batch: int, logs: Logs | None = None) -> None:
        """An evaluation batch (in ``evaluate``, or validation in ``fit``) begins."""

    def on_test_batch_end(self, batch: int, logs: Logs | None = None) -> None:
        """An evaluation batch ended."""

    def on_predict_batch_begin(self, batch: int, logs: dict | None = None) -> None:
        """A prediction batch begins."""

    def on_predict_batch_end(self, batch: int, logs: dict | None = None) -> None:
        """A prediction batch ended; ``logs["outputs"]`` holds its outputs."""

    def on_train_begin(self, logs: Logs | None = None) -> None:
        """``fit`` begins."""

    def on_train_end(self, logs: Logs | None = None) -> None:
        """``fit`` ends (also after an early stop)."""

    def on_test_begin(self, logs: Logs | None = None) -> None:
        """An evaluation begins."""

    def on_test_end(self, logs: Logs | None = None) -> None:
        """An evaluation ended; ``logs`` holds its results."""

    def on_predict_begin(self, logs: dict | None = None) -> None:
        """``predict`` begins."""

    def on_predict_end(self, logs: dict | None = None) -> None:
        """``predict`` ended."""


class CallbackList(Callback):
    """The callbacks of one ``fit``/``evaluate``/``predict`` call, called in order. With
    ``add_history`` (``add_progbar``) a :class:`History` (:class:`ProgbarLogger`) is appended
    unless one is given. ``params`` (``verbose``, ``epochs``, ``steps``) reach every callback.

    Each hook passes one fresh dict to all callbacks, its keys sorted and its numbers made
    Python floats: a callback that adds an entry (``learning_rate``) shows it to those after it.
    """

    def __init__(self, callbacks: Iterable[Callback] | None = None, add_history: bool = False,
                 add_progbar: bool = False, model=None, **params) -> None:
        super().__init__()
        if isinstance(callbacks, Callback):
            callbacks = [callbacks]
        self.callbacks: list[Callback] = list(callbacks or [])
        for callback in self.callbacks:
            if not isinstance(callback, Callback):
                raise TypeError(at_user_site(
                    f"callbacks: {callback!r} is not a flowgrad.keras.callbacks.Callback"))
        self.history = next((c for c in self.callbacks if isinstance(c, History)), None)
        if self.history is None and add_history:
            self.history = History()
            self.callbacks.append(self.history)
        if add_progbar and not any(isinstance(c, ProgbarLogger) for c in self.callbacks):
            self.callbacks.append(ProgbarLogger())
        if model is not None:
            self.set_model(model)
        self.set_params(params)

    def set_model(self, model) -> None:
        super().set_model(model)
        if self.history is not None:
            model.history = self.history
        for callback in self.callbacks:
            callback.set_model(model)

    def set_params(self, params: dict) -> None:
        super().set_params(params)
        for callback in self.callbacks:
            callback.set_params(params)

    def _call(self, hook: str, *args) -> None:
        *position, logs = args
        logs = _python_logs(logs)
        for callback in self.callbacks:
            getattr(callback, hook)(*position, logs)

    def on_batch_begin(self, batch, logs=None):
        self._call("on_batch_begin", batch, logs)

    def on_batch_end(self, batch, logs=None):
        self._call("on_batch_end", batch, logs)

    def on_epoch_begin(self, epoch, logs=None):
        self._call("on_epoch_begin", epoch, logs)

    def on_epoch_end(self, epoch, logs=None):
        self._call("on_epoch_end", epoch, logs)

    def on_train_batch_begin(self, batch, logs=None):
        self._call("on_train_batch_begin", batch, logs)

    def on_train_batch_end(self, batch, logs=None):
        self._call("on_train_batch_end", batch, logs)

    def on_test_batch_begin(self, batch, logs=None):
        self._call("on_test_batch_begin", batch, logs)

    def on_test_batch_end(self, batch, logs=None):
        self._call("on_test_batch_end", batch, logs)

    def on_predict_batch_begin(self, batch, logs=None):
        self._call("on_predict_batch_begin", batch, logs)

    def on_predict_batch_end(self, batch, logs=None):
        self._call("on_predict_batch_end", batch, logs)

    def on_train_begin(self, logs=None):
        self._call("on_train_begin", logs)

    def on_train_end(self, logs=None):
        self._call("on_train_end", logs)

    def on_test_begin(self, logs=None):
        self._call("on_test_begin", logs)

    def on_test_end(self, logs=None):
        self._call("on_test_end", logs)

    def on_predict_begin(self, logs=None):
        self._call("on_predict_begin", logs)

    def on_predict_end(self, logs=None):
        self._call("on_predict_end", logs)


def _python_logs(logs: dict | None) -> dict:
    """A new dict of ``logs``, keys sorted, every value that converts to a float converted
    (a tensor or NumPy scalar); the rest (prediction outputs) as they are."""
    result = {}
    for key, value in sorted((logs or {}).items()):
        try:
            result[key] = float(value)
        except (TypeError, ValueError):
            result[key] = value
    return result


class History(Callback):
    """Records each epoch's logs: ``history`` maps a name to its value per epoch, ``epoch``
    lists the epochs. ``fit`` adds one and returns it (also ``model.history``)."""

    def __init__(self) -> None:
        super().__init__()
        self.history: dict[str, list[float]] = {}
        self.epoch: list[int] = []

    def on_train_begin(self, logs=None):
        self.epoch = []

    def on_epoch_end(self, epoch, logs=None):
        self.epoch.append(epoch)
        for name, value in (logs or {}).items():
            self.history.setdefault(name, []).append(value)
        if self.model is not None:
            self.model.history = self


class ProgbarLogger(Callback):
    """Prints ``Epoch 3/10`` (when there is more than one epoch) and a :class:`Progbar` per
    epoch, with the epoch's results (validation ones too) on its last line; ``evaluate`` and
    ``predict`` get a bar of their own. Batch logs are the epoch's running results, so they
    are shown as given. ``fit`` adds one when ``verbose`` is not 0."""

    def __init__(self, stream: TextIO | None = None) -> None:
        super().__init__()
        self._stream = stream
        self.verbose, self.epochs, self.target = 1, 1, None
        self.progbar: Progbar | None = None
        self._seen = 0
        self._in_fit = False

    def set_params(self, params):
        super().set_params(params)
        verbose = params.get("verbose", 1)
        self.verbose = 1 if verbose == "auto" else min(int(verbose), 2)
        self.epochs = params.get("epochs", 1)
        self.target = params.get("steps")

    def _new_bar(self) -> None:
        self._seen = 0
        self.progbar = Progbar(self.target, verbose=self.verbose, stateless_metrics=(),
                               stream=self._stream)

    def _update(self, batch: int, logs) -> None:
        if self.progbar is None:
            self._new_bar()
        self._seen = batch + 1
        if self.verbose == 1:
            self.progbar.update(self._seen, _numbers(logs), finalize=False)

    def _finish(self, logs) -> None:
        if self.progbar is None:
            self._new_bar()
        if self.progbar.target is None:
            self.progbar.target = self._seen
        self.progbar.update(self.progbar.target, _numbers(logs), finalize=True)
        self.progbar = None

    def on_train_begin(self, logs=None):
        self._in_fit = True  # validation inside fit draws no bar of its own

    def on_train_end(self, logs=None):
        self._in_fit = False

    def on_epoch_begin(self, epoch, logs=None):
        self._new_bar()
        if self.verbose and self.epochs > 1:
            stream = self.progbar.stream
            stream.write(f"Epoch {epoch + 1}/{self.epochs}\n")
            stream.flush()

    def on_train_batch_end(self, batch, logs=None):
        self._update(batch, logs)

    def on_epoch_end(self, epoch, logs=None):
        self._finish(logs)

    def on_test_begin(self, logs=None):
        if not self._in_fit:
            self._new_bar()

    def on_test_batch_end(self, batch, logs=None):
        if not self._in_fit:
            self._update(batch, logs)

    def on_test_end(self, logs=None):
        if not self._in_fit:
            self._finish(logs)

    def on_predict_begin(self, logs=None):
        self._new_bar()

    def on_predict_batch_end(self, batch, logs=None):
        self._update(batch, None)  # outputs are not shown

    def on_predict_end(self, logs=None):
        self._finish(None)


def _numbers(logs) -> list[tuple[str, float]]:
    """The logged numbers (what a progress bar can show), in order."""
    return [(k, v) for k, v in (logs or {}).items() if isinstance(v, float)]


def _check_count(owner: str, name: str, value, minimum: int = 0) -> None:
    """An int argument of at least ``minimum``, or a ValueError naming it."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(at_user_site(
            f"{owner}({name}={value!r}): {name} is an int >= {minimum}"))


def _check_real(owner: str, name: str, value, allow_none: bool = False) -> None:
    if allow_none and value is None:
        return
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or math.isnan(value):
        none = " or None" if allow_none else ""
        raise ValueError(at_user_site(f"{owner}({name}={value!r}): {name} is a number{none}"))


def _learning_rate(model) -> float:
    return float(model.optimizer.learning_rate)
