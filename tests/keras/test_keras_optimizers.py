"""flowgrad.keras.optimizers: Keras 3's update rules (NumPy formulas always, tf.keras when
installed) with weight decay, clipping and learning-rate changes; compiled == eager; the
Keras-style API (build, apply_gradients, iterations, configs, state dicts) and its errors."""

import copy

import numpy as np
import pytest

import flowgrad as fg
from flowgrad.errors import ShapeError
from flowgrad.keras import losses, optimizers

RNG = np.random.default_rng(2)
W0 = RNG.standard_normal((3, 4)).astype(np.float32)
B0 = RNG.standard_normal(4).astype(np.float32)
TARGET = RNG.standard_normal((3, 4)).astype(np.float32)
STEPS = 5



def gradients(w, b):
    """The gradients at (w, b) of a small non-quadratic bowl, so each step depends on the last."""
    return [2 * (w - TARGET) * (1 + np.abs(w)), 3 * b**2 - 1]


CASES = [
    ("SGD", {}),
    ("SGD", {"learning_rate": 0.05, "momentum": 0.9}),
    ("SGD", {"learning_rate": 0.05, "momentum": 0.8, "nesterov": True, "weight_decay": 0.1}),
    ("SGD", {"momentum": 0.5, "clipvalue": 0.4}),
    ("SGD", {"learning_rate": 0.05, "clipnorm": 2.0}),  # clips w's gradient, not b's
    ("Adam", {"learning_rate": 0.01}),
    ("Adam", {"learning_rate": 0.02, "beta_1": 0.8, "beta_2": 0.9, "epsilon": 1e-3,
              "amsgrad": True, "clipnorm": 0.5}),
    ("Adam", {"learning_rate": 0.01, "weight_decay": 0.2, "global_clipnorm": 1.0}),
    ("AdamW", {"learning_rate": 0.01}),
    ("AdamW", {"learning_rate": 0.01, "weight_decay": 0.05, "amsgrad": True, "clipvalue": 0.5}),
    ("RMSprop", {"learning_rate": 0.01}),
    ("RMSprop", {"learning_rate": 0.05, "epsilon": 0.5}),
    ("RMSprop", {"learning_rate": 0.01, "rho": 0.8, "momentum": 0.9, "centered": True,
                 "weight_decay": 0.05}),
    ("RMSprop", {"learning_rate": 0.02, "centered": True, "epsilon": 1e-3,
                 "global_clipnorm": 0.7}),
]
IDS = [f"{name}-{'-'.join(f'{k}={v}' for k, v in options.items())}" for name, options in CASES]


def run_flowgrad(name, options, steps=STEPS):
    """Steps of a flowgrad keras optimizer; the learning rate halves after step 3."""
    w, b = fg.tensor(W0.copy(), requires_grad=True), fg.tensor(B0.copy(), requires_grad=True)
    optimizer = getattr(optimizers, name)(**options)
    for step in range(steps):
        grads = gradients(w.detach().numpy(), b.detach().numpy())
        optimizer.apply_gradients(zip(grads, [w, b], strict=True))
        if step == 2:
            optimizer.learning_rate = optimizer.learning_rate * 0.5
    return [w.detach().numpy(), b.detach().numpy()], optimizer


# -- a NumPy reference of Keras's arithmetic ---------------------------------------------------


DEFAULTS = {
    "SGD": {"learning_rate": 0.01, "momentum": 0.0, "nesterov": False},
    "Adam": {"learning_rate": 0.001, "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7,
             "amsgrad": False},
    "AdamW": {"learning_rate": 0.001, "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7,
              "amsgrad": False, "weight_decay": 0.004},
    "RMSprop": {"learning_rate": 0.001, "rho": 0.9, "momentum": 0.0, "epsilon": 1e-7,
                "centered": False},
}


