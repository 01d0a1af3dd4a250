"""``fg.no_grad``, ``fg.enable_grad``, ``fg.set_grad_enabled``: context managers, decorators,
a plain call, and thread-local state."""

import threading

import pytest

import flowgrad as fg


@pytest.fixture
def x():
    return fg.tensor([1.0, 2.0], requires_grad=True)


@pytest.fixture(autouse=True)
def grad_mode_is_restored():
    assert fg.is_grad_enabled()
    yield
    assert fg.is_grad_enabled()


def test_no_grad_context_manager(x):
    with fg.no_grad():
        assert not fg.is_grad_enabled()
        y = x * 2
    assert not y.requires_grad and y.grad_fn is None
    assert (x * 2).requires_grad


def test_enable_grad_inside_no_grad(x):
    with fg.no_grad():
        with fg.enable_grad():
            assert fg.is_grad_enabled()
            y = x * 2
        assert not fg.is_grad_enabled()
        z = x * 2
    assert y.requires_grad and not z.requires_grad


def test_set_grad_enabled_context_manager(x):
    with fg.set_grad_enabled(False):
        assert not fg.is_grad_enabled()
        assert not (x * 2).requires_grad
        with fg.set_grad_enabled(True):
            assert (x * 2).requires_grad
        assert not fg.is_grad_enabled()
    assert fg.is_grad_enabled()


def test_set_grad_enabled_as_a_plain_call(x):
    fg.set_grad_enabled(False)
    try:
        assert not fg.is_grad_enabled()
        assert not (x * 2).requires_grad
    finally:
        fg.set_grad_enabled(True)
    assert (x * 2).requires_grad


def test_decorators_with_parentheses(x):
    @fg.no_grad()
    def without(t):
        assert not fg.is_grad_enabled()
        return t * 2

    @fg.set_grad_enabled(False)
    def switched_off(t):
        return t * 2

    @fg.enable_grad()
    def with_grad(t):
        return t * 2

    assert fg.is_grad_enabled()  # decorating switches nothing
    assert not without(x).requires_grad and without.__name__ == "without"
    assert not switched_off(x).requires_grad
    assert fg.is_grad_enabled()
    with fg.no_grad():
        assert with_grad(x).requires_grad
        assert not fg.is_grad_enabled()


def test_decorators_without_parentheses(x):
    @fg.no_grad
    def without(t):
        return t * 2

    @fg.enable_grad
    def with_grad(t):
        return t * 2

    assert not without(x).requires_grad
    with fg.no_grad():
        assert with_grad(x).requires_grad


def test_decorated_function_can_be_called_many_times_and_nested(x):
    @fg.no_grad()
    def inner(t):
        return t * 2

    @fg.enable_grad()
    def outer(t):
        assert fg.is_grad_enabled()
        result = inner(t)
        assert fg.is_grad_enabled()
        return result

    for _ in range(3):
        assert not inner(x).requires_grad
    with fg.no_grad():
        assert not outer(x).requires_grad
        assert not fg.is_grad_enabled()


def test_mode_is_restored_after_an_exception(x):
    with pytest.raises(ZeroDivisionError), fg.no_grad():
        raise ZeroDivisionError
    assert fg.is_grad_enabled()

    @fg.set_grad_enabled(False)
    def failing():
        raise KeyError("boom")

    with pytest.raises(KeyError):
        failing()
    assert fg.is_grad_enabled()


def test_no_grad_results_can_be_used_in_grad_mode_later(x):
    with fg.no_grad():
        scale = x * 10
    y = (x * scale).sum()
    y.backward()
    assert x.grad.tolist() == [10.0, 20.0]  # scale is a constant


def test_grad_mode_is_thread_local(x):
    """A thread in no_grad does not switch off recording in another thread, and vice versa."""
    inside = threading.Event()
    checked = threading.Event()
    seen = {}

    def worker():
        with fg.no_grad():
            inside.set()
            checked.wait(5)
            seen["worker"] = (fg.is_grad_enabled(), (x * 2).requires_grad)

    thread = threading.Thread(target=worker)
    thread.start()
    assert inside.wait(5)
    seen["main"] = (fg.is_grad_enabled(), (x * 2).requires_grad)  # while the worker is in no_grad
    checked.set()
    thread.join(5)
    assert seen == {"main": (True, True), "worker": (False, False)}


def test_new_threads_start_with_grad_enabled():
    seen = []
    with fg.no_grad():
        thread = threading.Thread(target=lambda: seen.append(fg.is_grad_enabled()))
        thread.start()
        thread.join(5)
    assert seen == [True]
