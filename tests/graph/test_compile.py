"""fg.compile: traced eager code gives the eager numbers, shares state, retraces as it should."""

import copy
import warnings

import numpy as np
import pytest

import flowgrad as fg
from flowgrad import nn
from flowgrad.errors import TracingError

RNG = np.random.default_rng(0)
X = RNG.standard_normal((16, 8)).astype(np.float32)
Y = RNG.integers(0, 3, 16)


def test_first_call_is_eager_later_calls_run_the_graph():
    calls = []

    @fg.compile
    def affine(x, scale):
        calls.append(1)  # Python code runs when eager and when tracing, not when replaying
        return x * scale + 1

    assert affine(fg.tensor([1.0, 2.0]), 2.0).tolist() == [3.0, 5.0]
    assert affine(fg.tensor([3.0, 4.0]), 2.0).tolist() == [7.0, 9.0]  # traced
    assert affine(np.array([5.0, 6.0], np.float32), 2.0).tolist() == [11.0, 13.0]  # replayed
    assert len(calls) == 2
    assert "mul" in affine.source and "def run" in affine.source
    assert [n.op for n in affine.graph.nodes if n.op == "placeholder"] == ["placeholder"]
    assert "nodes before" in affine.explain()
    assert affine(fg.tensor([1.0, 1.0]), 3.0).tolist() == [4.0, 4.0]  # a new static value
    assert len(calls) == 3


def training_step(model, optimizer):
    """One step of cross-entropy training; its closure is how fg.compile finds the state."""
    def step(x, y):
        optimizer.zero_grad()
        loss = nn.functional.cross_entropy(model(x), y)
        loss.backward()
        optimizer.step()
        return loss

    return step


def train(model, optimizer, scheduler, steps, compiled):
    step = training_step(model, optimizer)
    run = fg.compile(step) if compiled else step
    losses = []
    for i in range(steps):
        fg.manual_seed(i)  # dropout draws the same masks in both runs
        losses.append(run(fg.tensor(X), fg.tensor(Y)).item())
        if scheduler is not None:
            scheduler.step()
    return losses


@pytest.mark.parametrize(("cls", "options"), [
    (fg.optim.SGD, {"lr": 0.1, "momentum": 0.9}),
    (fg.optim.Adam, {"lr": 0.01}),
    (fg.optim.AdamW, {"lr": 0.01, "weight_decay": 0.1}),
], ids=["SGD", "Adam", "AdamW"])
def test_a_training_step_compiles_to_the_eager_numbers(cls, options):
    fg.manual_seed(0)
    model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Dropout(0.2), nn.Linear(16, 3))
    results = []
    for compiled in (False, True):
        copied = copy.deepcopy(model)
        optimizer = cls(copied.parameters(), **options)
        scheduler = fg.optim.lr_scheduler.StepLR(optimizer, step_size=2, gamma=0.5)
        losses = train(copied, optimizer, scheduler, 6, compiled)
        results.append((losses, copied, optimizer))
    (eager_losses, eager_model, _), (losses, model_c, optimizer_c) = results
    np.testing.assert_allclose(losses, eager_losses, rtol=1e-5)
    for p_eager, p in zip(eager_model.parameters(), model_c.parameters(), strict=True):
        np.testing.assert_allclose(p.detach().numpy(), p_eager.detach().numpy(), rtol=1e-5,
                                   atol=1e-6)
        np.testing.assert_allclose(p.grad.numpy(), p_eager.grad.numpy(), rtol=1e-4, atol=1e-6)
    assert optimizer_c.param_groups[0]["lr"] == options["lr"] * 0.5**3  # not a graph value


