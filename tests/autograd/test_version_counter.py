"""The version counter: changing in place a value saved for backward is an error at backward,
never a wrong gradient; changing a value the gradient does not need is fine."""

import numpy as np
import pytest

import flowgrad as fg


def test_version_starts_at_zero_and_counts_inplace_writes():
    t = fg.zeros(2)
    assert t._version == 0
    t += 1
    t.mul_(2)
    t[0] = 5.0
    assert t._version == 3
    assert (t * 2)._version == 0  # a new tensor has its own counter


def test_modified_saved_output_raises_at_backward():
    x = fg.tensor([1.0, 2.0], requires_grad=True)
    y = x.exp()  # exp saves its output for the gradient
    y += 1
    with pytest.raises(RuntimeError) as info:
        y.sum().backward()
    message = str(info.value)
    assert "exp" in message and "modified by an in-place operation" in message
    assert "version 1" in message and "expected version 0" in message
    assert x.grad is None


def test_modified_saved_input_raises_at_backward():
    x = fg.tensor([1.0, 2.0], requires_grad=True)
    w = fg.tensor([3.0, 4.0], requires_grad=True)
    a = x * w  # mul saves both inputs
    with fg.no_grad():
        w += 1
    with pytest.raises(RuntimeError, match=r"mul.*input 1.*modified by an in-place"):
        a.sum().backward()


def test_modifying_through_data_is_detected():
    x = fg.tensor([1.0, 2.0], requires_grad=True)
    w = fg.tensor([3.0, 4.0], requires_grad=True)
    a = x * w
    w.data.mul_(2)
    with pytest.raises(RuntimeError, match="modified by an in-place operation"):
        a.sum().backward()
    b = x * w
    w.data = fg.tensor([0.0, 0.0])  # replacing the values counts as a change too
    with pytest.raises(RuntimeError, match="modified by an in-place operation"):
        b.sum().backward()


def test_modifying_through_detach_is_detected():
    x = fg.tensor([1.0, 2.0], requires_grad=True)
    y = x.sin()
    x.detach().add_(1)  # shares x's memory and version counter
    with pytest.raises(RuntimeError, match=r"sin.*modified"):
        y.sum().backward()


def test_modifying_a_view_of_a_saved_tensor_is_detected():
    x = fg.tensor([1.0, 2.0], requires_grad=True)
    base = fg.tensor([[3.0, 4.0], [5.0, 6.0]])
    a = x * base
    row = base[0]
    row *= 10  # writes into base's memory
    with pytest.raises(RuntimeError, match="modified by an in-place operation"):
        a.sum().backward()


def test_modifying_a_value_the_gradient_does_not_need_is_fine():
    x = fg.tensor([1.0, 2.0], requires_grad=True)
    w = fg.tensor([3.0, 4.0])
    a = x + w  # add saves nothing
    w += 100
    a.sum().backward()
    assert x.grad.tolist() == [1.0, 1.0]

    x.grad = None
    y = x * 3  # the gradient of x needs the constant 3, not y
    y *= 2
    y.sum().backward()
    assert x.grad.tolist() == [6.0, 6.0]

    x.grad = None
    w2 = fg.tensor([3.0, 4.0])
    b = x * w2  # mul saved w2 (needed for x's gradient) but x is not modified
    other = fg.tensor([1.0])
    other += 1
    b.sum().backward()
    assert x.grad.tolist() == [3.0, 4.0]


def test_modifying_after_backward_is_fine():
    x = fg.tensor([1.0, 2.0], requires_grad=True)
    y = x.exp()
    y.sum().backward()
    y += 1  # the graph was used already
    np.testing.assert_allclose(x.grad.numpy(), np.exp([1.0, 2.0]), rtol=1e-6)


def test_inplace_op_whose_own_gradient_needs_the_old_value():
    x = fg.tensor([1.0, 2.0], requires_grad=True)
    acc = fg.tensor([5.0, 7.0])
    acc *= x  # x's gradient needs acc's value from before the write
    acc.sum().backward()
    assert x.grad.tolist() == [5.0, 7.0]

    x.grad = None
    y = x * 1
    y *= y  # y = x^2
    y.sum().backward()
    assert x.grad.tolist() == [2.0, 4.0]

    x.grad = None
    z = x * x
    z *= x  # z = x^3
    (dz,) = fg.autograd.grad(z.sum(), x, create_graph=True)
    assert dz.tolist() == [3.0, 12.0]
    (d2z,) = fg.autograd.grad(dz.sum(), x)
    assert d2z.tolist() == [6.0, 12.0]


@pytest.mark.torch
def test_inplace_chain_matches_torch():
    torch = pytest.importorskip("torch")

    def run(module):
        x = module.tensor([0.5, 1.5, -2.0], requires_grad=True)
        y = x * x
        y += x
        y *= x
        y -= 1
        y /= x + 3
        y.sum().backward()
        return y.detach().numpy(), x.grad.numpy()

    for ours, theirs in zip(run(fg), run(torch), strict=True):
        np.testing.assert_allclose(ours, theirs, rtol=1e-6)


def test_error_message_suggests_the_fix():
    x = fg.tensor([1.0, 2.0], requires_grad=True)
    y = x.tanh()
    y.mul_(2)
    with pytest.raises(RuntimeError) as info:
        y.sum().backward()
    message = str(info.value)
    assert "out-of-place" in message and ".clone()" in message
    assert "shape (2,)" in message and "float32" in message


def test_matmul_checks_only_the_operand_a_needed_gradient_reads():
    # d/dx (x @ w) reads w, d/dw reads x. x is a leaf that requires grad, w is a constant: only
    # w has to stay unmodified, so overwriting x's values (via detach) after the forward is fine.
    x = fg.ones(4, 3, requires_grad=True)
    w = fg.full((3, 2), 0.5)
    y = (x @ w).sum()
    x_values = x.detach()
    x_values += 1
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), np.full((4, 3), 1.0))

    # Now w needs a gradient, which reads the (overwritten) batch: an error, not a wrong value.
    batch = fg.ones(4, 3)
    w = fg.full((3, 2), 0.5, requires_grad=True)
    y = (batch @ w).sum()
    batch += 1
    with pytest.raises(RuntimeError, match="modified by an in-place"):
        y.backward()
