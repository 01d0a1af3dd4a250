"""``compile``, ``fit``, ``evaluate``, ``predict`` and the ``*_on_batch`` methods of a model.

A training step (forward, loss, backward, optimizer update) runs through ``fg.compile`` with
an unknown batch dimension, so every batch, the last short one too, replays one optimised
graph; ``compile(..., run_eagerly=True)`` runs the same Python eagerly, with the same numbers.
Metrics are updated on the step's NumPy outputs, outside the graph.
"""

from __future__ import annotations

import math

import numpy as np

from flowgrad.autograd import no_grad
from flowgrad.data import DataLoader, Dataset
from flowgrad.graph.compile import compile as fg_compile
from flowgrad.graph.session import _flatten, _unflatten
from flowgrad.keras import data_adapter as data
from flowgrad.tensor import Tensor


class Trainer:
    """The Keras training API, mixed into ``keras.Model``."""

    def __init__(self) -> None:
        self.compiled = False
        self.run_eagerly = False
        self.stop_training = False
        self.optimizer = None
        self.history = None
        self._train_function = self._test_function = self._predict_function = None

    # -- compile ----------------------------------------------------------------------------

    def compile(self, optimizer="rmsprop", loss=None, loss_weights=None, metrics=None,
                weighted_metrics=None, run_eagerly: bool = False, steps_per_execution: int = 1,
                jit_compile="auto", auto_scale_loss: bool = True) -> None:
        """Choose the optimizer, loss and metrics (names or objects) for training."""
        from flowgrad.keras import losses, optimizers
        from flowgrad.keras import metrics as metric_module

        self.optimizer = optimizers.get(optimizer)
        self.loss = loss
        self._loss_fns = self._per_output(loss, losses.get, "loss")
        self._loss_weights = loss_weights
        self._metric_specs = metrics or []
        self._weighted_specs = weighted_metrics or []
        self._metric_module = metric_module
        for spec in _names(self._metric_specs) + _names(self._weighted_specs):
            if spec not in ("accuracy", "acc"):  # those depend on the outputs' shapes
                metric_module.get(spec)  # an unknown name fails here, listing valid ones
        self._metrics = None  # resolved at the first batch, when output shapes are known
        self.run_eagerly = bool(run_eagerly)
        self._train_function = self._test_function = self._predict_function = None
        self.compiled = True

    def _per_output(self, spec, getter, what: str) -> list:
        outputs = len(getattr(self, "_outputs", [])) or 1
        if spec is None:
            return [None] * outputs
        if isinstance(spec, dict) and "class_name" not in spec:  # one entry per output
            names = [t.name for t in getattr(self, "_outputs", [])]
            unknown = sorted(set(spec) - set(names))
            if unknown:
                raise ValueError(f"compile: {what} names unknown output(s) {unknown}; outputs: "
                                 f"{names}")
            return [getter(spec[name]) if name in spec else None for name in names]
        if isinstance(spec, list | tuple):
            if len(spec) != outputs:
                raise ValueError(f"compile: {len(spec)} {what}es for {outputs} outputs")
            return [getter(s) for s in spec]
        return [getter(spec)] * outputs

    @property
    def metrics_names(self) -> list[str]:
        return ["loss", *(m.name for m in self._metrics or [])]

    # -- the steps ---------------------------------------------------------------------------

    def _compute_loss(self, y, y_pred, sample_weight):
        _, predictions = _flatten(y_pred, [])
        _, targets = _flatten(y, []) if y is not None else ([], [])
        if len(targets) != len(predictions):
            raise ValueError(f"{self.name}: {len(predictions)} output(s) but {len(targets)} "
                             f"target(s)")
        weights = self._loss_weights
        total = None
        for index, (fn, target, prediction) in enumerate(zip(self._loss_fns, targets,
                                                             predictions, strict=True)):
            if fn is None:
                continue
            value = fn(target, prediction, sample_weight)
            if weights is not None:
                factor = (weights[index] if isinstance(weights, list | tuple)
                          else weights.get(self._outputs[index].name, 1.0))
                value = value * factor
            total = value if total is None else total + value
        if total is None:
            raise ValueError("compile: no loss was given; pass loss= to compile()")
        return total

    def _make_train_step(self):
        """The training step as a closure over the flowgrad optimizer doing the work, so
        that ``fg.compile`` finds it (and its state) by name."""
        self.optimizer.build(self._trainable_params())
        engine = self.optimizer.flowgrad_optimizer  # Keras's update rule, clipping included
        model, compute_loss = self, self._compute_loss

        def train_step(x, y, sample_weight):
            engine.zero_grad()
            y_pred = model(x, training=True)
            loss = compute_loss(y, y_pred, sample_weight)
            loss.backward()
            engine.step()
            return loss, y_pred

        return train_step

    def _test_step(self, x, y, sample_weight):
        y_pred = self(x, training=False)
        return self._compute_loss(y, y_pred, sample_weight), y_pred

    def _predict_step(self, x):
        return self(x, training=False)

    def _trainable_params(self) -> list:
        return [p for p in self.parameters() if p.requires_grad]

    def _function(self, kind: str, x=None):
        """The step of ``kind`` (compiled unless run_eagerly), made at its first use; ``x``,
        the first batch, builds a model whose layers make their weights lazily."""
        attribute = f"_{kind}_function"
        function = getattr(self, attribute)
        if function is None:
            if x is not None and not self._has_weights():
                self._build_on(x)
            step = (self._make_train_step() if kind == "train"
                    else {"test": self._test_step, "predict": self._predict_step}[kind])
            function = step if self.run_eagerly else fg_compile(step, dynamic_batch=True)
            setattr(self, attribute, function)
        return function

    def _has_weights(self) -> bool:
        return self.built and all(getattr(m, "built", True) for m in self.modules())

    def _build_on(self, x) -> None:
        """One forward pass in inference mode: every lazily built layer makes its weights."""
        was_training = self.training
        self.eval()
        try:
            with no_grad():
                self(x)
        finally:
            self.train(was_training)

    # -- fit ---------------------------------------------------------------------------------

    def fit(self, x=None, y=None, batch_size=None, epochs: int = 1, verbose="auto",
            callbacks=None, validation_split: float = 0.0, validation_data=None,
            shuffle: bool = True, class_weight=None, sample_weight=None,
            initial_epoch: int = 0, steps_per_epoch=None, validation_steps=None,
            validation_batch_size=None, validation_freq: int = 1):
        """Train for ``epochs``; returns the History (``history.history['loss']``...)."""
        from flowgrad.keras.callbacks import CallbackList

        self._require_compiled("fit")
        batches, held_out = self._batches("fit", x, y, sample_weight, batch_size, shuffle,
                                          steps_per_epoch, validation_split, class_weight)
        if validation_data is None:
            validation_data = held_out
        verbose = 1 if verbose == "auto" else int(verbose)
        callback_list = CallbackList(callbacks, add_history=True, add_progbar=verbose != 0,
                                     model=self, verbose=verbose, epochs=epochs,
                                     steps=batches.steps)
        self.stop_training = False
        train = None
        self.train()
        callback_list.on_train_begin({})
        logs: dict = {}
        for epoch in range(initial_epoch, epochs):
            self._reset_metrics()
            callback_list.on_epoch_begin(epoch, {})
            self.train()
            for step, (bx, by, bw) in enumerate(batches.epoch()):
                callback_list.on_train_batch_begin(step, {})
                train = train or self._function("train", bx)
                logs = self._run_step(train, bx, by, bw)
                callback_list.on_train_batch_end(step, logs)
                if self.stop_training:
                    break
            epoch_logs = dict(logs)
            if validation_data is not None and (epoch + 1) % validation_freq == 0:
                vx, vy, vw = _validation(validation_data)
                val_logs = self.evaluate(vx, vy, sample_weight=vw,
                                         batch_size=validation_batch_size or batch_size,
                                         steps=validation_steps, verbose=0, return_dict=True,
                                         _internal=True)
                epoch_logs.update({f"val_{k}": v for k, v in val_logs.items()})
            callback_list.on_epoch_end(epoch, epoch_logs)
            if self.stop_training:
                break
        callback_list.on_train_end(logs)
        return self.history

    def _run_step(self, function, x, y, sample_weight) -> dict:
        loss, y_pred = function(x, y, sample_weight)
        self._update_metrics(float(loss.detach()._data), y, y_pred, sample_weight,
                             data.length(x))
        return self._logs()

    # -- evaluate / predict -------------------------------------------------------------------

    def evaluate(self, x=None, y=None, batch_size=None, verbose="auto", sample_weight=None,
                 steps=None, callbacks=None, return_dict: bool = False, _internal=False):
        """The loss and metrics over the data: a number, a list, or a dict with
        ``return_dict``."""
        from flowgrad.keras.callbacks import CallbackList

        self._require_compiled("evaluate")
        batches, _ = self._batches("evaluate", x, y, sample_weight, batch_size, False, steps)
        verbose = 1 if verbose == "auto" else int(verbose)
        callback_list = CallbackList(callbacks, add_progbar=verbose != 0 and not _internal,
                                     model=self, verbose=verbose, epochs=1,
                                     steps=batches.steps)
        test = None
        was_training = self.training
        self.eval()
        self._reset_metrics()
        callback_list.on_test_begin({})
        logs: dict = {}
        try:
            with no_grad():
                for step, (bx, by, bw) in enumerate(batches.epoch()):
                    callback_list.on_test_batch_begin(step, {})
                    test = test or self._function("test", bx)
                    logs = self._run_step(test, bx, by, bw)
                    callback_list.on_test_batch_end(step, logs)
        finally:
            self.train(was_training)
        callback_list.on_test_end(logs)
        if return_dict:
            return logs
        values = [logs[name] for name in self.metrics_names if name in logs]
        return values[0] if len(values) == 1 else values

    def predict(self, x, batch_size=None, verbose="auto", steps=None, callbacks=None):
        """The model's outputs for ``x``, as NumPy arrays (batched, concatenated)."""
        from flowgrad.keras.callbacks import CallbackList

        batches, _ = self._batches("predict", x, None, None, batch_size, False, steps)
        verbose = 1 if verbose == "auto" else int(verbose)
        callback_list = CallbackList(callbacks, add_progbar=verbose != 0, model=self,
                                     verbose=verbose, epochs=1, steps=batches.steps)
        predict = None
        was_training = self.training
        self.eval()
        outputs = []
        callback_list.on_predict_begin({})
        try:
            with no_grad():
                for step, (bx, _, _) in enumerate(batches.epoch()):
                    callback_list.on_predict_batch_begin(step, {})
                    predict = predict or self._function("predict", bx)
                    outputs.append(_to_numpy(predict(bx)))
                    callback_list.on_predict_batch_end(step, {})
        finally:
            self.train(was_training)
        callback_list.on_predict_end({})
        if not outputs:
            raise ValueError("predict: the data is empty")
        structure, first = _flatten(outputs[0], [])
        columns = [np.concatenate([_flatten(o, [])[1][i] for o in outputs])
                   for i in range(len(first))]
        return _unflatten(structure, iter(columns))

    def train_on_batch(self, x, y=None, sample_weight=None, class_weight=None,
                       return_dict: bool = False):
        self._require_compiled("train_on_batch")
        x, y, sample_weight = self._one_batch("train_on_batch", x, y, sample_weight,
                                              class_weight)
        self._reset_metrics()
        self.train()
        logs = self._run_step(self._function("train", x), x, y, sample_weight)
        return logs if return_dict else _values(logs, self.metrics_names)

    def test_on_batch(self, x, y=None, sample_weight=None, return_dict: bool = False):
        self._require_compiled("test_on_batch")
        x, y, sample_weight = self._one_batch("test_on_batch", x, y, sample_weight, None)
        self._reset_metrics()
        was_training = self.training
        self.eval()
        try:
            with no_grad():
                logs = self._run_step(self._function("test", x), x, y, sample_weight)
        finally:
            self.train(was_training)
        return logs if return_dict else _values(logs, self.metrics_names)

    def predict_on_batch(self, x):
        x = data.in_memory(x)
        was_training = self.training
        self.eval()
        try:
            with no_grad():
                return _to_numpy(self._function("predict", x)(x))
        finally:
            self.train(was_training)

    # -- data and metrics ----------------------------------------------------------------------

    def _require_compiled(self, method: str) -> None:
        if not getattr(self, "compiled", False):
            raise RuntimeError(f"{method}: the model must be compiled first; call "
                               f"model.compile(optimizer=..., loss=...) before {method}()")

    def _one_batch(self, method, x, y, sample_weight, class_weight):
        return _arrays(method, data.in_memory(x), y, sample_weight, class_weight)[:3]

    def _batches(self, method, x, y, sample_weight, batch_size, shuffle, steps,
                 validation_split: float = 0.0, class_weight=None):
        """Batches of the data, and with ``validation_split`` the held-out last samples as
        ``(x, y, sample_weight)`` (else None)."""
        arrays = data.in_memory(x)
        if arrays is None:
            if x is None:
                raise ValueError(f"{method}: no data; pass x (and y)")
            if y is not None:
                raise ValueError(f"{method}: y must be None when x is a dataset or a "
                                 f"generator (it yields the targets)")
            if validation_split:
                raise ValueError(f"{method}: validation_split needs arrays; pass "
                                 f"validation_data with a dataset or generator")
            if isinstance(x, Dataset):  # samples, not batches: batched as arrays would be
                x = DataLoader(x, batch_size=batch_size or 32, shuffle=shuffle)
            return data.IterableBatches(x, steps, method), None
        arrays, y, sample_weight, count = _arrays(method, arrays, y, sample_weight,
                                                  class_weight)
        held_out = None
        if validation_split:
            if not 0 < validation_split < 1:
                raise ValueError(f"{method}: validation_split must be in (0, 1), got "
                                 f"{validation_split}")
            split = count - math.floor(count * validation_split)  # the last samples
            held = slice(split, None)
            held_out = (data.take(arrays, held), data.take(y, held),
                        data.take(sample_weight, held))
            keep = slice(0, split)
            arrays, y = data.take(arrays, keep), data.take(y, keep)
            sample_weight = data.take(sample_weight, keep)
        batch_size = batch_size or 32
        batches = data.ArrayBatches(arrays, y, sample_weight, batch_size, shuffle)
        if steps is not None:
            batches.steps = min(batches.steps, steps)
        return batches, held_out

    def _reset_metrics(self) -> None:
        if self._metrics is not None:
            for metric in (self._loss_tracker, *self._metrics):
                metric.reset_state()

    def _update_metrics(self, loss: float, y, y_pred, sample_weight, count: int) -> None:
        if self._metrics is None:
            self._metrics = self._resolve_metrics(y, y_pred)
        self._loss_tracker.update_state(loss, sample_weight=count)
        if y is None:
            return
        _, targets = _flatten(y, [])
        _, predictions = _flatten(_to_numpy(y_pred), [])
        for metric, output, weighted in self._metric_plan:
            metric.update_state(targets[output], predictions[output],
                                sample_weight if weighted else None)

    def _resolve_metrics(self, y, y_pred) -> list:
        module = self._metric_module
        self._loss_tracker = module.Mean(name="loss")
        _, predictions = _flatten(y_pred, [])
        plan = []
        multi = len(predictions) > 1
        names = [t.name for t in getattr(self, "_outputs", [])]
        for specs, weighted in ((self._metric_specs, False), (self._weighted_specs, True)):
            per_output = specs if isinstance(specs, dict) else {None: specs}
            for key, entries in per_output.items():
                outputs = [names.index(key)] if key is not None else range(len(predictions))
                for output in outputs:
                    for spec in entries if isinstance(entries, list | tuple) else [entries]:
                        metric = module.get(spec, loss=self._loss_fns[output],
                                            output_shape=tuple(predictions[output].shape))
                        if multi:
                            metric.name = f"{names[output]}_{metric.name}"
                        if weighted:
                            metric.name = f"weighted_{metric.name}"
                        plan.append((metric, output, weighted))
        self._metric_plan = plan
        return [metric for metric, _, _ in plan]

    def _logs(self) -> dict:
        logs = {"loss": self._loss_tracker.result()}
        for metric in self._metrics:
            logs[metric.name] = metric.result()
        return logs


