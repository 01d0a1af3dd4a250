"""keras.Sequential, the functional Model and subclassed models: building, calling, configs,
freezing, summaries, and the errors of bad input."""

import numpy as np
import pytest

import flowgrad as fg
from flowgrad import keras
from flowgrad.errors import ShapeError

layers = keras.layers
RNG = np.random.default_rng(0)


def _np(t):
    return t.detach().numpy()


def test_input_shape_builds_a_sequential_model_at_once():
    model = keras.Sequential([layers.Dense(8, activation="relu", input_shape=(4,)),
                              layers.Dense(3, activation="softmax")])
    assert model.built and model.count_params() == 4 * 8 + 8 + 8 * 3 + 3
    assert model.output_shape == (None, 3)
    assert [layer.output_shape for layer in model.layers] == [(None, 8), (None, 3)]
    x = RNG.standard_normal((5, 4)).astype(np.float32)
    kernel, bias, kernel2, bias2 = model.get_weights()
    expected = np.maximum(x @ kernel + bias, 0) @ kernel2 + bias2
    expected = np.exp(expected) / np.exp(expected).sum(1, keepdims=True)
    np.testing.assert_allclose(_np(model(fg.tensor(x))), expected, rtol=1e-5, atol=1e-6)


def test_a_sequential_model_without_input_shape_builds_on_first_call():
    model = keras.Sequential()
    model.add(layers.Dense(2))
    assert not model.built
    with pytest.raises(ValueError, match="not built"):
        model.layers[0].count_params()
    model(fg.ones(3, 7))
    assert model.count_params() == 7 * 2 + 2 and model.output_shape == (None, 2)


def test_the_functional_api_with_shared_layers_and_two_outputs():
    left, right = keras.Input((3,), name="left"), keras.Input((3,), name="right")
    shared = layers.Dense(4, activation="tanh", name="shared")
    merged = layers.Dense(2, name="head")(shared(left))
    other = layers.Dense(1, name="other")(shared(right))
    model = keras.Model(inputs=[left, right], outputs=[merged, other])
    assert [layer.name for layer in model.layers] == ["left", "right", "shared", "head", "other"]
    assert model.count_params() == (3 * 4 + 4) + (4 * 2 + 2) + (4 + 1)  # shared counted once
    a, b = (RNG.standard_normal((2, 3)).astype(np.float32) for _ in range(2))
    out_a, out_b = model([fg.tensor(a), fg.tensor(b)])
    w, c = (x.detach().numpy() for x in (shared.kernel, shared.bias))
    head_w, head_c = model.get_layer("head").get_weights()
    np.testing.assert_allclose(_np(out_a), np.tanh(a @ w + c) @ head_w + head_c, rtol=1e-5)
    assert out_b.shape == (2, 1)
    assert model._layer_edges() == [("left", "shared"), ("shared", "head"),
                                    ("right", "shared"), ("shared", "other")]


def test_a_subclassed_model_tracks_its_layers():
    class Classifier(keras.Model):
        def __init__(self):
            super().__init__()
            self.hidden = layers.Dense(6, activation="relu")
            self.out = layers.Dense(2)

        def call(self, inputs, training=None):
            return self.out(self.hidden(inputs))

    model = Classifier()
    assert model(fg.ones(4, 5)).shape == (4, 2)
    assert model.count_params() == 5 * 6 + 6 + 6 * 2 + 2
    assert len(model.trainable_weights) == 4


def test_configs_rebuild_the_same_architecture():
    model = keras.Sequential([layers.Dense(5, activation="gelu", input_shape=(3,)),
                              layers.Dropout(0.25), layers.Dense(2)])
    clone = keras.Sequential.from_config(model.get_config())
    assert [type(layer) for layer in clone.layers] == [type(layer) for layer in model.layers]
    clone.set_weights(model.get_weights())
    x = fg.tensor(RNG.standard_normal((4, 3)).astype(np.float32))
    model.eval()
    clone.eval()
    np.testing.assert_array_equal(_np(clone(x)), _np(model(x)))

    inputs = keras.Input((3,))
    shared = layers.Dense(3)
    outputs = layers.Dense(1)(shared(shared(inputs)))  # one layer called twice
    functional = keras.Model(inputs, outputs)
    rebuilt = keras.Model.from_config(functional.get_config())
    rebuilt.set_weights(functional.get_weights())
    np.testing.assert_allclose(_np(rebuilt(x)), _np(functional(x)), rtol=1e-6)
    assert rebuilt.count_params() == functional.count_params() == 12 + 4


def test_freezing_a_layer_keeps_it_out_of_the_trainable_weights():
    model = keras.Sequential([layers.Dense(3, input_shape=(2,)), layers.Dense(1)])
    model.layers[0].trainable = False
    assert len(model.trainable_weights) == 2 and len(model.non_trainable_weights) == 2
    assert all(not w.requires_grad for w in model.layers[0].weights)
    model.layers[0].trainable = True
    assert len(model.trainable_weights) == 4


def test_summary_lists_layers_shapes_and_counts():
    model = keras.Sequential([layers.Dense(64, activation="relu", input_shape=(784,),
                                           name="hidden"), layers.Dense(10, name="logits")],
                             name="mlp")
    lines = []
    model.summary(print_fn=lines.append)
    text = lines[0]
    assert 'Model: "mlp"' in text
    assert "hidden (Dense)" in text and "(None, 64)" in text and "50,240" in text
    assert "logits (Dense)" in text and "(None, 10)" in text and "650" in text
    assert "Total params: 50,890" in text and "Non-trainable params: 0" in text


def test_set_weights_checks_every_shape_first():
    model = keras.Sequential([layers.Dense(2, input_shape=(3,)), layers.Dense(1)])
    before = model.get_weights()
    bad = [np.zeros((3, 2)), np.zeros(2), np.zeros((5, 1)), np.zeros(1)]
    with pytest.raises(ShapeError, match=r"weight 2 has shape \(2, 1\)"):
        model.set_weights(bad)
    for got, expected in zip(model.get_weights(), before, strict=True):
        np.testing.assert_array_equal(got, expected)


def test_bad_input_is_named():
    model = keras.Sequential([layers.Dense(2, input_shape=(3,))])
    with pytest.raises(ShapeError, match="built for inputs of shape"):
        model(fg.ones(4, 5))
    with pytest.raises(ValueError, match="unknown activation 'relux'; valid names:"):
        layers.Dense(2, activation="relux")
    with pytest.raises(ValueError, match="units must be a positive integer"):
        layers.Dense(0)
    with pytest.raises(ValueError, match="no layers"):
        keras.Sequential()(fg.ones(1, 1))
    stray = keras.Input((2,))
    with pytest.raises(ValueError, match="not among the model's inputs"):
        keras.Model(keras.Input((2,)), layers.Dense(1)(stray))
    with pytest.raises(TypeError, match="unexpected keyword"):
        layers.Dense(2, kernel_size=3)
    functional = keras.Model(inputs := keras.Input((3,)), layers.Dense(1)(inputs))
    with pytest.raises(ShapeError, match=r"expects shape \(None, 3\), got \(2, 4\)"):
        functional(fg.ones(2, 4))
