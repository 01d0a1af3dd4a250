"""Keras callbacks driven through scripted epochs by a stand-in model and a loop that calls the
hooks as Keras's fit does: when training stops, which weights come back, which files are
written (safetensors, never pickles), how the learning rate moves, what the logs hold."""

import json
import math
import os
import pathlib
import warnings

import numpy as np
import pytest

import flowgrad as fg
from flowgrad import nn
from flowgrad.keras.callbacks import (
    Callback,
    CallbackList,
    CSVLogger,
    EarlyStopping,
    History,
    LambdaCallback,
    LearningRateScheduler,
    ModelCheckpoint,
    ProgbarLogger,
    ReduceLROnPlateau,
    TensorBoard,
    TerminateOnNaN,
)


class StandInOptimizer:
    def __init__(self, learning_rate: float) -> None:
        self._learning_rate = learning_rate

    @property
    def learning_rate(self) -> float:
        return self._learning_rate

    @learning_rate.setter
    def learning_rate(self, value: float) -> None:
        self._learning_rate = float(value)


class StandInModel:
    """What a callback may use of a model, and nothing more."""

    def __init__(self, learning_rate: float = 0.1) -> None:
        self.stop_training = False
        self.optimizer = StandInOptimizer(learning_rate)
        self.weights = [np.zeros((2, 3), np.float32), np.zeros(3, np.float32)]
        self.history = None

    def get_weights(self):
        return [w.copy() for w in self.weights]

    def set_weights(self, weights):
        self.weights = [np.array(w) for w in weights]

    def save(self, path):
        fg.save({"config": {"class_name": "StandInModel"}, "weights": self.weights}, path)

    def save_weights(self, path):
        fg.save(self.weights, path)


def fit(model, callbacks, epoch_logs, steps=3, batch_losses=None, verbose=0):
    """Run the hooks over ``epoch_logs`` (one dict per epoch) as Keras's fit does. Training
    is scripted: during epoch ``e`` every weight becomes ``e``. Returns the epochs run."""
    callback_list = CallbackList(callbacks, add_history=True, add_progbar=verbose != 0,
                                 model=model, verbose=verbose, epochs=len(epoch_logs),
                                 steps=steps)
    model.stop_training = False
    callback_list.on_train_begin({})
    epochs_run = []
    for epoch, logs in enumerate(epoch_logs):
        callback_list.on_epoch_begin(epoch, {})
        for step in range(steps):
            callback_list.on_train_batch_begin(step, {})
            model.weights = [np.full_like(w, epoch) for w in model.weights]
            loss = batch_losses[epoch][step] if batch_losses else logs.get("loss", 1.0)
            callback_list.on_train_batch_end(step, {"loss": loss})
            if model.stop_training:
                break
        epochs_run.append(epoch)
        callback_list.on_epoch_end(epoch, dict(logs))
        if model.stop_training:
            break
    callback_list.on_train_end({})
    return epochs_run


def val_losses(*values):
    return [{"loss": 1.0, "val_loss": v} for v in values]


def weight_value(model) -> float:
    values = {float(v) for w in model.weights for v in np.ravel(w)}
    assert len(values) == 1
    return values.pop()


# -- History and CallbackList -------------------------------------------------------------

def test_history_records_every_epoch_and_is_the_models():
    model = StandInModel()
    logs = [{"loss": 1.0 - e / 10, "accuracy": e / 10, "val_loss": 2.0 - e / 10}
            for e in range(3)]
    fit(model, [], logs)
    assert isinstance(model.history, History)
    assert model.history.epoch == [0, 1, 2]
    assert model.history.history == {"accuracy": [0.0, 0.1, 0.2], "loss": [1.0, 0.9, 0.8],
                                      "val_loss": [2.0, 1.9, 1.8]}


