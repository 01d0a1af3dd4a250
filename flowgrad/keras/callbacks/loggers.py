"""Callbacks that log training to files: TensorBoard, CSVLogger."""

from __future__ import annotations

import csv
import math
import os
import warnings

import numpy as np

from flowgrad.errors import at_user_site
from flowgrad.keras.callbacks.base import Callback, _check_count


class TensorBoard(Callback):
    """Log training to TensorBoard through flowgrad's ``SummaryWriter``, in Keras's layout:
    ``log_dir/train`` and ``log_dir/validation`` runs with scalars ``epoch_loss``,
    ``epoch_accuracy`` ... per epoch (``epoch_learning_rate`` in the train run), ``batch_*``
    scalars every ``update_freq`` batches (``"batch"``: every batch), and histograms of the
    weights (images too with ``write_images``) every ``histogram_freq`` epochs.
    ``write_graph``: draw the model's graph when the model has an ``example_input`` to trace
    it with. Needs ``pip install 'flowgrad[tensorboard]'``."""

    def __init__(self, log_dir: str | os.PathLike = "logs", histogram_freq: int = 0,
                 write_graph: bool = True, write_images: bool = False,
                 update_freq: str | int = "epoch") -> None:
        super().__init__()
        _check_count("TensorBoard", "histogram_freq", histogram_freq)
        if update_freq not in ("epoch", "batch"):
            _check_count("TensorBoard", "update_freq", update_freq, minimum=1)
        self.log_dir = os.fspath(log_dir)
        self.histogram_freq, self.write_graph = histogram_freq, write_graph
        self.write_images = write_images
        self.update_freq = 1 if update_freq == "batch" else update_freq
        self._writers: dict[str, object] = {}  # made at first use: no empty runs
        self._train_batches = 0

    def _writer(self, run: str):
        """The writer of ``run`` ("train" or "validation")."""
        if run not in self._writers:
            from flowgrad.io.tensorboard import SummaryWriter
            self._writers[run] = SummaryWriter(os.path.join(self.log_dir, run))
        return self._writers[run]

    def on_train_begin(self, logs=None):
        self._train_batches = 0
        example = getattr(self.model, "example_input", None)
        if self.write_graph and example is not None:
            try:
                self._writer("train").add_graph(self.model, example)
            except Exception as exc:  # a drawing must never stop training
                warnings.warn(f"TensorBoard: the model's graph was not written: {exc}",
                              stacklevel=2)

    def on_train_batch_end(self, batch, logs=None):
        self._train_batches += 1
        if self.update_freq == "epoch" or self._train_batches % self.update_freq:
            return
        writer = self._writer("train")
        for name, value in _scalars(logs).items():
            writer.add_scalar(f"batch_{name}", value, self._train_batches)

    def on_epoch_end(self, epoch, logs=None):
        values = _scalars(logs)
        train = {k: v for k, v in values.items() if not k.startswith("val_")}
        rate = getattr(getattr(self.model, "optimizer", None), "learning_rate", None)
        if rate is not None:
            train["learning_rate"] = float(rate)
        validation = {k.removeprefix("val_"): v for k, v in values.items()
                      if k.startswith("val_")}
        for run, scalars in (("train", train), ("validation", validation)):
            if scalars:
                writer = self._writer(run)
                for name, value in scalars.items():
                    writer.add_scalar(f"epoch_{name}", value, epoch)
        if self.histogram_freq and epoch % self.histogram_freq == 0:
            self._log_weights(epoch)
        for writer in self._writers.values():
            writer.flush()

    def on_test_end(self, logs=None):
        step = getattr(getattr(self.model, "optimizer", None), "iterations", None)
        if step is None:
            return
        writer = self._writer("validation")
        for name, value in _scalars(logs).items():
            writer.add_scalar(f"evaluation_{name}_vs_iterations", value, int(step))

    def on_train_end(self, logs=None):
        for writer in self._writers.values():
            writer.close()
        self._writers.clear()

    def _log_weights(self, epoch: int) -> None:
        writer = self._writer("train")
        for name, weight in _named_weights(self.model):
            if weight.size and np.isfinite(weight).all():
                writer.add_histogram(f"{name}/histogram", weight, epoch)
            if self.write_images and weight.size:
                image = _weight_image(weight)
                if image is not None:
                    writer.add_image(f"{name}/image", image, epoch, dataformats="HW")


def _scalars(logs) -> dict[str, float]:
    return {k: v for k, v in (logs or {}).items() if isinstance(v, float) and math.isfinite(v)}


def _named_weights(model) -> list[tuple[str, np.ndarray]]:
    """``(name, array)`` for each weight: ``model.named_parameters()`` as ``dense/kernel``
    where the model has it, else ``model.get_weights()`` as ``weight_<i>``."""
    if hasattr(model, "named_parameters"):
        return [(name.replace(".", "/"), np.asarray(weight, dtype=np.float64))
                for name, weight in model.named_parameters()]
    return [(f"weight_{i}", np.asarray(w, dtype=np.float64))
            for i, w in enumerate(model.get_weights())]


def _weight_image(weight: np.ndarray) -> np.ndarray | None:
    """A vector or matrix of weights as a grey image scaled to [0, 1] (wide rather than tall);
    None for weights of more dimensions."""
    image = np.squeeze(weight)
    if image.ndim == 1:
        image = image[None, :]
    if image.ndim != 2 or not np.isfinite(image).all():
        return None
    if image.shape[0] > image.shape[1]:
        image = image.T
    low, high = image.min(), image.max()
    return (image - low) / (high - low) if high > low else np.zeros_like(image)


class CSVLogger(Callback):
    """Write each epoch's logs as a row of a CSV file: ``epoch`` then the names in sorted
    order (a ``val_`` column for each when the first epoch has no validation), ``NA`` where
    a value is missing. ``append``: add to an existing file (its header is kept)."""

    def __init__(self, filename: str | os.PathLike, separator: str = ",",
                 append: bool = False) -> None:
        super().__init__()
        if not isinstance(filename, (str, os.PathLike)):
            raise TypeError(at_user_site(
                f"CSVLogger(filename={filename!r}): filename is a str or path"))
        if not isinstance(separator, str) or len(separator) != 1:
            raise ValueError(at_user_site(
                f"CSVLogger(separator={separator!r}): separator is one character"))
        self.filename, self.separator, self.append = os.fspath(filename), separator, append
        self.keys: list[str] | None = None
        self._file = None
        self._writer = None

    def on_train_begin(self, logs=None):
        has_header = (self.append and os.path.exists(self.filename)
                      and os.path.getsize(self.filename) > 0)
        if self._file is not None:
            self._file.close()
        self._file = open(self.filename, "a" if self.append else "w", newline="")  # noqa: SIM115
        self._writer = csv.writer(self._file, delimiter=self.separator, lineterminator="\n")
        self._needs_header, self.keys = not has_header, None

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self.keys is None:
            self.keys = sorted(logs)
            if not any(key.startswith("val_") for key in self.keys):
                self.keys += [f"val_{key}" for key in self.keys]
        if self._needs_header:
            self._writer.writerow(["epoch", *self.keys])
            self._needs_header = False
        self._writer.writerow([epoch, *(logs.get(key, "NA") for key in self.keys)])
        self._file.flush()

    def on_train_end(self, logs=None):
        if self._file is not None:
            self._file.close()
        self._file = self._writer = None
