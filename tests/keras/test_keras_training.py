"""compile/fit/evaluate/predict: compiled and eager give the same numbers, every kind of data
is accepted, weights and classes weigh, and bad input changes nothing."""

import pickle

import numpy as np
import pytest

import flowgrad as fg
from flowgrad import keras
from flowgrad.errors import CheckpointError, ShapeError

layers = keras.layers
RNG = np.random.default_rng(0)
X = RNG.standard_normal((100, 6)).astype(np.float32)
Y = (X[:, 0] + X[:, 1] > 0).astype(np.int64) + (X[:, 2] > 1)  # three classes


def mlp(seed: int = 0, name=None):
    keras.utils.set_random_seed(seed)
    return keras.Sequential([layers.Dense(12, activation="tanh", input_shape=(6,)),
                             layers.Dense(3)], name=name)


def compiled(model, run_eagerly=False, **options):
    model.compile(optimizer=keras.optimizers.Adam(0.01),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"], run_eagerly=run_eagerly, **options)
    return model


def test_compiled_and_eager_training_give_the_same_numbers():
    graph, eager = compiled(mlp()), compiled(mlp(), run_eagerly=True)
    a = graph.fit(X, Y, batch_size=16, epochs=3, verbose=0, shuffle=False)
    b = eager.fit(X, Y, batch_size=16, epochs=3, verbose=0, shuffle=False)
    for key in ("loss", "accuracy"):
        np.testing.assert_allclose(a.history[key], b.history[key], rtol=1e-5)
    for got, expected in zip(graph.get_weights(), eager.get_weights(), strict=True):
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
    assert graph._train_function.__class__.__name__ == "CompiledFunction"
    assert len(graph._train_function._traces) == 1  # one trace: 16- and 4-sample batches
    assert a.history["loss"][-1] < a.history["loss"][0]


def test_fit_logs_match_evaluate_and_the_held_out_split_is_the_last_samples():
    model = compiled(mlp())
    history = model.fit(X, Y, batch_size=10, epochs=2, validation_split=0.2, verbose=0,
                        shuffle=False)
    assert set(history.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    loss, accuracy = model.evaluate(X[80:], Y[80:], batch_size=7, verbose=0)
    np.testing.assert_allclose(history.history["val_loss"][-1], loss, rtol=1e-6)
    np.testing.assert_allclose(history.history["val_accuracy"][-1], accuracy, rtol=1e-6)
    logits = model.predict(X, batch_size=32, verbose=0)
    assert logits.shape == (100, 3)
    probabilities = np.exp(logits - logits.max(1, keepdims=True))
    probabilities /= probabilities.sum(1, keepdims=True)
    expected = -np.log(probabilities[80 + np.arange(20), Y[80:]]).mean()
    np.testing.assert_allclose(loss, expected, rtol=1e-5)
    assert accuracy == np.mean(logits[80:].argmax(1) == Y[80:])
    assert model.evaluate(X, Y, verbose=0, return_dict=True).keys() == {"loss", "accuracy"}


def test_every_kind_of_data_trains():
    def batches():
        while True:
            for start in range(0, 100, 25):
                yield X[start:start + 25], Y[start:start + 25]

    dataset = fg.data.TensorDataset(fg.tensor(X), fg.tensor(Y))
    loader = fg.data.DataLoader(dataset, batch_size=20)
    for data, options in [((fg.tensor(X), fg.tensor(Y)), {}), ((X, list(Y)), {}),
                          ((dataset,), {}), ((loader,), {}),
                          ((batches(),), {"steps_per_epoch": 4})]:
        model = compiled(mlp())
        history = model.fit(*data, epochs=2, verbose=0, **options)
        assert len(history.history["loss"]) == 2, data


def test_a_functional_model_with_two_inputs_and_two_outputs_trains():
    keras.utils.set_random_seed(1)
    left, right = keras.Input((6,), name="left"), keras.Input((2,), name="right")
    hidden = layers.Dense(8, activation="relu")(left)
    joined = layers.Concatenate()([hidden, right]) if hasattr(layers, "Concatenate") else hidden
    classes = layers.Dense(3, name="classes")(joined)
    value = layers.Dense(1, name="value")(joined)
    model = keras.Model([left, right], [classes, value])
    model.compile(optimizer="adam",
                  loss=[keras.losses.SparseCategoricalCrossentropy(from_logits=True), "mse"],
                  loss_weights=[1.0, 0.5], metrics={"classes": ["accuracy"]})
    extra = RNG.standard_normal((100, 2)).astype(np.float32)
    history = model.fit([X, extra], [Y, X[:, :1]], epochs=2, batch_size=25, verbose=0)
    assert {"loss", "classes_accuracy"} <= set(history.history)
    out_classes, out_value = model.predict([X, extra], verbose=0)
    assert out_classes.shape == (100, 3) and out_value.shape == (100, 1)


def test_sample_and_class_weights_weigh_the_loss():
    model = compiled(mlp())
    weights = np.where(Y == 0, 2.0, 0.5).astype(np.float32)
    by_sample = model.test_on_batch(X, Y, sample_weight=weights, return_dict=True)["loss"]
    logits = model.predict_on_batch(X)
    probabilities = np.exp(logits - logits.max(1, keepdims=True))
    probabilities /= probabilities.sum(1, keepdims=True)
    losses = -np.log(probabilities[np.arange(100), Y])
    np.testing.assert_allclose(by_sample, (losses * weights).sum() / 100, rtol=1e-5)
    first = compiled(mlp()).fit(X, Y, class_weight={0: 2.0, 1: 0.5, 2: 0.5}, epochs=1,
                                batch_size=100, verbose=0, shuffle=False)
    second = compiled(mlp()).fit(X, Y, sample_weight=weights, epochs=1, batch_size=100,
                                 verbose=0, shuffle=False)
    np.testing.assert_allclose(first.history["loss"], second.history["loss"], rtol=1e-6)


def test_callbacks_steer_the_loop():
    model = compiled(mlp())
    seen = []
    history = model.fit(
        X, Y, epochs=10, initial_epoch=2, verbose=0, validation_data=(X[:20], Y[:20]),
        callbacks=[keras.callbacks.LambdaCallback(on_epoch_end=lambda e, logs: seen.append(e)),
                   keras.callbacks.EarlyStopping(monitor="loss", patience=0,
                                                 min_delta=10.0)])
    assert seen == [2, 3]  # the first epoch that did not improve by 10 stops training
    assert history.epoch == [2, 3] and len(history.history["val_loss"]) == 2


def test_saved_models_and_weights_come_back(tmp_path):
    model = compiled(mlp(name="saved"))
    model.fit(X, Y, epochs=1, verbose=0)
    path = tmp_path / "model.safetensors"
    model.save(path)
    loaded = keras.models.load_model(path)
    assert loaded.name == "saved" and loaded.compiled
    np.testing.assert_array_equal(loaded.predict(X, verbose=0), model.predict(X, verbose=0))
    assert loaded.evaluate(X, Y, verbose=0) == pytest.approx(model.evaluate(X, Y, verbose=0))

    inputs = keras.Input((6,))
    outputs = layers.Dense(3)(layers.Dense(4, activation="relu")(inputs))
    functional = keras.Model(inputs, outputs)
    functional.save(tmp_path / "functional.safetensors")
    again = keras.models.load_model(tmp_path / "functional.safetensors")
    np.testing.assert_allclose(again.predict(X, verbose=0), functional.predict(X, verbose=0))

    weights = tmp_path / "weights.safetensors"
    model.save_weights(weights)
    fresh = mlp(seed=5)
    fresh.load_weights(weights)
    for got, expected in zip(fresh.get_weights(), model.get_weights(), strict=True):
        np.testing.assert_array_equal(got, expected)
    with pytest.raises(CheckpointError, match="weights only"):
        keras.models.load_model(weights)
    (tmp_path / "evil.safetensors").write_bytes(pickle.dumps({"a": 1}))
    with pytest.raises(CheckpointError, match="pickle"):
        keras.models.load_model(tmp_path / "evil.safetensors")


def _weights(model):
    return [w.copy() for w in model.get_weights()]


def test_bad_input_is_named_and_changes_nothing():
    model = mlp()
    with pytest.raises(RuntimeError, match=r"must be compiled first.*before fit\(\)"):
        model.fit(X, Y, verbose=0)
    compiled(model)
    before = _weights(model)
    with pytest.raises(ValueError, match="x has 100, y has 99"):
        model.fit(X, Y[:99], verbose=0)
    bad_labels = Y.copy()
    bad_labels[7] = 3
    with pytest.raises(IndexError, match="label 3, out of range for 3 classes"):
        model.fit(X, bad_labels, verbose=0)
    with pytest.raises(ShapeError, match="built for inputs of shape"):
        model.fit(X[:, :5], Y, verbose=0)
    for got, expected in zip(model.get_weights(), before, strict=True):
        np.testing.assert_array_equal(got, expected)
    with pytest.raises(ValueError, match="valid names"):
        model.compile(optimizer="adamz", loss="mse")
    with pytest.raises(ValueError, match="valid names"):
        model.compile(optimizer="adam", loss="cross_entropyy")
    with pytest.raises(ValueError, match="valid names"):
        model.compile(optimizer="adam", loss="mse", metrics=["acurracy"])


def test_on_batch_methods_step_once():
    model = compiled(mlp())
    before = _weights(model)
    loss, accuracy = model.train_on_batch(X[:32], Y[:32])
    assert any((a != b).any() for a, b in zip(model.get_weights(), before, strict=True))
    assert model.optimizer.iterations == 1 and 0 <= accuracy <= 1
    logs = model.train_on_batch(X[:32], Y[:32], return_dict=True)
    assert set(logs) == {"loss", "accuracy"} and logs["loss"] < loss + 1.0
    after = _weights(model)
    model.test_on_batch(X, Y)
    model.predict_on_batch(X)
    for got, expected in zip(model.get_weights(), after, strict=True):
        np.testing.assert_array_equal(got, expected)  # evaluation changes nothing



def test_the_tensorboard_callback_draws_the_model_graph(tmp_path):
    pytest.importorskip("tensorboardX")
    accumulator = pytest.importorskip("tensorboard.backend.event_processing.event_accumulator")
    model = compiled(mlp())
    assert tuple(model.example_input.shape) == (1, 6)
    model.fit(X, Y, epochs=1, verbose=0,
              callbacks=[keras.callbacks.TensorBoard(str(tmp_path / "logs"))])
    events = accumulator.EventAccumulator(str(tmp_path / "logs" / "train"))
    events.Reload()
    ops = {node.op for node in events.Graph().node}
    assert {"matmul", "add", "tanh"} <= ops
