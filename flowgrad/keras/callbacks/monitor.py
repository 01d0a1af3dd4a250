"""Callbacks that watch a logged quantity: EarlyStopping, ModelCheckpoint, ReduceLROnPlateau."""

from __future__ import annotations

import os
import string
import warnings

import numpy as np

from flowgrad.errors import at_user_site
from flowgrad.keras.callbacks.base import Callback, _check_count, _check_real, _learning_rate

#: Name parts of quantities that grow as the model improves (``mode="auto"`` maximises them).
_MAXIMISED = ("acc", "accuracy", "auc", "precision", "recall", "f1", "fbeta", "iou", "r2")


class _MonitorCallback(Callback):
    """A callback that watches one logged quantity and decides what counts as better."""

    def __init__(self, monitor: str, mode: str, min_delta: float) -> None:
        super().__init__()
        owner = type(self).__name__
        if not isinstance(monitor, str) or not monitor:
            raise ValueError(at_user_site(
                f"{owner}(monitor={monitor!r}): monitor names a logged quantity, e.g. "
                f"'val_loss' or 'val_accuracy'"))
        if mode not in ("auto", "min", "max"):
            raise ValueError(at_user_site(
                f"{owner}(mode={mode!r}): mode is 'auto', 'min' or 'max'"))
        _check_real(owner, "min_delta", min_delta)
        self.monitor, self.mode = monitor, mode
        self.min_delta = abs(float(min_delta))
        if mode == "auto":
            mode = "max" if _is_maximised(monitor) else "min"
        self.maximise = mode == "max"

    def _improves(self, value: float, reference: float | None) -> bool:
        """Whether ``value`` beats ``reference`` (None: nothing yet) by more than min_delta."""
        if reference is None:
            return True
        if self.maximise:
            return value - self.min_delta > reference
        return value + self.min_delta < reference

    def _monitored(self, logs, what: str) -> float | None:
        """The monitored value, or None after a warning that names the available keys."""
        value = (logs or {}).get(self.monitor)
        if value is None:
            available = ", ".join(logs or {}) or "none"
            warnings.warn(f"{type(self).__name__}: {what} is conditioned on {self.monitor!r}, "
                          f"which is not in the logs; available: {available}", stacklevel=3)
        return value


def _is_maximised(monitor: str) -> bool:
    """``mode="auto"``: accuracy-, AUC-, precision-like names go up; losses, errors go down."""
    words = monitor.lower().removeprefix("val_").split("_")
    return any(word in _MAXIMISED for word in words)


class EarlyStopping(_MonitorCallback):
    """Stop training when ``monitor`` has not improved (by more than ``min_delta``) for
    ``patience`` epochs (never after the first epoch). With ``baseline``, an improvement
    restarts the count only when it also beats the baseline. Epochs before
    ``start_from_epoch`` are not watched. ``restore_best_weights``: at the end, set the
    weights of the best epoch seen.

    >>> stop = EarlyStopping(monitor="val_accuracy", patience=3)
    >>> stop.maximise  # mode="auto" sees an accuracy
    True
    """

    def __init__(self, monitor: str = "val_loss", min_delta: float = 0, patience: int = 0,
                 verbose: int = 0, mode: str = "auto", baseline: float | None = None,
                 restore_best_weights: bool = False, start_from_epoch: int = 0) -> None:
        super().__init__(monitor, mode, min_delta)
        _check_count("EarlyStopping", "patience", patience)
        _check_count("EarlyStopping", "start_from_epoch", start_from_epoch)
        _check_real("EarlyStopping", "baseline", baseline, allow_none=True)
        self.patience, self.verbose, self.baseline = patience, verbose, baseline
        self.restore_best_weights, self.start_from_epoch = restore_best_weights, start_from_epoch
        self.on_train_begin()

    def on_train_begin(self, logs=None):
        self.wait, self.stopped_epoch, self.best_epoch = 0, 0, 0
        self.best: float | None = None
        self.best_weights = None

    def on_epoch_end(self, epoch, logs=None):
        current = self._monitored(logs, "early stopping")
        if current is None or epoch < self.start_from_epoch:
            return
        self.wait += 1
        if self._improves(current, self.best):
            self.best, self.best_epoch = current, epoch
            if self.restore_best_weights:
                self.best_weights = self.model.get_weights()
            if self.baseline is None or self._improves(current, self.baseline):
                self.wait = 0
            return
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        if self.stopped_epoch > 0 and self.verbose > 0:
            print(f"Epoch {self.stopped_epoch + 1}: early stopping")
        if self.restore_best_weights and self.best_weights is not None:
            if self.verbose > 0:
                print(f"Restoring model weights from the end of the best epoch: "
                      f"{self.best_epoch + 1}.")
            self.model.set_weights(self.best_weights)