def test_a_cnn_with_batch_norm_and_dropout_compiles_to_the_eager_numbers():
    fg.manual_seed(1)
    model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(),
                          nn.MaxPool2d(2), nn.Dropout(0.3), nn.Flatten(), nn.Linear(16, 3))
    images = RNG.standard_normal((6, 1, 4, 4)).astype(np.float32)
    labels = RNG.integers(0, 3, 6)
    runs = []
    for compiled in (False, True):
        copied = copy.deepcopy(model)
        step = training_step(copied, fg.optim.Adam(copied.parameters(), lr=0.01))
        run = fg.compile(step) if compiled else step
        losses = []
        for i in range(4):
            fg.manual_seed(10 + i)
            losses.append(run(fg.tensor(images), fg.tensor(labels)).item())
        runs.append((losses, copied))
    (eager_losses, eager_model), (losses, compiled_model) = runs
    np.testing.assert_allclose(losses, eager_losses, rtol=1e-5)
    eager_bn, compiled_bn = eager_model[1], compiled_model[1]
    np.testing.assert_allclose(compiled_bn.running_mean.numpy(), eager_bn.running_mean.numpy(),
                               rtol=1e-5)
    assert int(compiled_bn.num_batches_tracked) == 4


def test_a_compiled_module_shares_its_parameters():
    fg.manual_seed(0)
    layer = nn.Linear(8, 2)
    forward = fg.compile(layer)
    expected = layer(fg.tensor(X)).detach().numpy()
    forward(fg.tensor(X))
    np.testing.assert_allclose(forward(fg.tensor(X)).numpy(), expected, rtol=1e-6)
    with fg.no_grad():
        layer.weight.mul_(2.0)  # the graph reads the parameter's memory at every call
    np.testing.assert_allclose(forward(fg.tensor(X)).numpy(),
                               layer(fg.tensor(X)).detach().numpy(), rtol=1e-6)


def test_new_shapes_retrace_and_a_warning_names_the_changing_argument():
    @fg.compile
    def double(x):
        return x * 2

    double(np.ones(1, np.float32))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for n in range(2, 9):
            assert double(np.ones(n, np.float32)).shape == (n,)
    messages = [str(w.message) for w in caught]
    assert len(messages) == 1 and "argument 0" in messages[0] and "dynamic_batch" in messages[0]


def test_dynamic_batch_traces_once_for_every_batch_size():
    traced = []

    @fg.compile(dynamic_batch=True)
    def total(x):
        traced.append(1)
        return x.sum(dim=1)

    for n in (1, 2, 5, 3):
        assert total(np.ones((n, 4), np.float32)).tolist() == [4.0] * n
    assert len(traced) == 2  # the eager call, then one trace


def test_python_control_flow_on_a_traced_value_names_the_fix():
    @fg.compile
    def relu_sum(x):
        if x.sum() > 0:
            return x
        return -x

    relu_sum(fg.ones(2))
    with pytest.raises(TracingError, match=r"fg\.where \(or fg\.cond\).*test_compile\.py:\d+"):
        relu_sum(fg.ones(2))


def test_cond_selects_for_a_traced_value():
    @fg.compile
    def absolute(x):
        return fg.cond(x.sum() > 0, lambda: x, lambda: -x)

    assert absolute(fg.tensor([1.0, -2.0])).tolist() == [-1.0, 2.0]  # eager: one branch runs
    assert absolute(fg.tensor([3.0, 1.0])).tolist() == [3.0, 1.0]
    assert absolute(fg.tensor([-3.0, 1.0])).tolist() == [3.0, -1.0]


def test_a_tensor_that_escapes_the_trace_cannot_be_used():
    kept = []

    @fg.compile
    def leak(x):
        y = x * 2
        kept.append(y)
        return y

    leak(fg.ones(2))
    with pytest.warns(UserWarning, match="leak stored a traced tensor in a list"):
        leak(fg.ones(2))
    with pytest.raises(TracingError, match="escaped"):
        kept[-1] + 1


def test_unsupported_arguments_are_a_type_error():
    @fg.compile
    def ident(x, options):
        return x

    ident(fg.ones(1), None)
    with pytest.raises(TypeError, match=r"cannot pass a set to a compiled function"):
        ident(fg.ones(1), {1, 2})


