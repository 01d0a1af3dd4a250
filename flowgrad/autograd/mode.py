"""Grad mode and anomaly mode: thread-local switches, usable as context managers and decorators."""

from __future__ import annotations

import functools
import threading


class _State(threading.local):
    """Per-thread autograd switches (as PyTorch's grad mode is thread-local)."""

    grad_enabled: bool = True
    anomaly: bool = False


STATE = _State()


class _Switch:
    """Base of the grad-mode context managers; also decorates functions."""

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with self.__class__(*self._args):
                return fn(*args, **kwargs)

        return wrapper

    _args: tuple = ()


class _NoArgSwitch(_Switch):
    """A switch without arguments: ``@fg.no_grad`` decorates as well as ``@fg.no_grad()``."""

    def __new__(cls, fn=None):
        switch = super().__new__(cls)
        return switch if fn is None else switch(fn)


class set_grad_enabled(_Switch):
    """Turn gradient recording on or off; a function, a context manager and a decorator.

    >>> import flowgrad as fg
    >>> x = fg.ones(2, requires_grad=True)
    >>> with fg.set_grad_enabled(False):
    ...     (x * 2).requires_grad
    False
    """

    def __init__(self, mode: bool) -> None:
        self._args = (bool(mode),)
        self._previous = STATE.grad_enabled
        STATE.grad_enabled = bool(mode)

    def __call__(self, fn):
        # Used as a decorator: construction switched the mode already; switch it back and
        # apply the mode only while ``fn`` runs.
        STATE.grad_enabled = self._previous
        return super().__call__(fn)

    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc) -> None:
        STATE.grad_enabled = self._previous


class no_grad(_NoArgSwitch):
    """Do not record operations for autograd (inference, optimizer updates).

    >>> import flowgrad as fg
    >>> x = fg.ones(2, requires_grad=True)
    >>> with fg.no_grad():
    ...     y = x * 2
    >>> y.requires_grad
    False
    """

    def __enter__(self) -> None:
        self._previous = STATE.grad_enabled
        STATE.grad_enabled = False

    def __exit__(self, *exc) -> None:
        STATE.grad_enabled = self._previous


class enable_grad(_NoArgSwitch):
    """Record operations for autograd again inside a ``no_grad`` block."""

    def __enter__(self) -> None:
        self._previous = STATE.grad_enabled
        STATE.grad_enabled = True

    def __exit__(self, *exc) -> None:
        STATE.grad_enabled = self._previous


def is_grad_enabled() -> bool:
    """Whether operations are being recorded for autograd in this thread."""
    return STATE.grad_enabled


class detect_anomaly(_Switch):
    """Raise at the first operation whose forward or backward produces NaN or Inf.

    The error names the operation and the user's line that created it. It slows every
    operation down (each result is checked), so use it for debugging only.
    """

    def __init__(self, check_nan: bool = True) -> None:
        self._args = (check_nan,)
        self._check = bool(check_nan)

    def __enter__(self) -> None:
        self._previous = STATE.anomaly
        STATE.anomaly = self._check

    def __exit__(self, *exc) -> None:
        STATE.anomaly = self._previous


def is_anomaly_enabled() -> bool:
    return STATE.anomaly