class ModelCheckpoint(_MonitorCallback):
    """Save the model (``model.save``) or its weights (``model.save_weights``) as safetensors
    every epoch, or every ``save_freq`` batches. ``filepath`` may hold placeholders filled from
    the logs: ``"ckpt-{epoch:02d}-{val_loss:.2f}.safetensors"`` (epochs count from 1).
    ``save_best_only``: save only when ``monitor`` improved on the best so far (at first on
    ``initial_value_threshold`` when given).

    >>> ModelCheckpoint("best.weights.safetensors", save_weights_only=True).monitor
    'val_loss'
    """

    def __init__(self, filepath: str | os.PathLike, monitor: str = "val_loss", verbose: int = 0,
                 save_best_only: bool = False, save_weights_only: bool = False,
                 mode: str = "auto", save_freq: str | int = "epoch",
                 initial_value_threshold: float | None = None) -> None:
        super().__init__(monitor, mode, 0)
        self.filepath = _checked_filepath(filepath)
        if save_freq != "epoch":
            _check_count("ModelCheckpoint", "save_freq", save_freq, minimum=1)
        _check_real("ModelCheckpoint", "initial_value_threshold", initial_value_threshold,
                    allow_none=True)
        self.verbose, self.save_freq = verbose, save_freq
        self.save_best_only, self.save_weights_only = save_best_only, save_weights_only
        self.best = initial_value_threshold
        self._epoch, self._batches_since_save = 0, 0

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if self.save_freq == "epoch":
            return
        self._batches_since_save += 1
        if self._batches_since_save >= self.save_freq:
            self._batches_since_save = 0
            self._save(self._epoch, batch, logs)

    def on_epoch_end(self, epoch, logs=None):
        if self.save_freq == "epoch":
            self._save(epoch, None, logs)

    def _save(self, epoch: int, batch: int | None, logs) -> None:
        path = self._format_path(epoch, batch, logs or {})
        if self.save_best_only:
            current = self._monitored(logs, "saving the best model")
            if current is not None and not self._improves(current, self.best):
                if self.verbose > 0:
                    print(f"\nEpoch {epoch + 1}: {self.monitor} did not improve from "
                          f"{self.best:.5f}")
                return
            if current is not None:
                if self.verbose > 0:
                    before = "None" if self.best is None else f"{self.best:.5f}"
                    print(f"\nEpoch {epoch + 1}: {self.monitor} improved from {before} to "
                          f"{current:.5f}, saving model to {path}")
                self.best = current
        elif self.verbose > 0:
            print(f"\nEpoch {epoch + 1}: saving model to {path}")
        folder = os.path.dirname(path)
        if folder:
            os.makedirs(folder, exist_ok=True)
        if os.path.isdir(path):
            raise IsADirectoryError(f"ModelCheckpoint: filepath {path!r} is a folder; "
                                    f"name a file, e.g. 'model.safetensors'")
        if self.save_weights_only:
            self.model.save_weights(path)
        else:
            self.model.save(path)

    def _format_path(self, epoch: int, batch: int | None, logs: dict) -> str:
        fields = dict(logs, epoch=epoch + 1)
        if batch is not None:
            fields["batch"] = batch + 1
        try:
            return self.filepath.format(**fields)
        except KeyError as exc:
            raise KeyError(
                f"ModelCheckpoint(filepath={self.filepath!r}): the placeholder {exc} is not in "
                f"the logs; available: {', '.join(fields)}") from None


#: Formats that flowgrad does not write (it writes safetensors): a name that says otherwise
#: would mislead whoever loads the file later.
_FOREIGN_SUFFIXES = (".h5", ".hdf5", ".keras", ".pkl", ".pickle", ".pt", ".pth", ".ckpt")