def test_callback_list_gives_python_floats_sorted_and_a_fresh_dict():
    seen = []
    given = {"val_loss": np.float32(0.5), "loss": fg.tensor(0.25), "outputs": np.ones(3)}
    callback_list = CallbackList([LambdaCallback(on_epoch_end=lambda e, logs: seen.append(logs))],
                                 model=StandInModel())
    callback_list.on_epoch_end(0, given)
    (logs,) = seen
    assert list(logs) == ["loss", "outputs", "val_loss"]
    assert type(logs["loss"]) is float and type(logs["val_loss"]) is float
    assert logs["loss"] == 0.25 and logs["val_loss"] == 0.5
    assert logs is not given and isinstance(logs["outputs"], np.ndarray)


def test_callback_list_adds_history_and_progbar_once_and_sets_model_and_params():
    model, mine = StandInModel(), History()
    callback_list = CallbackList([mine, ProgbarLogger()], add_history=True, add_progbar=True,
                                 model=model, verbose=2, epochs=4, steps=7)
    assert len(callback_list.callbacks) == 2 and model.history is mine
    assert all(c.model is model for c in callback_list.callbacks)
    assert mine.params == {"verbose": 2, "epochs": 4, "steps": 7}
    added = CallbackList([], add_history=True, add_progbar=True, model=model, verbose=1,
                         epochs=1, steps=1)
    assert [type(c) for c in added.callbacks] == [History, ProgbarLogger]
    with pytest.raises(TypeError, match=r"is not a flowgrad\.keras\.callbacks\.Callback"):
        CallbackList([lambda epoch, logs: None])


def test_base_callback_train_batch_hooks_call_the_batch_hooks():
    calls = []

    class Counting(Callback):
        def on_batch_end(self, batch, logs=None):
            calls.append((batch, logs["loss"]))

    fit(StandInModel(), [Counting()], [{"loss": 0.5}], steps=2)
    assert calls == [(0, 0.5), (1, 0.5)]


# -- EarlyStopping -------------------------------------------------------------------------

def test_early_stopping_stops_after_patience_and_restores_the_best_weights():
    model = StandInModel()
    stop = EarlyStopping(patience=2, restore_best_weights=True)
    run = fit(model, [stop], val_losses(1.0, 0.8, 0.9, 0.85, 0.7, 0.6))
    assert run == [0, 1, 2, 3]
    assert stop.stopped_epoch == 3 and stop.best == 0.8 and stop.best_epoch == 1
    assert weight_value(model) == 1.0  # the weights after epoch 1


def test_early_stopping_without_restoring_keeps_the_last_weights():
    model = StandInModel()
    assert fit(model, [EarlyStopping(patience=0)], val_losses(1.0, 1.5, 0.5)) == [0, 1]
    assert weight_value(model) == 1.0


def test_early_stopping_min_delta_counts_small_gains_as_none():
    logs = val_losses(1.0, 0.95, 0.92, 0.9)
    assert fit(StandInModel(), [EarlyStopping(patience=1, min_delta=0.1)], logs) == [0, 1]
    assert fit(StandInModel(), [EarlyStopping(patience=1)], logs) == [0, 1, 2, 3]


def test_early_stopping_baseline_must_be_beaten_within_patience():
    logs = val_losses(1.0, 0.9, 0.95, 0.96, 0.97, 0.98)
    assert fit(StandInModel(), [EarlyStopping(patience=3, baseline=0.5)], logs) == [0, 1, 2]
    assert fit(StandInModel(), [EarlyStopping(patience=3)], logs) == [0, 1, 2, 3, 4]
    beaten = val_losses(1.0, 0.4, 0.45, 0.46, 0.47, 0.48)
    assert fit(StandInModel(), [EarlyStopping(patience=3, baseline=0.5)], beaten) == [
        0, 1, 2, 3, 4]


def test_early_stopping_start_from_epoch_ignores_the_warm_up():
    logs = val_losses(1.0, 2.0, 3.0, 4.0, 3.5)
    assert fit(StandInModel(), [EarlyStopping()], logs) == [0, 1]
    model = StandInModel()
    stop = EarlyStopping(start_from_epoch=2, restore_best_weights=True)
    assert fit(model, [stop], logs) == [0, 1, 2, 3]
    assert stop.best == 3.0 and weight_value(model) == 2.0


