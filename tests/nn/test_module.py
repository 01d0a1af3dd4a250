"""Module: registration, traversal, state dicts, modes, conversions, hooks, repr."""

import copy
import pickle

import numpy as np
import pytest

import flowgrad as fg
from flowgrad.errors import ShapeError
from flowgrad.nn import Module, Parameter


class Scale(Module):
    def __init__(self, size: int = 3) -> None:
        super().__init__()
        self.weight = Parameter(fg.ones(size))
        self.register_buffer("calls", fg.zeros(1))
        self.register_buffer("scratch", fg.zeros(2), persistent=False)

    def forward(self, x):
        with fg.no_grad():
            self.calls += 1
        return x * self.weight

    def extra_repr(self) -> str:
        return f"size={self.weight.shape[0]}"


class Net(Module):
    def __init__(self) -> None:
        super().__init__()
        self.first = Scale()
        self.second = Scale()
        self.bias = Parameter(fg.zeros(3))

    def forward(self, x):
        return self.second(self.first(x)) + self.bias


def test_parameters_buffers_and_submodules_are_registered_by_assignment():
    net = Net()
    assert [name for name, _ in net.named_parameters()] == [
        "bias", "first.weight", "second.weight"]
    assert [name for name, _ in net.named_buffers()] == [
        "first.calls", "first.scratch", "second.calls", "second.scratch"]
    assert [name for name, _ in net.named_children()] == ["first", "second"]
    assert [name for name, _ in net.named_modules()] == ["", "first", "second"]
    assert all(isinstance(p, Parameter) and p.requires_grad for p in net.parameters())
    assert len(list(net.parameters(recurse=False))) == 1


def test_plain_attributes_and_reassignment():
    m = Scale()
    m.note = "plain"
    assert m.note == "plain" and "note" not in m._parameters
    m.weight = Parameter(fg.zeros(3))
    assert m.weight.tolist() == [0.0, 0.0, 0.0]
    with pytest.raises(TypeError, match=r"expected fg\.nn\.Parameter"):
        m.weight = fg.zeros(3)
    m.weight = None
    assert list(m.parameters()) == []
    m.calls = fg.ones(1)  # a registered buffer takes a plain tensor
    assert m.state_dict()["calls"].tolist() == [1.0]
    with pytest.raises(TypeError, match="buffer"):
        m.calls = 5


def test_assigning_before_init_is_a_clear_error():
    class Broken(Module):
        def __init__(self):
            self.weight = Parameter(fg.ones(1))

    with pytest.raises(AttributeError, match=r"super\(\).__init__\(\)"):
        Broken()


def test_tied_parameters_appear_once():
    net = Net()
    net.second.weight = net.first.weight
    assert [name for name, _ in net.named_parameters()] == ["bias", "first.weight"]
    assert "second.weight" in net.state_dict()  # both names are kept in the state dict


def test_forward_backward_through_modules():
    net = Net()
    x = fg.tensor([1.0, 2.0, 3.0])
    net(x).sum().backward()
    np.testing.assert_allclose(net.first.weight.grad.numpy(), [1.0, 2.0, 3.0])
    np.testing.assert_allclose(net.bias.grad.numpy(), [1.0, 1.0, 1.0])
    assert net.first.calls.tolist() == [1.0]
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())
    net(x).sum().backward()
    net.zero_grad(set_to_none=False)
    assert all(p.grad is not None and not p.grad.numpy().any() for p in net.parameters())


def test_state_dict_shares_memory_and_skips_non_persistent_buffers():
    net = Net()
    state = net.state_dict()
    assert list(state) == ["bias", "first.weight", "first.calls", "second.weight",
                           "second.calls"]
    assert not state["bias"].requires_grad
    state["bias"][0] = 7.0  # detached, but the same memory
    assert net.bias.tolist()[0] == 7.0


