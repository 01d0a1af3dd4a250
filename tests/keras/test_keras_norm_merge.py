"""Keras normalisation, embedding and merge layers against tf.keras (same weights: outputs in
training and inference, gradients, moving statistics, shapes, parameter counts, configs),
NumPy references where TensorFlow is absent, and the errors bad input gets."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from keras_layer_reference import (
    assert_close,
    check_config,
    check_shapes_and_params,
    compare_with_tf,
)

import flowgrad as fg
from flowgrad import keras
from flowgrad.errors import ShapeError

layers = keras.layers



def values(*shape, seed: int = 1, shift: float = 0.0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (rng.standard_normal(shape) * 2 + shift).astype(np.float32)


# -- BatchNormalization -------------------------------------------------------------------

BN_CASES = [
    ((3, 4, 5, 6), {}),
    ((8, 5), dict(momentum=0.9, epsilon=1e-2)),
    ((3, 4, 5, 6), dict(axis=1)),
    ((3, 4, 5), dict(axis=-2, center=False)),
    ((6, 4), dict(scale=False, center=False)),
]


@pytest.mark.parametrize("training", [False, True])
@pytest.mark.parametrize("shape, kwargs", BN_CASES)
def test_batch_normalization_matches_tf(tf, shape, kwargs, training):
    layer = layers.BatchNormalization(**kwargs)
    tf_layer = tf.keras.layers.BatchNormalization(**kwargs)
    compare_with_tf(tf, layer, tf_layer, values(*shape, shift=1.5), training=training)
    check_shapes_and_params(tf, layer, tf_layer, (None, *shape[1:]))
    check_config(layer, tf_layer)
    assert len(layer.non_trainable_weights) == len(tf_layer.non_trainable_weights) == 2


@pytest.mark.parametrize("shape, kwargs", BN_CASES[:3])
def test_batch_normalization_moving_statistics_match_tf(tf, shape, kwargs):
    layer = layers.BatchNormalization(**kwargs)
    tf_layer = tf.keras.layers.BatchNormalization(**kwargs)
    for step in range(4):
        x = values(*shape, seed=step, shift=step)
        layer(fg.tensor(x), training=True)
        tf_layer(x, training=True)
    for ours, theirs in zip(layer.get_weights(), tf_layer.get_weights(), strict=True):
        assert_close(ours, theirs)
    x = values(*shape, seed=9)
    assert_close(layer(fg.tensor(x), training=False).detach().numpy(),
                 tf_layer(x, training=False).numpy())


def test_batch_normalization_statistics_without_tf():
    """Keras's convention: ``moving = moving * momentum + batch * (1 - momentum)`` with the
    biased batch variance, per channel of the last axis."""
    x = values(4, 3, 2, 5, shift=2.0)
    layer = layers.BatchNormalization(momentum=0.8)
    out = layer(fg.tensor(x), training=True).detach().numpy()
    mean, var = x.mean(axis=(0, 1, 2)), x.var(axis=(0, 1, 2))
    assert_close(out, (x - mean) / np.sqrt(var + 1e-3))
    moving_mean, moving_variance = layer.get_weights()[2:]
    assert_close(moving_mean, 0.2 * mean)
    assert_close(moving_variance, 0.8 + 0.2 * var)
    inference = layer(fg.tensor(x), training=False).detach().numpy()
    assert_close(inference, (x - 0.2 * mean) / np.sqrt(0.8 + 0.2 * var + 1e-3))
    assert layer.count_params() == 20 and len(layer.trainable_weights) == 2


def test_frozen_batch_normalization_uses_moving_statistics():
    layer = layers.BatchNormalization()
    x = fg.tensor(values(4, 3, shift=5.0))
    layer(x, training=True)
    before = layer.get_weights()
    layer.trainable = False
    frozen = layer(x, training=True)
    assert_close(frozen.detach().numpy(), layer(x, training=False).detach().numpy())
    for ours, theirs in zip(layer.get_weights(), before, strict=True):
        np.testing.assert_array_equal(ours, theirs)


def test_batch_normalization_updates_moving_statistics_when_compiled():
    """A compiled training step (as ``fit`` runs one) moves the statistics as eager does."""
    eager, compiled = layers.BatchNormalization(), layers.BatchNormalization()
    step = fg.compile(lambda x: compiled(x, training=True))
    for seed in range(3):
        x = fg.tensor(values(5, 4, seed=seed, shift=seed))
        assert_close(step(x).detach().numpy(), eager(x, training=True).detach().numpy())
    for ours, theirs in zip(compiled.get_weights(), eager.get_weights(), strict=True):
        assert_close(ours, theirs)


# -- LayerNormalization -------------------------------------------------------------------

@pytest.mark.parametrize("shape, kwargs", [
    ((3, 4, 6), {}),
    ((3, 4, 6), dict(axis=[1, 2], epsilon=1e-5)),
    ((3, 4, 6), dict(axis=1)),
    ((2, 3, 4, 5), dict(axis=[1, 3], center=False)),
    ((2, 3, 4, 5), dict(axis=(-1, -3))),
    ((5, 6), dict(scale=False)),
    ((3, 4, 6), dict(rms_scaling=True)),
])
def test_layer_normalization_matches_tf(tf, shape, kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # Keras deprecates rms_scaling
        layer = layers.LayerNormalization(**kwargs)
        tf_layer = tf.keras.layers.LayerNormalization(**kwargs)
        compare_with_tf(tf, layer, tf_layer, values(*shape, shift=1.0))
        check_shapes_and_params(tf, layer, tf_layer, (None, *shape[1:]))
    check_config(layer, tf_layer)


def test_layer_normalization_without_tf():
    x = values(3, 4, 6)
    out = layers.LayerNormalization()(fg.tensor(x)).detach().numpy()
    mean, var = x.mean(-1, keepdims=True), x.var(-1, keepdims=True)
    assert_close(out, (x - mean) / np.sqrt(var + 1e-3))
    middle = layers.LayerNormalization(axis=1)(fg.tensor(x)).detach().numpy()
    mean, var = x.mean(1, keepdims=True), x.var(1, keepdims=True)
    assert_close(middle, (x - mean) / np.sqrt(var + 1e-3))


# -- Embedding ----------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", ["int64", "int32", "float32"])
def test_embedding_matches_tf(tf, dtype):
    indices = np.random.default_rng(0).integers(0, 10, (3, 5)).astype(dtype)
    indices[0, :2] = [0, 9]
    layer, tf_layer = layers.Embedding(10, 4), tf.keras.layers.Embedding(10, 4)
    compare_with_tf(tf, layer, tf_layer, indices, input_grad=False)
    check_shapes_and_params(tf, layer, tf_layer, (None, 5))
    check_config(layer, tf_layer)


def test_embedding_without_tf():
    layer = layers.Embedding(6, 3, mask_zero=True)
    indices = fg.tensor([[0, 5, 2]])
    out = layer(indices)
    (table,) = layer.get_weights()
    np.testing.assert_array_equal(out.detach().numpy()[0], table[[0, 5, 2]])
    assert np.abs(table).max() <= 0.05  # Keras's 'uniform' initializer
    assert layer.compute_mask(indices).tolist() == [[False, True, True]]
    assert layers.Embedding(6, 3).compute_mask(indices) is None
    with pytest.raises(IndexError, match="index 6 is out of range for 6 embeddings"):
        layer(fg.tensor([[1, 6]]))


# -- merge layers -------------------------------------------------------------------------

MERGE_CASES = [
    ("Add", [(3, 4, 5)] * 3),
    ("Subtract", [(3, 4, 5)] * 2),
    ("Multiply", [(3, 4, 5)] * 3),
    ("Average", [(3, 4, 5)] * 3),
    ("Maximum", [(3, 4, 5)] * 3),
    ("Minimum", [(3, 4, 5)] * 3),
    ("Add", [(3, 4, 5), (3, 1, 5), (3, 5)]),
    ("Multiply", [(3, 4, 1), (3, 4, 5)]),
    ("Concatenate", [(3, 4, 2), (3, 4, 5), (3, 4, 1)]),
]


@pytest.mark.parametrize("name, shapes", MERGE_CASES)
def test_merge_matches_tf(tf, name, shapes):
    inputs = [values(*shape, seed=i) for i, shape in enumerate(shapes)]
    layer, tf_layer = getattr(layers, name)(), getattr(tf.keras.layers, name)()
    compare_with_tf(tf, layer, tf_layer, inputs)
    symbolic = layer([keras.Input(shape[1:]) for shape in shapes])
    expected = tf_layer.compute_output_shape([(None, *shape[1:]) for shape in shapes])
    assert symbolic.shape == tuple(expected)
    check_config(layer, tf_layer)


@pytest.mark.parametrize("axis", [1, -2, 0])
def test_concatenate_axis_matches_tf(tf, axis):
    inputs = [values(3, 2, 4, seed=0), values(3, 5, 4, seed=1)] if axis != 0 else [
        values(2, 4, seed=0), values(3, 4, seed=1)]
    layer = layers.Concatenate(axis=axis)
    compare_with_tf(tf, layer, tf.keras.layers.Concatenate(axis=axis), inputs)


def test_merge_without_tf():
    a, b, c = (values(2, 3, seed=s) for s in range(3))
    tensors = [fg.tensor(a), fg.tensor(b), fg.tensor(c)]
    assert_close(layers.Add()(tensors).numpy(), a + b + c)
    assert_close(layers.Average()(tensors).numpy(), (a + b + c) / 3)
    assert_close(layers.Maximum()(tensors).numpy(), np.maximum(np.maximum(a, b), c))
    assert_close(layers.Subtract()(tensors[:2]).numpy(), a - b)
    assert_close(layers.Concatenate()(tensors).numpy(), np.concatenate([a, b, c], -1))


def test_functional_model_with_merge_layers(tf):
    def build(api):
        image = api.Input((8, 8, 3))
        left = api.layers.Conv2D(4, 3, padding="same")(image)
        right = api.layers.Conv2D(4, 1)(image)
        joined = api.layers.Concatenate()([api.layers.Add()([left, right]), right])
        out = api.layers.GlobalAveragePooling2D()(api.layers.LayerNormalization()(joined))
        return api.Model(image, out)

    model, tf_model = build(keras), build(tf.keras)
    assert model.count_params() == tf_model.count_params()
    for ours, theirs in zip(model.layers, tf_model.layers, strict=True):
        ours.set_weights(theirs.get_weights())
    x = values(2, 8, 8, 3)
    assert_close(model(fg.tensor(x)).detach().numpy(), tf_model(x).numpy())


# -- errors -------------------------------------------------------------------------------

def test_merge_errors_name_the_layer_and_shapes():
    a, b = fg.zeros(2, 3), fg.zeros(2, 4)
    with pytest.raises(ShapeError, match=r"Add 'join'.*\(2, 4\).*\(2, 3\)"):
        layers.Add(name="join")([a, b])
    with pytest.raises(ShapeError, match=r"Multiply 'product'.*\(None, 4\).*\(None, 3\)"):
        layers.Multiply(name="product")([keras.Input((3,)), keras.Input((4,))])
    with pytest.raises(ShapeError, match=r"different batch sizes"):
        layers.Add()([fg.zeros(2, 3), fg.zeros(5, 3)])
    with pytest.raises(ShapeError, match=r"Concatenate 'cat'.*\(2, 4\).*\(2, 3\).*axis 0"):
        layers.Concatenate(axis=0, name="cat")([a, b])
    with pytest.raises(ValueError, match=r"Subtract 'minus'.*exactly 2 inputs"):
        layers.Subtract(name="minus")([a, a, a])
    with pytest.raises(ValueError, match=r"Add 'single'.*list of inputs"):
        layers.Add(name="single")(a)


def test_normalization_errors_name_the_layer_and_shapes():
    layer = layers.BatchNormalization(name="bn")
    layer(fg.zeros(2, 4, 4, 3), training=False)
    with pytest.raises(ShapeError, match=r"BatchNormalization 'bn'.*3\).*\(2, 4, 4, 5\)"):
        layer(fg.zeros(2, 4, 4, 5))
    with pytest.raises(ShapeError, match=r"'bn'.*4-D.*\(2, 3\)"):
        layer(fg.zeros(2, 3))
    norm = layers.LayerNormalization(name="ln")
    norm(fg.zeros(2, 5))
    with pytest.raises(ShapeError, match=r"LayerNormalization 'ln'.*\(5,\).*\(2, 6\)"):
        norm(fg.zeros(2, 6))
    with pytest.raises(ShapeError, match=r"axis 3 is out of range"):
        layers.BatchNormalization(axis=3)(fg.zeros(2, 5))
    with pytest.raises(ValueError, match="momentum"):
        layers.BatchNormalization(momentum=1.5)
    with pytest.raises(ValueError, match="output_dim"):
        layers.Embedding(5, 0)
