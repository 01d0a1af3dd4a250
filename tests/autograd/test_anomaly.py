"""``fg.autograd.detect_anomaly()``: NaN/Inf in a forward or a backward is an error naming the
operation and the user's line."""

import inspect
import os

import numpy as np
import pytest

import flowgrad as fg
from flowgrad.errors import AnomalyError

FILE = os.path.basename(__file__)


def caller_line() -> int:
    """The line number of the caller (use on the same line as the operation)."""
    return inspect.currentframe().f_back.f_lineno


@pytest.fixture(autouse=True)
def quiet_numpy():
    with np.errstate(all="ignore"):
        yield


def test_anomaly_mode_is_a_scoped_switch():
    assert not fg.autograd.is_anomaly_enabled()
    with fg.autograd.detect_anomaly():
        assert fg.autograd.is_anomaly_enabled()
        with fg.autograd.detect_anomaly(check_nan=False):
            assert not fg.autograd.is_anomaly_enabled()
        assert fg.autograd.is_anomaly_enabled()
    assert not fg.autograd.is_anomaly_enabled()
    assert fg.detect_anomaly is fg.autograd.detect_anomaly


def test_without_anomaly_mode_nan_passes_silently():
    x = fg.tensor([-1.0, 0.0], requires_grad=True)
    y = x.log()
    assert np.isnan(y.detach().numpy()[0]) and np.isinf(y.detach().numpy()[1])
    y.sum().backward()
    assert np.isinf(x.grad.numpy()[1])


@pytest.mark.parametrize(
    ("op_name", "bad", "make"),
    [
        ("log", "nan", lambda x: x.log()),
        ("div", "inf", lambda x: 1 / (x + 1)),
        ("sqrt", "nan", lambda x: x.sqrt()),
        ("exp", "inf", lambda x: (x * 1000).exp()),
    ],
)
def test_forward_producing_nan_or_inf_names_the_op_and_line(op_name, bad, make):
    x = fg.tensor([-1.0, 2.0])
    with fg.autograd.detect_anomaly(), pytest.raises(AnomalyError) as info:
        make(x)
    message = str(info.value)
    assert message.startswith(f"{op_name} produced {bad} values in its forward")
    assert f"{FILE}:" in message  # the lambda's line in the table above
    assert issubclass(AnomalyError, RuntimeError)


def test_forward_error_points_at_the_exact_user_line():
    x = fg.tensor([0.0, 1.0], requires_grad=True)
    with fg.autograd.detect_anomaly(), pytest.raises(AnomalyError) as info:
        line = caller_line() + 1
        x.log()
    message = str(info.value)
    assert message.startswith("log produced inf values in its forward")
    assert f"{FILE}:{line})" in message


def test_forward_anomaly_is_raised_before_recording():
    x = fg.tensor([0.0], requires_grad=True)
    with fg.autograd.detect_anomaly(), pytest.raises(AnomalyError):
        x.log()
    assert x.grad is None and fg.is_grad_enabled()


def test_backward_inf_names_the_op_and_the_line_that_created_it():
    x = fg.tensor([0.0, 1.0], requires_grad=True)
    with fg.autograd.detect_anomaly():
        y, created = x.sqrt(), caller_line()  # d sqrt(x)/dx = inf at 0
        loss = y.sum()
        with pytest.raises(AnomalyError) as info:
            loss.backward()
    message = str(info.value)
    assert message.startswith("SqrtBackward returned inf values in the gradient of its input 0")
    assert f"{FILE}:{created})" in message
    assert x.grad is None


def test_backward_nan_from_zero_times_inf():
    x = fg.tensor([0.0, 4.0], requires_grad=True)
    with fg.autograd.detect_anomaly():
        root, created = x.sqrt(), caller_line()
        y = root * 0  # forward is finite; backward: 0 / (2 * sqrt(0)) = nan
        assert np.isfinite(y.detach().numpy()).all()
        with pytest.raises(AnomalyError) as info:
            y.sum().backward()
    message = str(info.value)
    assert message.startswith("SqrtBackward returned nan values")
    assert "the sqrt was created at" in message and f"{FILE}:{created})" in message


def test_backward_anomaly_through_autograd_grad():
    x = fg.tensor([0.0], requires_grad=True)
    with fg.autograd.detect_anomaly():
        y, created = x ** 0.5, caller_line()
        with pytest.raises(AnomalyError, match=rf"PowBackward returned inf.*{FILE}:{created}"):
            fg.autograd.grad(y.sum(), x)


def test_finite_computation_is_unaffected():
    x = fg.tensor([1.0, 4.0], requires_grad=True)
    with fg.autograd.detect_anomaly():
        y = (x.sqrt() * x.log()).sum()
        y.backward()
    expected = 1 / (2 * np.sqrt([1.0, 4.0])) * np.log([1.0, 4.0]) + np.sqrt([1.0, 4.0]) / [1, 4]
    np.testing.assert_allclose(x.grad.numpy(), expected, rtol=1e-6)


def test_higher_order_gradients_work_in_anomaly_mode():
    x = fg.tensor([1.0, 2.0], requires_grad=True)
    with fg.autograd.detect_anomaly():
        (dx,) = fg.autograd.grad((x**3).sum(), x, create_graph=True)
        (d2x,) = fg.autograd.grad(dx.sum(), x)
    assert d2x.tolist() == [6.0, 12.0]


def test_version_error_names_the_creation_line_in_anomaly_mode():
    x = fg.tensor([1.0, 2.0], requires_grad=True)
    with fg.autograd.detect_anomaly():
        y, created = x.exp(), caller_line()
        y += 1
        with pytest.raises(RuntimeError, match=rf"exp created at .*{FILE}:{created}:"):
            y.sum().backward()