def test_early_stopping_auto_mode_maximises_accuracy():
    logs = [{"val_accuracy": a} for a in (0.5, 0.7, 0.6, 0.65, 0.9)]
    model = StandInModel()
    stop = EarlyStopping(monitor="val_accuracy", patience=1, restore_best_weights=True)
    assert fit(model, [stop], logs) == [0, 1, 2]
    assert weight_value(model) == 1.0
    assert fit(StandInModel(), [EarlyStopping("val_accuracy", mode="min")], logs) == [0, 1]


def test_early_stopping_warns_naming_the_available_keys():
    with pytest.warns(UserWarning, match=r"'val_accuracy'.*available: loss, val_loss"):
        run = fit(StandInModel(), [EarlyStopping(monitor="val_accuracy")],
                  val_losses(1.0, 2.0, 3.0))
    assert run == [0, 1, 2]


@pytest.mark.parametrize(("kwargs", "pattern"), [
    ({"mode": "maxx"}, r"EarlyStopping\(mode='maxx'\).*'auto', 'min' or 'max'"),
    ({"patience": -1}, r"EarlyStopping\(patience=-1\): patience is an int >= 0"),
    ({"patience": 1.5}, r"patience is an int"),
    ({"start_from_epoch": -2}, r"start_from_epoch is an int >= 0"),
    ({"baseline": "low"}, r"baseline is a number or None"),
    ({"monitor": ""}, r"monitor names a logged quantity"),
])
def test_early_stopping_refuses_bad_arguments(kwargs, pattern):
    with pytest.raises(ValueError, match=pattern):
        EarlyStopping(**kwargs)


# -- ModelCheckpoint -----------------------------------------------------------------------

def assert_safetensors(path):
    """The file is a safetensors file (a little-endian header length, then a JSON header),
    not a pickle (which starts with the protocol byte 0x80)."""
    data = pathlib.Path(path).read_bytes()
    assert data[:1] != b"\x80"
    header_length = int.from_bytes(data[:8], "little")
    header = json.loads(data[8:8 + header_length])
    assert "__metadata__" in header


def test_checkpoint_every_epoch_with_formatted_names(tmp_path):
    pattern = str(tmp_path / "ckpt" / "w-{epoch:02d}-{val_loss:.2f}.weights.safetensors")
    fit(StandInModel(), [ModelCheckpoint(pattern, save_weights_only=True)],
        val_losses(1.0, 0.75, 0.5))
    names = sorted(os.listdir(tmp_path / "ckpt"))
    assert names == ["w-01-1.00.weights.safetensors", "w-02-0.75.weights.safetensors",
                     "w-03-0.50.weights.safetensors"]
    for epoch, name in enumerate(names):
        assert_safetensors(tmp_path / "ckpt" / name)
        weights = fg.load(tmp_path / "ckpt" / name)
        assert len(weights) == 2
        assert all(np.array_equal(np.asarray(w), np.full_like(np.asarray(w), epoch))
                   for w in weights)


def test_checkpoint_save_best_only_saves_the_whole_model_on_improvement(tmp_path):
    pattern = str(tmp_path / "best-{epoch}.safetensors")
    checkpoint = ModelCheckpoint(pattern, save_best_only=True)
    fit(StandInModel(), [checkpoint], val_losses(1.0, 0.8, 0.9, 0.7, 0.7))
    assert sorted(os.listdir(tmp_path)) == ["best-1.safetensors", "best-2.safetensors",
                                            "best-4.safetensors"]
    saved = fg.load(tmp_path / "best-4.safetensors")
    assert saved["config"] == {"class_name": "StandInModel"}
    assert float(np.asarray(saved["weights"][1])[0]) == 3.0
    assert_safetensors(tmp_path / "best-4.safetensors")