def test_printing_inside_a_trace_warns_that_it_shows_no_value():
    @fg.compile
    def noisy(x):
        print(x)
        return x + 1

    noisy(fg.ones(1))
    with pytest.warns(UserWarning, match=r"printing a tensor inside the compiled function "
                                          r"noisy happens once, while tracing"):
        assert noisy(fg.ones(1)).tolist() == [2.0]


def test_state_named_by_default_arguments_is_found():
    fg.manual_seed(0)
    layer = nn.Linear(8, 1)
    twin = copy.deepcopy(layer)

    sgd = fg.optim.SGD(layer.parameters(), lr=0.1)

    def step(x, layer=layer, optimizer=sgd):
        optimizer.zero_grad()
        loss = (layer(x) ** 2).mean()
        loss.backward()
        optimizer.step()
        return loss

    compiled = fg.compile(step)
    twin_optimizer = fg.optim.SGD(twin.parameters(), lr=0.1)
    for _ in range(3):
        compiled(fg.tensor(X))
        twin_optimizer.zero_grad()
        (twin(fg.tensor(X)) ** 2).mean().backward()
        twin_optimizer.step()
    np.testing.assert_allclose(layer.weight.detach().numpy(), twin.weight.detach().numpy(),
                               rtol=1e-6)


def test_updates_through_data_are_kept():
    fg.manual_seed(0)
    layer = nn.Linear(8, 1)
    twin = copy.deepcopy(layer)

    def step(x):
        layer.zero_grad()
        loss = (layer(x) ** 2).mean()
        loss.backward()
        for param in layer.parameters():
            param.data -= 0.1 * param.grad  # old-style manual SGD
        return loss

    compiled = fg.compile(step)
    for _ in range(3):
        compiled(fg.tensor(X))
        twin.zero_grad()
        (twin(fg.tensor(X)) ** 2).mean().backward()
        for param in twin.parameters():
            param.data -= 0.1 * param.grad
    np.testing.assert_allclose(layer.weight.detach().numpy(), twin.weight.detach().numpy(),
                               rtol=1e-6)


def test_dropout_draws_a_new_mask_at_every_compiled_call():
    layer = nn.Dropout(0.5)

    @fg.compile
    def drop(x):
        return layer(x)

    ones = fg.ones(1000)
    masks = [drop(ones).numpy() for _ in range(4)]  # eager, traced, replayed, replayed
    assert all(set(np.unique(m)) == {0.0, 2.0} for m in masks)
    assert len({m.tobytes() for m in masks}) == 4


def test_other_arguments_retrace_and_a_wrong_count_is_pythons_error():
    @fg.compile
    def scale(x, factor=2.0):
        return x * factor

    assert scale(fg.ones(2)).tolist() == [2.0, 2.0]
    assert scale(fg.ones(2), 3.0).tolist() == [3.0, 3.0]  # a new static value: a new trace
    assert scale([fg.ones(1), fg.ones(1)][0], factor=4.0).tolist() == [4.0]
    with pytest.raises(TypeError, match="scale"):
        scale(fg.ones(2), 1.0, 2.0)


def test_nested_arguments_and_results_keep_their_structure():
    @fg.compile
    def stats(batch, *, weights):
        x, y = batch["x"], batch["y"]
        return {"total": (x * weights).sum(), "pair": (x + y, x - y), "note": "ok"}

    batch = {"x": np.arange(3, dtype=np.float32), "y": np.ones(3, np.float32)}
    for _ in range(3):  # eager, traced, replayed
        out = stats(batch, weights=fg.tensor([1.0, 2.0, 3.0]))
        assert out["total"].item() == 8.0 and out["note"] == "ok"
        assert [t.tolist() for t in out["pair"]] == [[1.0, 2.0, 3.0], [-1.0, 0.0, 1.0]]
        assert isinstance(out["pair"], tuple)