def _checked_filepath(filepath) -> str:
    """``filepath`` as a string, its placeholders checked by formatting them with stand-ins
    (an int for ``epoch`` and ``batch``, a float for a logged value)."""
    if not isinstance(filepath, (str, os.PathLike)):
        raise TypeError(at_user_site(
            f"ModelCheckpoint(filepath={filepath!r}): filepath is a str or path"))
    path = os.fspath(filepath)
    stand_ins = {}
    try:
        for _, field, _, _ in string.Formatter().parse(path):
            if field is not None:
                if not field.isidentifier():
                    raise ValueError(f"the placeholder {{{field}}} does not name a log entry")
                stand_ins[field] = 1 if field in ("epoch", "batch") else 0.0
        path.format(**stand_ins)
    except ValueError as exc:
        raise ValueError(at_user_site(
            f"ModelCheckpoint(filepath={path!r}): {exc}; placeholders look like "
            f"'{{epoch:02d}}' or '{{val_loss:.2f}}'")) from None
    if path.lower().endswith(_FOREIGN_SUFFIXES):
        raise ValueError(at_user_site(
            f"ModelCheckpoint(filepath={path!r}): flowgrad saves safetensors files; name "
            f"the file '.safetensors' (e.g. 'model.weights.safetensors')"))
    return path


class ReduceLROnPlateau(_MonitorCallback):
    """Multiply the learning rate by ``factor`` when ``monitor`` has not improved (by more
    than ``min_delta``) for ``patience`` epochs, never below ``min_lr``; then wait
    ``cooldown`` epochs before watching again. The rate appears in the logs as
    ``learning_rate``.

    >>> ReduceLROnPlateau(factor=0.5, patience=2, min_lr=1e-5).factor
    0.5
    """

    def __init__(self, monitor: str = "val_loss", factor: float = 0.1, patience: int = 10,
                 verbose: int = 0, mode: str = "auto", min_delta: float = 1e-4,
                 cooldown: int = 0, min_lr: float = 0.0) -> None:
        super().__init__(monitor, mode, min_delta)
        _check_real("ReduceLROnPlateau", "factor", factor)
        if not 0 < factor < 1:
            raise ValueError(at_user_site(
                f"ReduceLROnPlateau(factor={factor!r}): factor multiplies the learning rate, "
                f"so it must lie strictly between 0 and 1"))
        _check_count("ReduceLROnPlateau", "patience", patience)
        _check_count("ReduceLROnPlateau", "cooldown", cooldown)
        _check_real("ReduceLROnPlateau", "min_lr", min_lr)
        if min_lr < 0:
            raise ValueError(at_user_site(f"ReduceLROnPlateau(min_lr={min_lr!r}): min_lr >= 0"))
        self.factor, self.patience, self.verbose = float(factor), patience, verbose
        self.cooldown, self.min_lr = cooldown, float(min_lr)
        self.on_train_begin()

    def on_train_begin(self, logs=None):
        self.best: float | None = None
        self.wait, self.cooldown_counter = 0, 0

    def on_epoch_end(self, epoch, logs=None):
        logs = {} if logs is None else logs
        logs["learning_rate"] = _learning_rate(self.model)
        current = self._monitored(logs, "learning rate reduction")
        if current is None:
            return
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
        if self._improves(current, self.best):
            self.best, self.wait = current, 0
        elif self.cooldown_counter == 0:
            self.wait += 1
            if self.wait >= self.patience and self._reduce(epoch):
                self.cooldown_counter, self.wait = self.cooldown, 0

    def _reduce(self, epoch: int) -> bool:
        """Lower the rate unless it is at ``min_lr`` already (compared in float32, the
        precision a rate is usually kept in); whether it was lowered."""
        old = _learning_rate(self.model)
        if np.float32(old) <= np.float32(self.min_lr):
            return False
        new = max(old * self.factor, self.min_lr)
        self.model.optimizer.learning_rate = new
        if self.verbose > 0:
            print(f"\nEpoch {epoch + 1}: ReduceLROnPlateau reducing learning rate to {new}.")
        return True