def test_checkpoint_one_file_holds_the_best_weights(tmp_path):
    path = tmp_path / "best.weights.safetensors"
    checkpoint = ModelCheckpoint(path, monitor="val_accuracy", save_best_only=True,
                                 save_weights_only=True)
    logs = [{"val_accuracy": a} for a in (0.5, 0.9, 0.7, 0.8)]
    fit(StandInModel(), [checkpoint], logs)
    assert float(np.asarray(fg.load(path)[0]).flat[0]) == 1.0 and checkpoint.best == 0.9


def test_checkpoint_initial_value_threshold(tmp_path):
    pattern = str(tmp_path / "m{epoch}.safetensors")
    fit(StandInModel(), [ModelCheckpoint(pattern, save_best_only=True,
                                         initial_value_threshold=0.75)],
        val_losses(1.0, 0.8, 0.9, 0.7))
    assert os.listdir(tmp_path) == ["m4.safetensors"]


def test_checkpoint_every_n_batches(tmp_path):
    pattern = str(tmp_path / "e{epoch}b{batch}.safetensors")
    fit(StandInModel(), [ModelCheckpoint(pattern, save_freq=2, save_weights_only=True)],
        val_losses(1.0, 0.9), steps=3)
    assert sorted(os.listdir(tmp_path)) == ["e1b2.safetensors", "e2b1.safetensors",
                                            "e2b3.safetensors"]


def test_checkpoint_placeholder_missing_from_the_logs(tmp_path):
    checkpoint = ModelCheckpoint(str(tmp_path / "m-{val_acc:.2f}.safetensors"))
    with pytest.raises(KeyError, match=r"filepath=.*'val_acc'.*available: loss, val_loss"):
        fit(StandInModel(), [checkpoint], val_losses(1.0))
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize(("kwargs", "error", "pattern"), [
    ({"filepath": "m-{epoch:.2q}.safetensors"}, ValueError, r"filepath=.*placeholders look"),
    ({"filepath": "m-{}.safetensors"}, ValueError, r"\{\} does not name a log entry"),
    ({"filepath": "m-{epoch.safetensors"}, ValueError, r"filepath="),
    ({"filepath": "model.h5"}, ValueError, r"flowgrad saves safetensors files"),
    ({"filepath": "model.keras"}, ValueError, r"'.safetensors'"),
    ({"filepath": 3}, TypeError, r"filepath is a str or path"),
    ({"filepath": "m.safetensors", "save_freq": "batch"}, ValueError, r"save_freq is an int"),
    ({"filepath": "m.safetensors", "save_freq": 0}, ValueError, r"save_freq is an int >= 1"),
    ({"filepath": "m.safetensors", "mode": "best"}, ValueError, r"mode is 'auto'"),
])
def test_checkpoint_refuses_bad_arguments(kwargs, error, pattern):
    with pytest.raises(error, match=pattern):
        ModelCheckpoint(**kwargs)


# -- learning rate -------------------------------------------------------------------------

class RecordRate(Callback):
    """The optimizer's learning rate at each epoch's end (placed after the callback that sets
    it)."""

    def __init__(self):
        super().__init__()
        self.rates = []

    def on_epoch_end(self, epoch, logs=None):
        self.rates.append(self.model.optimizer.learning_rate)


def test_scheduler_of_the_epoch_sets_the_rate_at_each_epoch_start():
    model, record = StandInModel(), RecordRate()
    fit(model, [LearningRateScheduler(lambda epoch: 0.1 * 0.5**epoch), record],
        val_losses(1, 1, 1))
    assert record.rates == [0.1, 0.05, 0.025]
    assert model.history.history["learning_rate"] == [0.1, 0.05, 0.025]


def test_scheduler_of_the_epoch_and_rate():
    model, record = StandInModel(learning_rate=0.2), RecordRate()
    schedule = LearningRateScheduler(lambda epoch, lr: lr if epoch < 2 else lr / 2)
    fit(model, [schedule, record], val_losses(1, 1, 1, 1))
    assert record.rates == [0.2, 0.2, 0.1, 0.05]