def test_load_state_dict_round_trip():
    source, target = Net(), Net()
    with fg.no_grad():
        source.first.weight.mul_(3)
        source.bias.add_(1)
    target.load_state_dict(source.state_dict())
    for (name, a), (_, b) in zip(source.state_dict().items(), target.state_dict().items(),
                                 strict=True):
        np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=name)
    assert target.first.weight._data is not source.first.weight._data


def test_load_state_dict_errors_change_nothing():
    net = Net()
    before = {k: v.numpy().copy() for k, v in net.state_dict().items()}
    good = {k: v * 0 + 5 for k, v in Net().state_dict().items()}

    missing = dict(good)
    del missing["bias"]
    with pytest.raises(RuntimeError, match=r"missing keys: bias.*Nothing was loaded"):
        net.load_state_dict(missing)

    unexpected = dict(good, extra=fg.ones(1))
    with pytest.raises(RuntimeError, match="unexpected keys: extra"):
        net.load_state_dict(unexpected)

    misshaped = dict(good, bias=fg.ones(4))
    with pytest.raises(ShapeError, match=r"size mismatch for bias.*\(4,\).*\(3,\)"):
        net.load_state_dict(misshaped)

    for key, value in net.state_dict().items():
        np.testing.assert_array_equal(value.numpy(), before[key], err_msg=key)


def test_load_state_dict_not_strict_reports_keys():
    net = Net()
    result = net.load_state_dict({"bias": fg.ones(3), "other": fg.ones(1)}, strict=False)
    assert result.unexpected_keys == ["other"]
    assert "first.weight" in result.missing_keys
    assert net.bias.tolist() == [1.0, 1.0, 1.0]


def test_train_eval_apply_and_requires_grad():
    net = Net()
    assert net.training and net.first.training
    net.eval()
    assert not net.training and not net.second.training
    net.train()
    assert net.second.training
    seen = []
    net.apply(lambda m: seen.append(type(m).__name__))
    assert seen == ["Scale", "Scale", "Net"]
    net.requires_grad_(False)
    assert not any(p.requires_grad for p in net.parameters())


def test_to_dtype_converts_floating_parameters_and_buffers():
    net = Net().to(fg.float64)
    assert all(p.dtype is fg.float64 for p in net.parameters())
    assert all(b.dtype is fg.float64 for b in net.buffers())
    out = net(fg.ones(3, dtype=fg.float64))
    assert out.dtype is fg.float64
    assert net.float().bias.dtype is fg.float32
    with pytest.raises(TypeError, match="floating-point"):
        net.to(fg.int32)


def test_forward_hooks_and_removal():
    net = Net()
    calls = []
    handle = net.first.register_forward_hook(lambda m, args, out: out * 0)
    pre = net.register_forward_pre_hook(lambda m, args: calls.append(len(args)))
    assert net(fg.ones(3)).tolist() == [0.0, 0.0, 0.0]
    assert calls == [1]
    handle.remove()
    pre.remove()
    assert net(fg.ones(3)).tolist() == [1.0, 1.0, 1.0]


def test_repr_is_nested_like_pytorch():
    assert repr(Net()) == (
        "Net(\n  (first): Scale(size=3)\n  (second): Scale(size=3)\n)"
    )


def test_get_submodule_and_parameter():
    net = Net()
    assert net.get_submodule("first") is net.first
    assert net.get_parameter("second.weight") is net.second.weight
    with pytest.raises(AttributeError, match="no submodule 'third'"):
        net.get_submodule("third")


def test_deepcopy_and_pickle_keep_parameters_registered():
    net = Net()
    for clone in (copy.deepcopy(net), pickle.loads(pickle.dumps(net))):
        assert [n for n, _ in clone.named_parameters()] == [n for n, _ in net.named_parameters()]
        assert all(isinstance(p, Parameter) for p in clone.parameters())
        assert clone.first.weight._data is not net.first.weight._data


def test_missing_forward_is_a_clear_error():
    with pytest.raises(NotImplementedError, match="Module has no forward"):
        Module()(fg.ones(1))