def clip_reference(grads, config):
    if config.get("clipnorm"):
        c = config["clipnorm"]
        return [g * c / max(np.sqrt((g**2).sum()), c) for g in grads]
    if config.get("global_clipnorm"):
        c = config["global_clipnorm"]
        norm = np.sqrt(sum((g**2).sum() for g in grads))
        return [g * c / max(norm, c) for g in grads]
    if config.get("clipvalue"):
        return [np.clip(g, -config["clipvalue"], config["clipvalue"]) for g in grads]
    return grads


def update_reference(name, c, p, g, s, t, lr):
    """One Keras update of p (in place) from g with state s at step t."""
    if name == "SGD":
        if not c["momentum"]:
            p -= lr * g
            return
        s["m"] = c["momentum"] * s.get("m", 0) - lr * g
        p += c["momentum"] * s["m"] - lr * g if c["nesterov"] else s["m"]
    elif name in ("Adam", "AdamW"):
        s["m"] = s.get("m", 0) + (g - s.get("m", 0)) * (1 - c["beta_1"])
        s["v"] = s.get("v", 0) + (g**2 - s.get("v", 0)) * (1 - c["beta_2"])
        v = s["v"]
        if c["amsgrad"]:
            v = s["vhat"] = np.maximum(s.get("vhat", 0), s["v"])
        alpha = lr * np.sqrt(1 - c["beta_2"] ** t) / (1 - c["beta_1"] ** t)
        p -= alpha * s["m"] / (np.sqrt(v) + c["epsilon"])
    else:
        s["v"] = c["rho"] * s.get("v", 0) + (1 - c["rho"]) * g**2
        denominator = s["v"] + c["epsilon"]
        if c["centered"]:
            s["a"] = c["rho"] * s.get("a", 0) + (1 - c["rho"]) * g
            denominator = denominator - s["a"] ** 2
        increment = lr * g / np.sqrt(denominator)
        if c["momentum"]:
            s["mom"] = c["momentum"] * s.get("mom", 0) + increment
            increment = s["mom"]
        p -= increment


def run_reference(name, options, steps=STEPS):
    config = {**DEFAULTS[name], **options}
    params = [W0.astype(np.float64), B0.astype(np.float64)]
    states = [{}, {}]
    lr = config["learning_rate"]
    for step in range(1, steps + 1):
        grads = clip_reference(gradients(*params), config)
        for p, g, s in zip(params, grads, states, strict=True):
            if config.get("weight_decay"):
                p -= p * config["weight_decay"] * lr
            update_reference(name, config, p, g, s, step, lr)
        if step == 3:
            lr *= 0.5
    return params


@pytest.mark.parametrize(("name", "options"), CASES, ids=IDS)
def test_trajectories_match_the_numpy_formulas(name, options):
    got, optimizer = run_flowgrad(name, options)
    for ours, expected in zip(got, run_reference(name, options), strict=True):
        np.testing.assert_allclose(ours, expected, rtol=1e-5, atol=1e-6)
        assert np.abs(expected - (W0 if expected.ndim == 2 else B0)).max() > 1e-3  # it moved
    assert optimizer.iterations == STEPS


@pytest.mark.parametrize(("name", "options"), CASES, ids=IDS)
def test_trajectories_match_tf_keras(tf, name, options):
    variables = [tf.Variable(W0), tf.Variable(B0)]
    theirs = getattr(tf.keras.optimizers, name)(**options)
    for step in range(STEPS):
        grads = gradients(*(v.numpy() for v in variables))
        theirs.apply_gradients(zip([tf.constant(g) for g in grads], variables, strict=True))
        if step == 2:
            theirs.learning_rate = float(theirs.learning_rate.numpy()) * 0.5
    got, ours = run_flowgrad(name, options)
    for mine, variable in zip(got, variables, strict=True):
        np.testing.assert_allclose(mine, variable.numpy(), rtol=1e-5, atol=1e-6)
    assert ours.iterations == int(theirs.iterations.numpy())
    config, their_config = ours.get_config(), theirs.get_config()
    for key, value in config.items():
        if key != "name":
            assert their_config[key] == (value if value is None else pytest.approx(value)), key