def test_scheduler_refuses_bad_schedules():
    with pytest.raises(TypeError, match="schedule is a function"):
        LearningRateScheduler(0.1)
    with pytest.raises(ValueError, match=r"schedule\(0\) returned 'fast'"):
        fit(StandInModel(), [LearningRateScheduler(lambda epoch: "fast")], val_losses(1))


def test_reduce_on_plateau_with_cooldown_and_min_lr(capsys):
    flat = val_losses(*[1.0] * 9)
    record = RecordRate()
    plateau = ReduceLROnPlateau(factor=0.5, patience=2, min_lr=0.02, verbose=1)
    fit(StandInModel(0.1), [plateau, record], flat)
    assert record.rates == pytest.approx([0.1, 0.1, 0.05, 0.05, 0.025, 0.025, 0.02, 0.02,
                                          0.02])
    messages = [line for line in capsys.readouterr().out.splitlines() if line]
    assert messages == ["Epoch 3: ReduceLROnPlateau reducing learning rate to 0.05.",
                        "Epoch 5: ReduceLROnPlateau reducing learning rate to 0.025.",
                        "Epoch 7: ReduceLROnPlateau reducing learning rate to 0.02."]
    record = RecordRate()
    plateau = ReduceLROnPlateau(factor=0.5, patience=2, cooldown=2, min_lr=0.02)
    model = StandInModel(0.1)
    fit(model, [plateau, record], flat)
    assert record.rates == pytest.approx([0.1, 0.1, 0.05, 0.05, 0.05, 0.025, 0.025, 0.025,
                                          0.02])
    assert model.history.history["learning_rate"][:3] == pytest.approx([0.1, 0.1, 0.1])


def test_reduce_on_plateau_improvement_resets_the_wait_and_max_mode():
    record = RecordRate()
    logs = [{"val_accuracy": a} for a in (0.5, 0.5, 0.6, 0.6, 0.6)]
    fit(StandInModel(1.0), [ReduceLROnPlateau("val_accuracy", factor=0.1, patience=2), record],
        logs)
    assert record.rates == pytest.approx([1.0, 1.0, 1.0, 1.0, 0.1])


@pytest.mark.parametrize(("kwargs", "pattern"), [
    ({"factor": 1.0}, r"ReduceLROnPlateau\(factor=1.0\).*strictly between 0 and 1"),
    ({"factor": 0}, r"factor=0"),
    ({"patience": -1}, r"patience is an int >= 0"),
    ({"cooldown": -1}, r"cooldown is an int >= 0"),
    ({"min_lr": -0.1}, r"min_lr"),
    ({"mode": "up"}, r"mode is 'auto', 'min' or 'max'"),
])
def test_reduce_on_plateau_refuses_bad_arguments(kwargs, pattern):
    with pytest.raises(ValueError, match=pattern):
        ReduceLROnPlateau(**kwargs)


def test_reduce_on_plateau_warns_when_the_monitor_is_missing():
    with pytest.warns(UserWarning, match=r"'val_loss'.*available: loss, learning_rate"):
        fit(StandInModel(), [ReduceLROnPlateau()], [{"loss": 1.0}])


# -- CSVLogger, TerminateOnNaN, LambdaCallback ---------------------------------------------

def test_csv_logger_writes_a_row_per_epoch_and_appends(tmp_path):
    path = tmp_path / "log.csv"
    logs = [{"loss": 1.5, "accuracy": 0.5, "val_loss": 2.0, "val_accuracy": 0.25},
            {"loss": 0.75, "accuracy": 0.75, "val_loss": 1.0, "val_accuracy": 0.5}]
    fit(StandInModel(), [CSVLogger(path)], logs)
    expected = ("epoch,accuracy,loss,val_accuracy,val_loss\n"
                "0,0.5,1.5,0.25,2.0\n1,0.75,0.75,0.5,1.0\n")
    assert path.read_text() == expected
    fit(StandInModel(), [CSVLogger(path, append=True)], logs[:1])
    assert path.read_text() == expected + "0,0.5,1.5,0.25,2.0\n"
    fit(StandInModel(), [CSVLogger(path)], logs[1:])
    assert path.read_text() == ("epoch,accuracy,loss,val_accuracy,val_loss\n"
                                "0,0.75,0.75,0.5,1.0\n")


