"""A Keras model leaves flowgrad like any module: ONNX export and TensorBoard's graph."""

import numpy as np
import pytest

import flowgrad as fg
from flowgrad import keras


def test_a_keras_cnn_exports_to_onnx_with_a_dynamic_batch(tmp_path):
    ort = pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    keras.utils.set_random_seed(0)
    layers = keras.layers
    model = keras.Sequential([keras.Input((8, 8, 1)),
                              layers.Conv2D(4, 3, padding="same", activation="relu"),
                              layers.BatchNormalization(), layers.MaxPooling2D(2),
                              layers.Flatten(), layers.Dropout(0.3),
                              layers.Dense(3, activation="softmax")])
    x = np.random.default_rng(0).standard_normal((5, 8, 8, 1)).astype(np.float32)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    model.fit(x, np.array([0, 1, 2, 1, 0]), epochs=1, verbose=0)  # moving statistics move
    model.eval()
    path = tmp_path / "cnn.onnx"
    fg.onnx.export(model, fg.tensor(x), path, input_names=["images"],
                   dynamic_axes={"images": {0: "batch"}})
    session = ort.InferenceSession(str(path))
    for batch in (x, x[:2]):
        got = session.run(None, {"images": batch})[0]
        np.testing.assert_allclose(got, model.predict(batch, verbose=0), atol=1e-5)


def test_a_keras_model_draws_its_graph_in_tensorboard(tmp_path):
    pytest.importorskip("tensorboardX")
    from flowgrad.utils.tensorboard import SummaryWriter

    model = keras.Sequential([keras.layers.Dense(4, activation="relu", input_shape=(3,)),
                              keras.layers.Dense(2)])
    with SummaryWriter(tmp_path) as writer:
        writer.add_graph(model, fg.ones(2, 3))
    assert any(p.name.startswith("events") for p in tmp_path.iterdir())
