"""Keras convolution, pooling and padding layers against tf.keras (same weights: outputs,
gradients, shapes, parameter counts, configs), NumPy references where TensorFlow is absent,
and the errors bad input gets."""

from __future__ import annotations

import json

import numpy as np
import pytest
from keras_layer_reference import (
    assert_close,
    check_config,
    check_shapes_and_params,
    compare_with_tf,
)

import flowgrad as fg
import flowgrad.nn.functional as NF
from flowgrad import keras
from flowgrad.errors import ShapeError

layers = keras.layers



def images(*shape, seed: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def to_first(x: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(np.moveaxis(x, -1, 1))


# -- convolution --------------------------------------------------------------------------

CONV2D_CASES = [
    dict(filters=4, kernel_size=3),
    dict(filters=4, kernel_size=3, padding="same"),
    dict(filters=5, kernel_size=(3, 2), strides=2, padding="same"),
    dict(filters=3, kernel_size=(2, 3), strides=(2, 3), padding="same"),
    dict(filters=4, kernel_size=3, strides=(1, 2)),
    dict(filters=4, kernel_size=3, dilation_rate=2, padding="same"),
    dict(filters=4, kernel_size=(2, 3), dilation_rate=(1, 2)),
    dict(filters=4, kernel_size=3, groups=2, padding="same"),
    dict(filters=4, kernel_size=1, use_bias=False, activation="relu"),
    dict(filters=6, kernel_size=4, strides=3, padding="same", activation="tanh"),
]


@pytest.mark.parametrize("kwargs", CONV2D_CASES)
def test_conv2d_matches_tf(tf, kwargs):
    x = images(2, 7, 9, 4)
    layer, tf_layer = layers.Conv2D(**kwargs), tf.keras.layers.Conv2D(**kwargs)
    compare_with_tf(tf, layer, tf_layer, x)
    check_shapes_and_params(tf, layer, tf_layer, (None, 7, 9, 4))
    check_config(layer, tf_layer)


CONV1D_CASES = [
    dict(filters=3, kernel_size=3),
    dict(filters=3, kernel_size=4, strides=2, padding="same"),
    dict(filters=2, kernel_size=3, dilation_rate=2, padding="causal"),
    dict(filters=4, kernel_size=2, groups=2, use_bias=False),
]


@pytest.mark.parametrize("kwargs", CONV1D_CASES)
def test_conv1d_matches_tf(tf, kwargs):
    x = images(2, 11, 4)
    layer, tf_layer = layers.Conv1D(**kwargs), tf.keras.layers.Conv1D(**kwargs)
    compare_with_tf(tf, layer, tf_layer, x)
    check_shapes_and_params(tf, layer, tf_layer, (None, 11, 4))
    check_config(layer, tf_layer)


@pytest.mark.parametrize("layer_class, kwargs, shape", [
    (layers.Conv2D, dict(filters=4, kernel_size=3, strides=2, padding="same"), (2, 7, 9, 3)),
    (layers.Conv2D, dict(filters=4, kernel_size=(3, 2), dilation_rate=2), (2, 7, 9, 3)),
    (layers.Conv1D, dict(filters=4, kernel_size=3, padding="causal"), (2, 9, 3)),
])
def test_channels_first_conv_is_channels_last_transposed(tf, layer_class, kwargs, shape):
    # TensorFlow's CPU convolution has no NCHW kernel: compare through tf's channels-last one.
    x = images(*shape)
    tf_layer = getattr(tf.keras.layers, layer_class.__name__)(**kwargs)
    tf_layer.build(x.shape)
    weights = [np.random.default_rng(2).standard_normal(tuple(w.shape)).astype(np.float32)
               for w in tf_layer.weights]
    tf_layer.set_weights(weights)
    x_first = fg.tensor(to_first(x), requires_grad=True)
    layer = layer_class(**kwargs, data_format="channels_first")
    layer.ensure_built(tuple(x_first.shape))
    layer.set_weights(weights)
    out = layer(x_first)
    expected = np.moveaxis(tf_layer(x).numpy(), -1, 1)
    assert_close(out.detach().numpy(), expected)
    first_shape = (None, shape[-1], *shape[1:-1])
    assert layer(keras.Input(batch_shape=first_shape)).shape == (None, *expected.shape[1:])
    out.sum().backward()
    tf_x = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(tf_x)
        total = tf.reduce_sum(tf_layer(tf_x))
    assert_close(x_first.grad.numpy(), to_first(tape.gradient(total, tf_x).numpy()))


def test_conv2d_channels_last_equals_functional_conv2d():
    """Without TensorFlow: the layer is fg's NCHW conv2d on the transposed image, the kernel
    in Keras's layout (kh, kw, in, out)."""
    x = images(2, 8, 8, 3)
    layer = layers.Conv2D(5, 3, padding="same", strides=1)
    out = layer(fg.tensor(x)).detach().numpy()
    weight = fg.tensor(np.ascontiguousarray(layer.kernel.detach().numpy().transpose(3, 2, 0, 1)))
    expected = NF.conv2d(fg.tensor(to_first(x)), weight, layer.bias.detach(), padding=1)
    assert_close(out, np.moveaxis(expected.numpy(), 1, -1))
    assert layer.kernel.shape == (3, 3, 3, 5) and layer.count_params() == 3 * 3 * 3 * 5 + 5


def test_conv2d_same_padding_puts_the_extra_pixel_after():
    """TensorFlow's 'same' with stride 2 on an even size pads 0 before and 1 after: the first
    output reads rows 0-1 (plus one padded zero row), not a padded row before row 0."""
    layer = layers.Conv2D(1, 2, strides=2, padding="same", use_bias=False,
                          kernel_initializer="ones")
    x = np.arange(16, dtype=np.float32).reshape(1, 4, 4, 1)
    out = layer(fg.tensor(x)).detach().numpy()[0, :, :, 0]
    np.testing.assert_array_equal(out, [[10, 18], [42, 50]])
    odd = layers.Conv2D(1, 2, strides=2, padding="same", use_bias=False,
                        kernel_initializer="ones")(fg.tensor(np.ones((1, 3, 3, 1), "f4")))
    np.testing.assert_array_equal(odd.detach().numpy()[0, :, :, 0], [[4, 2], [2, 1]])


# -- pooling ------------------------------------------------------------------------------

POOL2D_CASES = [
    dict(pool_size=2),
    dict(pool_size=3, strides=2, padding="same"),
    dict(pool_size=2, padding="same"),
    dict(pool_size=(3, 2), strides=(1, 2), padding="same"),
    dict(pool_size=3, strides=1, padding="same"),
    dict(pool_size=(2, 3), strides=(2, 1)),
    dict(pool_size=2, strides=3, padding="same"),
]


@pytest.mark.parametrize("name", ["MaxPooling2D", "AveragePooling2D"])
@pytest.mark.parametrize("kwargs", POOL2D_CASES)
@pytest.mark.parametrize("size", [(7, 7), (8, 6)])
def test_pooling2d_matches_tf(tf, name, kwargs, size):
    x = images(2, *size, 3)
    layer, tf_layer = getattr(layers, name)(**kwargs), getattr(tf.keras.layers, name)(**kwargs)
    compare_with_tf(tf, layer, tf_layer, x)
    check_shapes_and_params(tf, layer, tf_layer, (None, *size, 3))
    check_config(layer, tf_layer)


@pytest.mark.parametrize("name", ["MaxPooling1D", "AveragePooling1D"])
@pytest.mark.parametrize("kwargs", [dict(pool_size=2), dict(pool_size=3, strides=2,
                                                            padding="same"),
                                    dict(pool_size=2, padding="same")])
def test_pooling1d_matches_tf(tf, name, kwargs):
    x = images(2, 9, 3)
    layer, tf_layer = getattr(layers, name)(**kwargs), getattr(tf.keras.layers, name)(**kwargs)
    compare_with_tf(tf, layer, tf_layer, x)
    check_shapes_and_params(tf, layer, tf_layer, (None, 9, 3))
    check_config(layer, tf_layer)


@pytest.mark.parametrize("name", ["MaxPooling2D", "AveragePooling2D"])
def test_channels_first_pooling(tf, name):
    x = images(2, 7, 8, 3)
    kwargs = dict(pool_size=3, strides=2, padding="same")
    layer = getattr(layers, name)(**kwargs, data_format="channels_first")
    tf_layer = getattr(tf.keras.layers, name)(**kwargs)
    out = layer(fg.tensor(to_first(x))).numpy()
    assert_close(out, to_first(tf_layer(x).numpy()))


@pytest.mark.parametrize("name", ["GlobalAveragePooling2D", "GlobalMaxPooling2D",
                                  "GlobalAveragePooling1D", "GlobalMaxPooling1D"])
@pytest.mark.parametrize("kwargs", [{}, dict(keepdims=True),
                                    dict(data_format="channels_first")])
def test_global_pooling_matches_tf(tf, name, kwargs):
    shape = (2, 5, 6, 3) if name.endswith("2D") else (2, 7, 3)
    layer, tf_layer = getattr(layers, name)(**kwargs), getattr(tf.keras.layers, name)(**kwargs)
    compare_with_tf(tf, layer, tf_layer, images(*shape))
    check_shapes_and_params(tf, layer, tf_layer, (None, *shape[1:]))
    check_config(layer, tf_layer)


def test_pooling_without_tf():
    x = images(2, 6, 6, 3)
    out = layers.MaxPooling2D()(fg.tensor(x)).numpy()
    np.testing.assert_array_equal(out, x.reshape(2, 3, 2, 3, 2, 3).max(axis=(2, 4)))
    same = layers.AveragePooling2D(2, padding="same")(fg.tensor(np.ones((1, 5, 5, 1), "f4")))
    np.testing.assert_array_equal(same.numpy(), np.ones((1, 3, 3, 1)))  # pads not counted
    pooled = layers.GlobalAveragePooling2D()(fg.tensor(x)).numpy()
    assert_close(pooled, x.mean(axis=(1, 2)))


# -- padding and upsampling ---------------------------------------------------------------

@pytest.mark.parametrize("name, kwargs", [
    ("ZeroPadding2D", {}),
    ("ZeroPadding2D", dict(padding=2)),
    ("ZeroPadding2D", dict(padding=(1, 2))),
    ("ZeroPadding2D", dict(padding=((1, 0), (2, 3)))),
    ("ZeroPadding2D", dict(padding=((0, 1), (3, 0)), data_format="channels_first")),
    ("UpSampling2D", {}),
    ("UpSampling2D", dict(size=(2, 3))),
    ("UpSampling2D", dict(size=(3, 1), data_format="channels_first")),
])
def test_padding_and_upsampling_match_tf(tf, name, kwargs):
    x = images(2, 4, 5, 3)
    layer, tf_layer = getattr(layers, name)(**kwargs), getattr(tf.keras.layers, name)(**kwargs)
    compare_with_tf(tf, layer, tf_layer, x)
    check_shapes_and_params(tf, layer, tf_layer, (None, 4, 5, 3))
    check_config(layer, tf_layer)


# -- models -------------------------------------------------------------------------------

def article_cnn(api):
    return api.Sequential([
        api.Input((32, 32, 3)),
        api.layers.Conv2D(32, 3, activation="relu", padding="same"),
        api.layers.BatchNormalization(),
        api.layers.MaxPooling2D(),
        api.layers.Conv2D(64, 3, activation="relu"),
        api.layers.MaxPooling2D(),
        api.layers.GlobalAveragePooling2D(),
        api.layers.Dense(10),
    ])


def test_cnn_model_matches_tf(tf):
    model, tf_model = article_cnn(keras), article_cnn(tf.keras)
    assert model.count_params() == tf_model.count_params()
    for ours, theirs in zip(model.layers, tf_model.layers, strict=True):
        ours.set_weights(theirs.get_weights())
    x = images(4, 32, 32, 3)
    for training in (False, True):
        assert_close(model(fg.tensor(x), training=training).detach().numpy(),
                     tf_model(x, training=training).numpy(), 1e-4)


def test_variable_size_inputs_match_tf(tf):
    """Unknown spatial sizes (a fully convolutional net, a text CNN) build and run."""
    def text_cnn(api):
        tokens = api.Input((None,))
        h = api.layers.Embedding(20, 4)(tokens)
        h = api.layers.Conv1D(3, 3, padding="causal")(h)
        h = api.layers.MaxPooling1D()(h)
        h = api.layers.AveragePooling1D(3, 1, padding="same")(h)
        return api.Model(tokens, api.layers.GlobalMaxPooling1D()(h))

    def fully_convolutional(api):
        image = api.Input((None, None, 3))
        h = api.layers.Conv2D(4, 3, padding="same")(image)
        h = api.layers.MaxPooling2D()(api.layers.ZeroPadding2D()(h))
        return api.Model(image, api.layers.GlobalAveragePooling2D()(h))

    for build, x in ((text_cnn, np.arange(18.0, dtype=np.float32).reshape(2, 9) % 20),
                     (fully_convolutional, images(2, 9, 7, 3))):
        model, tf_model = build(keras), build(tf.keras)
        assert model.output_shape == tuple(tf_model.output_shape)
        for ours, theirs in zip(model.layers, tf_model.layers, strict=True):
            ours.set_weights(theirs.get_weights())
        assert_close(model(fg.tensor(x)).detach().numpy(), tf_model(x).numpy())


def test_model_config_round_trips_through_json():
    model = keras.Sequential([
        keras.Input((12, 12, 3)), layers.ZeroPadding2D(((1, 0), (0, 1))),
        layers.Conv2D(4, 3, strides=2, padding="same", activation="relu"),
        layers.BatchNormalization(), layers.MaxPooling2D(padding="same"),
        layers.UpSampling2D(), layers.LayerNormalization(axis=[1, 3]),
        layers.GlobalAveragePooling2D(keepdims=True), layers.Flatten(), layers.Dense(3),
    ])
    clone = keras.Sequential.from_config(json.loads(json.dumps(model.get_config())))
    assert clone.get_config() == model.get_config()
    clone.set_weights(model.get_weights())
    x = fg.tensor(images(2, 12, 12, 3))
    np.testing.assert_array_equal(clone(x, training=False).detach().numpy(),
                                  model(x, training=False).detach().numpy())


# -- errors -------------------------------------------------------------------------------

def test_built_conv_refuses_wrong_channels_and_rank():
    layer = layers.Conv2D(4, 3, name="features")
    layer(fg.zeros(1, 8, 8, 3))
    with pytest.raises(ShapeError, match=r"'features'.*\(1, 8, 8, 5\)") as info:
        layer(fg.zeros(1, 8, 8, 5))
    assert "3" in str(info.value) and "Conv2D" in str(info.value)
    with pytest.raises(ShapeError, match=r"'features'.*4-D.*\(8, 8, 3\)"):
        layer(fg.zeros(8, 8, 3))
    with pytest.raises(ShapeError, match=r"'features'.*\(None, 8, 8, 2\)"):
        layer(keras.Input((8, 8, 2)))


def test_conv_input_smaller_than_kernel():
    with pytest.raises(ShapeError, match=r"Conv2D 'tiny'.*smaller than the kernel"):
        layers.Conv2D(2, 5, name="tiny")(fg.zeros(1, 3, 3, 1))


@pytest.mark.parametrize("make, match", [
    (lambda: layers.Conv2D(-1, 3), "Conv2D: filters must be a positive integer"),
    (lambda: layers.Conv2D(4, 0), "kernel_size"),
    (lambda: layers.Conv2D(4, 3, padding="full"), "padding must be one of"),
    (lambda: layers.Conv2D(4, 3, padding="causal"), "padding must be one of"),
    (lambda: layers.Conv2D(4, 3, data_format="nhwc"), "data_format"),
    (lambda: layers.Conv2D(4, 3, strides=2, dilation_rate=2), "strides > 1"),
    (lambda: layers.Conv2D(5, 3, groups=2), "groups"),
    (lambda: layers.MaxPooling2D(padding="reflect"), "padding must be one of"),
    (lambda: layers.MaxPooling2D(pool_size=(2, -1)), "pool_size"),
    (lambda: layers.UpSampling2D(interpolation="bilinear"), "nearest"),
    (lambda: layers.ZeroPadding2D(padding=(1, 2, 3)), "padding"),
])
def test_invalid_arguments(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_groups_must_divide_input_channels():
    with pytest.raises(ShapeError, match=r"Conv2D 'grouped'.*5 channels.*groups=2"):
        layers.Conv2D(4, 3, groups=2, name="grouped")(fg.zeros(1, 6, 6, 5))


def test_pooling_refuses_wrong_rank():
    with pytest.raises(ShapeError, match=r"MaxPooling2D 'pool'.*4-D.*\(None, 6, 6\)"):
        layers.MaxPooling2D(name="pool")(fg.zeros(2, 6, 6))


def test_unknown_sizes_that_cannot_work_are_named():
    image = keras.Input((None, None, 3))
    with pytest.raises(ShapeError, match=r"Conv2D 'strided'.*'same' with strides 2"):
        layers.Conv2D(2, 3, strides=2, padding="same", name="strided")(image)
    with pytest.raises(ShapeError, match=r"UpSampling2D 'up'.*height and width"):
        layers.UpSampling2D(name="up")(image)