def test_csv_logger_separator_and_missing_validation(tmp_path):
    path = tmp_path / "log.csv"
    fit(StandInModel(), [CSVLogger(path, separator=";", append=True)], [{"loss": 1.0}])
    assert path.read_text() == "epoch;loss;val_loss\n0;1.0;NA\n"
    with pytest.raises(ValueError, match=r"separator=';;'\): separator is one character"):
        CSVLogger(path, separator=";;")


def test_terminate_on_nan_stops_at_the_bad_batch(capsys):
    model = StandInModel()
    losses = [[1.0, 0.9, 0.8], [0.7, math.nan, 0.5], [0.4, 0.3, 0.2]]
    seen = []
    spy = LambdaCallback(on_train_batch_end=lambda batch, logs: seen.append(batch))
    assert fit(model, [TerminateOnNaN(), spy], val_losses(1, 1, 1), batch_losses=losses) == [
        0, 1]
    assert seen == [0, 1, 2, 0, 1]
    assert "Batch 1: Invalid loss, terminating training" in capsys.readouterr().out
    losses[1][1] = math.inf
    with pytest.raises(RuntimeError, match="the loss is inf at batch 1"):
        fit(StandInModel(), [TerminateOnNaN(raise_error=True)], val_losses(1, 1),
            batch_losses=losses)


def test_lambda_callback_calls_each_hook_with_its_arguments():
    calls = []
    callback = LambdaCallback(
        on_train_begin=lambda logs: calls.append(("train_begin", logs)),
        on_epoch_begin=lambda epoch, logs: calls.append(("epoch_begin", epoch)),
        on_train_batch_begin=lambda batch, logs: calls.append(("batch_begin", batch)),
        on_train_batch_end=lambda batch, logs: calls.append(("batch_end", batch, logs)),
        on_epoch_end=lambda epoch, logs: calls.append(("epoch_end", epoch, logs)),
        on_train_end=lambda logs: calls.append(("train_end", logs)),
        on_test_end=lambda logs: calls.append(("test_end", logs)))
    fit(StandInModel(), [callback], [{"loss": 0.5}, {"loss": 0.25}], steps=2)
    assert calls == [
        ("train_begin", {}),
        ("epoch_begin", 0), ("batch_begin", 0), ("batch_end", 0, {"loss": 0.5}),
        ("batch_begin", 1), ("batch_end", 1, {"loss": 0.5}), ("epoch_end", 0, {"loss": 0.5}),
        ("epoch_begin", 1), ("batch_begin", 0), ("batch_end", 0, {"loss": 0.25}),
        ("batch_begin", 1), ("batch_end", 1, {"loss": 0.25}),
        ("epoch_end", 1, {"loss": 0.25}),
        ("train_end", {})]
    callback.on_test_end({"loss": 1.0})
    assert calls[-1] == ("test_end", {"loss": 1.0})


def test_lambda_callback_refuses_unknown_hooks_and_non_functions():
    with pytest.raises(TypeError, match="unknown hook 'on_step_end'"):
        LambdaCallback(on_step_end=print)
    with pytest.raises(TypeError, match=r"LambdaCallback\(on_epoch_end=3\): not callable"):
        LambdaCallback(on_epoch_end=3)


# -- TensorBoard ---------------------------------------------------------------------------

def read(folder):
    """The events of ``folder`` as TensorBoard loads them."""
    accumulator = pytest.importorskip("tensorboard.backend.event_processing.event_accumulator")
    keep_all = {kind: 0 for kind in (accumulator.SCALARS, accumulator.HISTOGRAMS,
                                     accumulator.IMAGES)}
    events = accumulator.EventAccumulator(str(folder), size_guidance=keep_all)
    events.Reload()
    return events


def scalars(events, tag):
    return [(e.step, pytest.approx(e.value)) for e in events.Scalars(tag)]