@pytest.mark.parametrize(("name", "options"), [CASES[2], CASES[7], CASES[12]],
                         ids=[IDS[2], IDS[7], IDS[12]])
def test_a_compiled_training_step_gives_the_eager_numbers(name, options):
    fg.manual_seed(0)
    model = fg.nn.Sequential(fg.nn.Linear(4, 8), fg.nn.Tanh(), fg.nn.Linear(8, 3))
    x = fg.tensor(RNG.standard_normal((10, 4)).astype(np.float32))
    y = fg.tensor(RNG.integers(0, 3, 10))
    loss_fn = losses.SparseCategoricalCrossentropy(from_logits=True)
    runs = []
    for compiled in (False, True):
        copied = copy.deepcopy(model)
        optimizer = getattr(optimizers, name)(**options)
        optimizer.build(copied.parameters())
        calls = []

        def step(x, y, copied=copied, optimizer=optimizer, calls=calls):
            calls.append(1)
            optimizer.zero_grad()
            loss = loss_fn(y, copied(x))
            loss.backward()
            optimizer.step()
            return loss

        run = fg.compile(step) if compiled else step
        values = []
        for index in range(6):
            values.append(run(x, y).item())
            if index == 2:
                optimizer.learning_rate = optimizer.learning_rate / 4
        runs.append((values, copied, optimizer, len(calls)))
    (eager, eager_model, _, _), (values, model_c, optimizer_c, calls) = runs
    np.testing.assert_allclose(values, eager, rtol=1e-5)
    for p_eager, p in zip(eager_model.parameters(), model_c.parameters(), strict=True):
        np.testing.assert_allclose(p.detach().numpy(), p_eager.detach().numpy(), rtol=1e-5,
                                   atol=1e-6)
    assert calls == 2  # one eager call and one trace: the new learning rate was fed, not traced
    assert optimizer_c.iterations == 6
    assert optimizer_c.learning_rate == pytest.approx(options["learning_rate"] / 4)


def test_build_step_and_the_keras_api():
    w = fg.tensor(W0.copy(), requires_grad=True)
    b = fg.tensor(B0.copy(), requires_grad=True)
    optimizer = optimizers.Adam(learning_rate=0.1)
    assert not optimizer.built and optimizer.iterations == 0 and optimizer.variables == []
    optimizer.build([w, b])
    optimizer.build([w, b])  # building again on the same parameters is a no-op
    assert optimizer.flowgrad_optimizer.param_groups[0]["params"] == [w, b]
    ((w - fg.tensor(TARGET)).square().sum() + b.square().sum()).backward()
    optimizer.step()
    assert optimizer.iterations == 1 and len(optimizer.variables) == 6  # step, m, v for each
    before = b.detach().numpy().copy()
    optimizer.apply_gradients([(np.ones((3, 4)), w), (None, b)])  # None: b is skipped
    np.testing.assert_array_equal(b.detach().numpy(), before)
    assert optimizer.apply([np.ones((3, 4)), np.ones(4)]) == 3  # Keras 3's apply()
    optimizer.zero_grad()
    assert w.grad is None
    optimizer.learning_rate = 0.25
    assert optimizer.flowgrad_optimizer.param_groups[0]["lr"] == 0.25
    assert optimizer.get_config()["learning_rate"] == 0.25


def test_exclude_from_weight_decay():
    w = fg.tensor(W0.copy(), requires_grad=True)
    b = fg.tensor(B0.copy(), requires_grad=True)
    optimizer = optimizers.AdamW(learning_rate=0.1, weight_decay=0.5)
    optimizer.exclude_from_weight_decay(var_list=[b])
    optimizer.apply_gradients([(np.zeros((3, 4)), w), (np.zeros(4), b)])
    np.testing.assert_allclose(w.detach().numpy(), W0 * (1 - 0.05), rtol=1e-6)
    np.testing.assert_array_equal(b.detach().numpy(), B0)  # zero gradients, no decay
    with pytest.raises(ValueError, match="before build"):
        optimizer.exclude_from_weight_decay(var_list=[w])