def test_a_method_of_a_trainer_object_finds_its_model_and_optimizer():
    class Trainer:
        def __init__(self, model):
            self.model = model
            self.optimizer = fg.optim.Adam(model.parameters(), lr=0.01)

        def step(self, x, y):
            self.optimizer.zero_grad()
            loss = nn.functional.cross_entropy(self.model(x), y)
            loss.backward()
            self.optimizer.step()
            return loss

    fg.manual_seed(0)
    model = nn.Sequential(nn.Linear(8, 3))
    eager, compiled = Trainer(copy.deepcopy(model)), Trainer(copy.deepcopy(model))
    step = fg.compile(compiled.step)
    for _ in range(3):
        expected = eager.step(fg.tensor(X), fg.tensor(Y)).item()
        assert step(fg.tensor(X), fg.tensor(Y)).item() == pytest.approx(expected, rel=1e-5)


def test_state_the_trace_cannot_find_is_named_in_the_error():
    hidden = {"optimizers": []}

    def make_step(model):
        def step(x):
            optimizer = hidden["optimizers"][0]  # found through a call: not visible
            optimizer.zero_grad()
            (model(x) ** 2).mean().backward()
            optimizer.step()
        return step

    model = nn.Linear(8, 1)
    hidden["optimizers"].append(fg.optim.SGD(model.parameters(), lr=0.1))
    lookup = make_step(model)
    del model  # only the closure holds it now, and the closure holds the module...
    compiled = fg.compile(lambda x: lookup(x))  # ...but this lambda reaches neither
    compiled(fg.tensor(X))
    with pytest.raises(fg.errors.GraphError, match=r"fg\.compile did not find it among the "
                                                   r"state the function uses"):
        compiled(fg.tensor(X))


def test_a_failed_trace_leaves_the_state_as_it_was():
    fg.manual_seed(0)
    model = nn.Linear(8, 1)
    optimizer = fg.optim.SGD(model.parameters(), lr=0.1)
    weights = [p.detach().numpy().copy() for p in model.parameters()]

    @fg.compile
    def broken(x):
        optimizer.zero_grad()
        loss = (model(x) ** 2).mean()
        loss.backward()
        if loss > 0:  # Python control flow on a traced value: the trace fails here
            optimizer.step()
        return loss

    broken(fg.tensor(X))  # eager: fine, and it replaced the gradients
    grads = [p.grad for p in model.parameters()]
    with pytest.raises(TracingError):
        broken(fg.tensor(X))
    for param, grad in zip(model.parameters(), grads, strict=True):
        assert param.grad is grad and type(param._data) is np.ndarray
    assert all(not np.array_equal(p.detach().numpy(), w)  # the eager call's step only
               for p, w in zip(model.parameters(), weights, strict=True))


@pytest.mark.parametrize("draw", [
    lambda: fg.randn(3), lambda: fg.rand(3), lambda: fg.randint(0, 100, (3,)).float(),
    lambda: fg.normal(2.0, 0.5, size=(3,)), lambda: fg.normal(fg.zeros(3), fg.ones(3)),
], ids=["randn", "rand", "randint", "normal", "normal-tensors"])
def test_random_draws_inside_a_compiled_function_are_new_at_every_call(draw):
    @fg.compile
    def noisy(x):
        return x + draw()

    fg.manual_seed(3)
    compiled = [noisy(fg.zeros(3)).numpy() for _ in range(4)]  # eager, traced, replayed...
    fg.manual_seed(3)
    eager = [(fg.zeros(3) + draw()).numpy() for _ in range(4)]
    np.testing.assert_allclose(compiled, eager, rtol=1e-6)  # the same draws, in order
    assert len({c.tobytes() for c in compiled}) == 4  # never one baked constant


def test_a_compiled_function_called_by_another_is_inlined_in_its_trace():
    @fg.compile
    def inner(x):
        return x * 2

    @fg.compile
    def outer(x):
        return inner(x) + 1

    for value in (1.0, 2.0, 3.0, 4.0):  # eager, traced (inner inlined), replayed
        assert outer(fg.tensor([value])).tolist() == [value * 2 + 1]
    assert inner(fg.tensor([5.0])).tolist() == [10.0]  # and it still works on its own
