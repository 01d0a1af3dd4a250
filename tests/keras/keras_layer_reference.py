"""Checks shared by the Keras layer tests: a flowgrad Keras layer against the same tf.keras
layer with the same weights (outputs, input and weight gradients, parameter counts, output
shapes, configs)."""

from __future__ import annotations

import inspect

import numpy as np

import flowgrad as fg
from flowgrad import keras
from flowgrad.keras.layer import Layer


def assert_close(ours, theirs, tol: float = 1e-5) -> None:
    """Equal to float32 accuracy: ``tol`` relative, and absolute on the values' scale."""
    ours, theirs = np.asarray(ours), np.asarray(theirs)
    assert ours.shape == theirs.shape, (ours.shape, theirs.shape)
    scale = max(1.0, float(np.abs(theirs).max(initial=0.0)))
    np.testing.assert_allclose(ours, theirs, rtol=tol, atol=tol * scale)


def random_weights(tf_layer, rng) -> list[np.ndarray]:
    """Random values for every weight (positive ones for variances)."""
    weights = []
    for variable in tf_layer.weights:
        shape = tuple(variable.shape)
        if "variance" in variable.name:
            weights.append(rng.uniform(0.5, 1.5, shape).astype(np.float32))
        else:
            weights.append(rng.standard_normal(shape).astype(np.float32))
    return weights


def compare_with_tf(tf, layer, tf_layer, inputs, training=None, seed: int = 0,
                    grad: bool = True, input_grad: bool = True, tol: float = 1e-5):
    """Give both layers the same random weights, run them on ``inputs`` (an array or a list
    of arrays), and check outputs and the gradients of ``sum(output * upstream)`` with
    respect to the inputs (unless ``input_grad`` is False: indices) and the trainable
    weights. Returns the flowgrad output."""
    rng = np.random.default_rng(seed)
    many = isinstance(inputs, list)
    arrays = inputs if many else [inputs]
    shapes = [tuple(a.shape) for a in arrays]
    tf_layer.build(shapes if many else shapes[0])
    layer.ensure_built(shapes if many else shapes[0])
    weights = random_weights(tf_layer, rng)
    tf_layer.set_weights(weights)
    layer.set_weights(weights)
    kwargs = {} if training is None else {"training": training}

    float_inputs = [input_grad and a.dtype.kind == "f" for a in arrays]
    tf_inputs = [tf.constant(a) for a in arrays]
    with tf.GradientTape(persistent=True) as tape:
        for value, is_float in zip(tf_inputs, float_inputs, strict=True):
            if is_float:
                tape.watch(value)
        tf_out = tf_layer(tf_inputs if many else tf_inputs[0], **kwargs)
        upstream = rng.standard_normal(tuple(tf_out.shape)).astype(np.float32)
        loss = tf.reduce_sum(tf_out * upstream)

    fg_inputs = [fg.tensor(a, requires_grad=is_float)
                 for a, is_float in zip(arrays, float_inputs, strict=True)]
    out = layer(fg_inputs if many else fg_inputs[0], **kwargs)
    assert_close(out.detach().numpy(), tf_out.numpy(), tol)
    if not grad:
        return out
    (out * fg.tensor(upstream)).sum().backward()
    watched = [t for t, is_float in zip(tf_inputs, float_inputs, strict=True) if is_float]
    tf_grads = tape.gradient(loss, watched + list(tf_layer.trainable_weights))
    ours = [t.grad for t in fg_inputs if t.requires_grad] + [w.grad for w in
                                                            layer.trainable_weights]
    assert len(ours) == len(tf_grads)
    for mine, theirs in zip(ours, tf_grads, strict=True):
        assert_close(mine.numpy(), tf.convert_to_tensor(theirs).numpy(), tol)
    return out


def check_shapes_and_params(tf, layer, tf_layer, input_shape) -> None:
    """The output shape of a symbolic call (and of ``compute_output_shape``) and the
    parameter count are Keras's."""
    expected = tuple(tf_layer.compute_output_shape(input_shape))
    assert layer(keras.Input(batch_shape=input_shape)).shape == expected
    assert tuple(layer.compute_output_shape(input_shape)) == expected
    if not tf_layer.built:
        tf_layer.build(input_shape)
    assert layer.count_params() == tf_layer.count_params()


def _plain(value):
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    return value


def check_config(layer, tf_layer) -> None:
    """``from_config(get_config())`` round-trips; the config holds every constructor argument;
    the values agree with tf.keras's config of the same layer."""
    config = layer.get_config()
    clone = type(layer).from_config(config)
    assert clone.get_config() == config
    parameters = inspect.signature(type(layer).__init__).parameters
    arguments = [name for name, p in parameters.items() if name != "self"
                 and p.kind is not p.VAR_KEYWORD and name not in Layer._BASE_ARGUMENTS]
    assert set(arguments) <= set(config), set(arguments) - set(config)
    theirs = tf_layer.get_config()
    for key, value in config.items():
        if key in ("name", "dtype", "trainable"):
            continue
        expected = theirs[key]
        if isinstance(expected, dict):  # a serialized initializer
            assert value["class_name"] == expected["class_name"], key
            for name, setting in value["config"].items():
                assert expected["config"][name] == setting, (key, name)
        elif isinstance(expected, list) and isinstance(value, int):  # axis=-1 vs [-1]
            assert [value] == expected, key
        else:
            assert _plain(value) == _plain(expected), key
