"""The Optimizer base class: parameter groups, state, step/closure, zero_grad, state_dict."""

import numpy as np
import pytest

import flowgrad as fg
import flowgrad.optim as optim
from flowgrad.errors import ShapeError


def leaf(values):
    return fg.tensor(values, requires_grad=True)


def with_grad(values, grad):
    p = leaf(values)
    p.grad = fg.tensor(grad)
    return p


def test_fg_optim_names():
    import flowgrad

    assert flowgrad.optim is optim
    for name in ["Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "Adagrad"]:
        assert isinstance(getattr(optim, name), type)
    assert optim.lr_scheduler.StepLR.__name__ == "StepLR"


def test_accepts_any_iterable_of_tensors():
    a, b = leaf([1.0]), leaf([2.0])
    opt = optim.SGD((p for p in [a, b]), lr=0.1)
    assert len(opt.param_groups) == 1
    assert [id(p) for p in opt.param_groups[0]["params"]] == [id(a), id(b)]
    assert opt.param_groups[0]["lr"] == 0.1 and opt.param_groups[0]["momentum"] == 0.0


def test_param_groups_override_defaults():
    a, b = leaf([1.0]), leaf([2.0])
    opt = optim.SGD([{"params": [a]}, {"params": b, "lr": 0.5, "momentum": 0.9}], lr=0.1)
    assert [g["lr"] for g in opt.param_groups] == [0.1, 0.5]
    assert [g["momentum"] for g in opt.param_groups] == [0.0, 0.9]
    assert opt.param_groups[1]["params"][0] is b  # a lone tensor becomes a list
    assert opt.defaults["lr"] == 0.1


@pytest.mark.parametrize(
    ("make", "error", "words"),
    [
        (lambda p: optim.SGD([], lr=0.1), ValueError, "empty parameter list"),
        (lambda p: optim.SGD(p, lr=0.1), TypeError, "single Tensor"),
        (lambda p: optim.SGD({p}, lr=0.1), TypeError, "not a set"),
        (lambda p: optim.SGD([p, p], lr=0.1), ValueError, "twice"),
        (lambda p: optim.SGD([p, 3.0], lr=0.1), TypeError, "float, not a tensor"),
        (lambda p: optim.SGD([p * 2], lr=0.1), ValueError, "not a leaf"),
        (lambda p: optim.SGD([fg.tensor([1, 2])], lr=0.1), TypeError, "floating-point"),
        (lambda p: optim.SGD([p], lr=-0.1), ValueError, "lr must be >= 0, got -0.1"),
        (lambda p: optim.SGD([p], momentum=-1), ValueError, "momentum must be >= 0"),
        (lambda p: optim.SGD([p], weight_decay=-1), ValueError, "weight_decay"),
        (lambda p: optim.SGD([p], nesterov=True), ValueError, "Nesterov"),
        (lambda p: optim.SGD([p], momentum=0.9, dampening=0.1, nesterov=True), ValueError,
         "Nesterov"),
        (lambda p: optim.Adam([p], betas=(0.9, 1.0)), ValueError, "betas"),
        (lambda p: optim.Adam([p], eps=-1e-8), ValueError, "eps"),
        (lambda p: optim.RMSprop([p], alpha=-0.5), ValueError, "alpha"),
        (lambda p: optim.Adagrad([p], lr_decay=-1), ValueError, "lr_decay"),
        (lambda p: optim.Adagrad([p], initial_accumulator_value=-1), ValueError,
         "initial_accumulator_value"),
        (lambda p: optim.SGD([{"params": [p], "lr": -1}], lr=0.1), ValueError,
         "parameter group 0"),
        (lambda p: optim.SGD([{"lr": 1}], lr=0.1), ValueError, "'params'"),
    ],
)
def test_bad_arguments_raise_clear_errors(make, error, words):
    p = leaf([1.0, 2.0])
    with pytest.raises(error, match=words):
        make(p)


def test_add_param_group():
    a, b, c = leaf([1.0]), leaf([2.0]), leaf([3.0])
    opt = optim.Adam([a], lr=0.1)
    opt.add_param_group({"params": [b], "lr": 0.01})
    assert opt.param_groups[1]["lr"] == 0.01
    assert opt.param_groups[1]["betas"] == (0.9, 0.999)  # from the defaults
    with pytest.raises(ValueError, match="already in parameter group 0"):
        opt.add_param_group({"params": [c, a]})
    with pytest.raises(ValueError, match="lr must be >= 0"):
        opt.add_param_group({"params": [c], "lr": -1.0})
    assert len(opt.param_groups) == 2  # the failed additions changed nothing
    opt.add_param_group({"params": [c]})
    assert len(opt.param_groups) == 3


def test_step_skips_parameters_without_grad_and_keeps_no_state_for_them():
    a = with_grad([1.0, 2.0], [1.0, 1.0])
    b = leaf([5.0])
    opt = optim.Adam([a, b], lr=0.1)
    opt.step()
    assert b.tolist() == [5.0]
    assert b not in opt.state
    assert opt.state[a]["step"].item() == 1.0
    assert set(opt.state_dict()["state"]) == {0}


def test_step_does_not_record_and_keeps_leaves():
    w = leaf([1.0, 2.0])
    (w * w).sum().backward()
    opt = optim.SGD([w], lr=0.1, momentum=0.9)
    opt.step()
    assert w.is_leaf and w.requires_grad and w.grad_fn is None
    assert not opt.state[w]["momentum_buffer"].requires_grad


def test_step_keeps_the_parameter_object_and_memory():
    w = with_grad([1.0, 2.0], [1.0, 1.0])
    memory = w._data
    optim.Adam([w], lr=0.1).step()
    assert w._data is memory


def test_grad_of_the_wrong_shape_is_an_error():
    w = leaf([1.0, 2.0])
    w.grad = fg.tensor([1.0])
    with pytest.raises(ShapeError, match=r"shape \(2,\) has a .grad of shape \(1,\)"):
        optim.SGD([w], lr=0.1).step()


def test_closure_is_evaluated_with_grad_and_its_loss_returned():
    w = leaf([1.0, -2.0])
    opt = optim.SGD([w], lr=0.1)

    def closure():
        opt.zero_grad()
        loss = (w * w).sum()
        loss.backward()
        return loss

    with fg.no_grad():  # the closure records even when the caller does not
        loss = opt.step(closure)
    assert loss.item() == 5.0
    np.testing.assert_allclose(w.detach().numpy(), [0.8, -1.6], rtol=1e-6)


def test_zero_grad():
    w = with_grad([1.0, 2.0], [3.0, 4.0])
    opt = optim.SGD([w], lr=0.1)
    grad = w.grad
    opt.zero_grad(set_to_none=False)
    assert w.grad is grad and w.grad.tolist() == [0.0, 0.0]
    opt.zero_grad()
    assert w.grad is None
    opt.zero_grad()  # nothing to clear is fine


def test_maximize_is_minimizing_the_negation():
    up = with_grad([1.0, 2.0], [0.5, -1.0])
    down = with_grad([1.0, 2.0], [-0.5, 1.0])
    optim.Adam([up], lr=0.1, maximize=True).step()
    optim.Adam([down], lr=0.1).step()
    assert up.tolist() == down.tolist()
    assert up.grad.tolist() == [0.5, -1.0]  # .grad itself is not changed


def test_repr_lists_the_groups():
    text = repr(optim.SGD([leaf([1.0])], lr=0.1))
    assert text.startswith("SGD (\nParameter Group 0\n")
    assert "    lr: 0.1\n" in text and "    momentum: 0.0\n" in text


def make_adam_pair():
    a, b = leaf([1.0, 2.0]), leaf([[3.0], [4.0]])
    opt = optim.Adam([{"params": [a]}, {"params": [b], "lr": 0.01}], lr=0.1, amsgrad=True)
    return opt, a, b


def train(opt, params, steps):
    for step in range(steps):
        for i, p in enumerate(params):
            p.grad = fg.ones(*p.shape) * (0.5 + step + i)
        opt.step()


def test_state_dict_layout():
    opt, a, b = make_adam_pair()
    train(opt, [a, b], 2)
    sd = opt.state_dict()
    assert set(sd) == {"state", "param_groups"}
    assert [g["params"] for g in sd["param_groups"]] == [[0], [1]]
    assert sd["param_groups"][1]["lr"] == 0.01 and sd["param_groups"][0]["amsgrad"] is True
    assert set(sd["state"]) == {0, 1}
    state = sd["state"][1]
    assert set(state) == {"step", "exp_avg", "exp_avg_sq", "max_exp_avg_sq"}
    assert isinstance(state["exp_avg"], fg.Tensor) and state["exp_avg"].shape == (2, 1)
    assert state["step"].item() == 2.0


def test_load_state_dict_resumes_exactly():
    opt, a, b = make_adam_pair()
    train(opt, [a, b], 2)
    sd = opt.state_dict()
    saved = [a.detach().clone(), b.detach().clone()]

    resumed, a2, b2 = make_adam_pair()
    with fg.no_grad():
        a2.copy_(saved[0])
        b2.copy_(saved[1])
    resumed.load_state_dict(sd)
    # the loaded state is a copy: stepping either optimizer leaves the other's state alone
    assert resumed.state[a2]["exp_avg"]._data is not opt.state[a]["exp_avg"]._data
    train(opt, [a, b], 3)
    train(resumed, [a2, b2], 3)
    assert a2.tolist() == a.tolist() and b2.tolist() == b.tolist()
    assert resumed.state[b2]["step"].item() == 5.0


def test_load_state_dict_takes_the_saved_hyperparameters():
    opt, _, _ = make_adam_pair()
    sd = opt.state_dict()
    sd["param_groups"][0]["lr"] = 0.5
    sd["param_groups"][0]["initial_lr"] = 0.5
    other, a2, _ = make_adam_pair()
    other.load_state_dict(sd)
    assert other.param_groups[0]["lr"] == 0.5 and other.param_groups[0]["initial_lr"] == 0.5
    assert other.param_groups[0]["params"][0] is a2


def test_load_state_dict_casts_state_to_the_parameter_dtype():
    w = with_grad([1.0, 2.0], [1.0, 1.0])
    opt = optim.SGD([w], lr=0.1, momentum=0.9)
    opt.step()
    sd = opt.state_dict()
    sd["state"][0]["momentum_buffer"] = sd["state"][0]["momentum_buffer"].double()
    opt.load_state_dict(sd)
    assert opt.state[w]["momentum_buffer"].dtype == fg.float32


@pytest.mark.parametrize(
    ("corrupt", "words"),
    [
        (lambda sd: sd["param_groups"].pop(), "1 parameter groups but the optimizer has 2"),
        (lambda sd: sd["param_groups"][1]["params"].append(7), "group 1 has 2 parameters"),
        (lambda sd: sd["state"].__setitem__(9, {}), "parameter 9"),
        (lambda sd: sd["state"][1].__setitem__("exp_avg", fg.zeros(3)), r"shape \(3,\)"),
        (lambda sd: sd["param_groups"][0].__setitem__("lr", -1.0), "lr must be >= 0"),
        (lambda sd: sd.pop("state"), "'state' and 'param_groups'"),
    ],
)
def test_load_state_dict_mismatch_raises_and_changes_nothing(corrupt, words):
    source, a, b = make_adam_pair()
    train(source, [a, b], 1)
    sd = source.state_dict()
    sd = {"state": {k: dict(v) for k, v in sd["state"].items()},
          "param_groups": [dict(g, params=list(g["params"])) for g in sd["param_groups"]]}
    corrupt(sd)
    target, a2, b2 = make_adam_pair()
    train(target, [a2, b2], 2)
    before_groups = [dict(g) for g in target.param_groups]
    before_state = {p: {k: (v.tolist() if isinstance(v, fg.Tensor) else v) for k, v in s.items()}
                    for p, s in target.state.items()}
    with pytest.raises(ValueError, match=words):
        target.load_state_dict(sd)
    assert target.param_groups == before_groups
    after_state = {p: {k: (v.tolist() if isinstance(v, fg.Tensor) else v) for k, v in s.items()}
                   for p, s in target.state.items()}
    assert after_state == before_state


def test_a_subclass_defines_only_state_and_update():
    class SignSGD(optim.Optimizer):
        def __init__(self, params, lr=0.1):
            super().__init__(params, {"lr": lr})

        def init_state(self, param, group):
            return {"steps": fg.zeros(())}

        def update(self, param, grad, state, group):
            state["steps"] += 1
            param.sub_(fg.sign(grad), alpha=group["lr"])

    w = with_grad([1.0, -1.0], [3.0, -0.5])
    opt = SignSGD([w])
    opt.step()
    opt.step()
    np.testing.assert_allclose(w.detach().numpy(), [0.8, -0.8], rtol=1e-6)
    assert opt.state[w]["steps"].item() == 2.0


def test_optimizes_module_parameters():
    nn = pytest.importorskip("flowgrad.nn")
    if not hasattr(nn, "Linear"):
        pytest.skip("flowgrad.nn.Linear is not there yet")
    fg.manual_seed(0)
    model = nn.Linear(3, 1)
    opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.5)
    x = fg.randn(16, 3)
    y = x.sum(1, keepdim=True)
    losses = []
    for _ in range(30):
        opt.zero_grad()
        loss = ((model(x) - y) ** 2).mean()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert isinstance(model.weight, nn.Parameter) and model.weight.is_leaf
    assert opt.state[model.weight]["momentum_buffer"].shape == model.weight.shape
    assert losses[-1] < 1e-2 * losses[0]