def test_state_dict_round_trip_continues_the_same_trajectory():
    trained, optimizer = run_flowgrad("Adam", {"learning_rate": 0.05}, steps=3)
    state = optimizer.state_dict()
    params = [fg.tensor(p.copy(), requires_grad=True) for p in trained]
    restored = optimizers.Adam(learning_rate=0.05)
    restored.load_state_dict(state)  # before build: kept until build
    restored.build(params)
    assert restored.iterations == 3 and restored.learning_rate == pytest.approx(0.025)
    originals = optimizer.flowgrad_optimizer.param_groups[0]["params"]
    for _ in range(2):
        for group in (originals, params):
            grads = gradients(*(p.detach().numpy() for p in group))
            (optimizer if group is originals else restored).apply_gradients(
                zip(grads, group, strict=True))
    for a, b in zip(originals, params, strict=True):
        np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())
    assert optimizers.SGD().state_dict() == {"state": {}, "param_groups": []}


def test_get_serialize_and_configs():
    for name in ("sgd", "ADAM", "AdamW", "rmsprop"):
        assert type(optimizers.get(name)).__name__.lower() == name.lower()
    assert optimizers.get("adam").get_config() == {
        "name": "adam", "learning_rate": 0.001, "weight_decay": None, "clipnorm": None,
        "clipvalue": None, "global_clipnorm": None, "beta_1": 0.9, "beta_2": 0.999,
        "epsilon": 1e-7, "amsgrad": False}
    assert optimizers.get("adamw").get_config()["weight_decay"] == 0.004
    sgd = optimizers.SGD(learning_rate=0.3, momentum=0.9, nesterov=True, clipnorm=1.0)
    assert optimizers.get(sgd) is sgd
    restored = optimizers.deserialize(optimizers.serialize(sgd))
    assert type(restored) is optimizers.SGD and restored.get_config() == sgd.get_config()
    rms = optimizers.RMSprop.from_config(optimizers.RMSprop(rho=0.5, centered=True).get_config())
    assert rms.get_config()["rho"] == 0.5 and rms.get_config()["centered"] is True


def test_bad_arguments_raise():
    with pytest.raises(ValueError, match=r"Unknown optimizer 'adamax'.*adam, adamw, rmsprop, sgd"):
        optimizers.get("adamax")
    with pytest.raises(TypeError, match="Could not interpret an optimizer"):
        optimizers.get(3)
    with pytest.raises(ValueError, match="only one of clipnorm, clipvalue and global_clipnorm"):
        optimizers.Adam(clipnorm=1.0, clipvalue=0.5)
    with pytest.raises(TypeError, match=r"learning_rate must be a number.*LearningRateScheduler"):
        optimizers.SGD(learning_rate=lambda step: 0.1)
    with pytest.raises(ValueError, match=r"momentum must be in \[0, 1.0\], got 1.5"):
        optimizers.SGD(momentum=1.5)
    with pytest.raises(ValueError, match="learning_rate must be >= 0"):
        optimizers.Adam().learning_rate = -1.0
    w = fg.tensor(W0.copy(), requires_grad=True)
    optimizer = optimizers.SGD()
    with pytest.raises(ValueError, match="build"):
        optimizer.step()
    optimizer.build([w])
    with pytest.raises(ShapeError, match=r"SGDRule: a parameter of shape \(3, 4\) got a "
                                         r"gradient of shape \(4,\)"):
        optimizer.apply_gradients([(np.ones(4), w)])
    other = fg.tensor(B0.copy(), requires_grad=True)
    with pytest.raises(ValueError, match="not built with"):
        optimizer.apply_gradients([(np.ones(4), other)])
    with pytest.raises(ValueError, match="already built on 1 parameters"):
        optimizer.build([w, other])