def _arrays(method: str, x, y, sample_weight, class_weight) -> tuple:
    """In-memory data checked: ``(x, y, sample_weight, count)``, arrays all, the weights
    made from ``class_weight`` when it is given."""
    y, sample_weight = data.in_memory(y), data.in_memory(sample_weight)
    count = data.check_lengths(method, x=x, y=y, sample_weight=sample_weight)
    if class_weight is not None and y is not None:
        sample_weight = data.class_weights(y, class_weight, method)
    return x, y, sample_weight, count


def _names(specs) -> list[str]:
    """The metric names in a compile() ``metrics`` argument (a list, or a dict per output)."""
    if isinstance(specs, dict):
        return [n for entries in specs.values() for n in _names(entries)]
    if isinstance(specs, str):
        return [specs]
    return [spec for spec in specs if isinstance(spec, str)]


def _validation(validation_data) -> tuple:
    if isinstance(validation_data, tuple) and len(validation_data) in (2, 3):
        return tuple(validation_data) + (None,) * (3 - len(validation_data))
    return validation_data, None, None


def _to_numpy(value):
    structure, leaves = _flatten(value, [])
    return _unflatten(structure, iter(leaf.detach()._data if isinstance(leaf, Tensor) else leaf
                                      for leaf in leaves))


def _values(logs: dict, names: list[str]):
    values = [logs[name] for name in names if name in logs]
    return values[0] if len(values) == 1 else values