def test_tensorboard_writes_train_and_validation_runs(tmp_path):
    pytest.importorskip("tensorboardX")
    logs = [{"loss": 1.0 - e / 4, "accuracy": e / 4, "val_loss": 2.0 - e / 4,
             "val_accuracy": e / 8} for e in range(3)]
    fit(StandInModel(0.5), [TensorBoard(tmp_path, histogram_freq=2)], logs)
    assert sorted(os.listdir(tmp_path)) == ["train", "validation"]
    train, validation = read(tmp_path / "train"), read(tmp_path / "validation")
    assert scalars(train, "epoch_loss") == [(0, 1.0), (1, 0.75), (2, 0.5)]
    assert scalars(train, "epoch_accuracy") == [(0, 0.0), (1, 0.25), (2, 0.5)]
    assert scalars(train, "epoch_learning_rate") == [(0, 0.5), (1, 0.5), (2, 0.5)]
    assert scalars(validation, "epoch_loss") == [(0, 2.0), (1, 1.75), (2, 1.5)]
    assert scalars(validation, "epoch_accuracy") == [(0, 0.0), (1, 0.125), (2, 0.25)]
    assert "epoch_learning_rate" not in validation.Tags()["scalars"]
    assert sorted(train.Tags()["histograms"]) == ["weight_0/histogram", "weight_1/histogram"]
    assert [e.step for e in train.Histograms("weight_0/histogram")] == [0, 2]
    assert not any(tag.startswith("batch_") for tag in train.Tags()["scalars"])


def test_tensorboard_batch_scalars_every_update_freq_batches(tmp_path):
    pytest.importorskip("tensorboardX")
    losses = [[0.9, 0.8, 0.7], [0.6, 0.5, 0.4]]
    fit(StandInModel(), [TensorBoard(tmp_path, update_freq=2)], [{"loss": 0.8}, {"loss": 0.5}],
        batch_losses=losses)
    assert scalars(read(tmp_path / "train"), "batch_loss") == [(2, 0.8), (4, 0.6), (6, 0.4)]
    assert not os.path.exists(tmp_path / "validation")


class TracedModel(nn.Module, StandInModel):
    """A module with the callback interface and an input to trace its graph with."""

    def __init__(self):
        nn.Module.__init__(self)
        StandInModel.__init__(self)
        self.dense = nn.Linear(2, 3)
        self.example_input = np.zeros((1, 2), np.float32)

    def forward(self, x):
        return self.dense(x)


def test_tensorboard_graph_images_and_named_weights(tmp_path):
    pytest.importorskip("PIL")
    model = TracedModel()
    fit(model, [TensorBoard(tmp_path, histogram_freq=1, write_images=True)], [{"loss": 1.0}])
    train = read(tmp_path / "train")
    assert train.Tags()["graph"]
    assert sorted(train.Tags()["histograms"]) == ["dense/bias/histogram",
                                                  "dense/weight/histogram"]
    assert sorted(train.Tags()["images"]) == ["dense/bias/image", "dense/weight/image"]
    model.example_input = "not an input"
    with pytest.warns(UserWarning, match="the model's graph was not written"):
        fit(model, [TensorBoard(tmp_path / "again")], [{"loss": 1.0}])


@pytest.mark.parametrize(("kwargs", "pattern"), [
    ({"histogram_freq": -1}, r"histogram_freq is an int >= 0"),
    ({"update_freq": "sometimes"}, r"update_freq=.*int >= 1"),
    ({"update_freq": 0}, r"update_freq is an int >= 1"),
])
def test_tensorboard_refuses_bad_arguments(kwargs, pattern):
    with pytest.raises(ValueError, match=pattern):
        TensorBoard(**kwargs)


def test_callbacks_give_no_warnings_in_a_normal_run(tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fit(StandInModel(), [EarlyStopping(), ReduceLROnPlateau(),
                             ModelCheckpoint(str(tmp_path / "m.safetensors"))],
            val_losses(1.0, 0.5))
