"""Special-function primitives NumPy lacks: ``erf`` (for exact GELU), and its inverse as a
kernel for the truncated-normal initialiser.

``erf`` is evaluated piecewise from Chebyshev interpolants of the standard library's
``math.erf``/``math.erfc``, computed once at import (no tables of magic numbers): on
``|x| <= 1`` as ``x * P(x^2)``; on ``1 < |x| < 6`` as ``1 - exp(-x^2) * Q(|x|)``, where
``Q = erfc(x) exp(x^2)`` is smooth; beyond 6, ``erfc(x) < 2^-53``, so ``erf`` is ``+-1`` in
float64. The relative error is below ``1e-14`` everywhere (``tests/ops`` checks it against
``math.erf``). Lower-precision input is computed in float64 and rounded once.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.polynomial import Chebyshev, Polynomial

from flowgrad.ops.base import Primitive
from flowgrad.ops.rules import unary_float

_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)


def _interpolant(f, low: float, high: float, degree: int) -> Chebyshev:
    """The Chebyshev series interpolating ``f`` at the Chebyshev points of ``[low, high]``."""
    def values(points: np.ndarray) -> np.ndarray:
        return np.array([f(float(p)) for p in points])

    return Chebyshev.interpolate(values, degree, domain=[low, high])


def _erf_over_x(t: float) -> float:
    """``erf(sqrt(t)) / sqrt(t)``: erf is odd, so ``erf(x) = x * P(x^2)``."""
    if t == 0.0:
        return _TWO_OVER_SQRT_PI
    s = math.sqrt(t)
    return math.erf(s) / s


def _scaled_erfc(x: float) -> float:
    """``erfc(x) * exp(x^2)``: slowly varying where erfc itself decays like a Gaussian."""
    return math.erfc(x) * math.exp(x * x)


# The degrees reach float64 precision on each interval. Near 0 a power series in x^2 (its
# coefficients shrink fast, so Horner's rule is well conditioned on [0, 1]); in the tails the
# Chebyshev series itself, by Clenshaw's recurrence.
_CENTRE = _interpolant(_erf_over_x, 0.0, 1.0, 12).convert(kind=Polynomial).coef
_TAILS = tuple(
    (low, high, _interpolant(_scaled_erfc, low, high, degree).coef)
    for low, high, degree in ((1.0, 3.0, 18), (3.0, 6.0, 13))
)


def _horner(t: np.ndarray, coefficients: np.ndarray) -> np.ndarray:
    """``sum_k c_k t^k``, in place on one buffer (the fast path: most inputs are near 0)."""
    result = np.full_like(t, coefficients[-1])
    for c in coefficients[-2::-1]:
        result *= t
        result += c
    return result


def _clenshaw(u: np.ndarray, coefficients: np.ndarray) -> np.ndarray:
    """``sum_k c_k T_k(u)`` for ``u`` in ``[-1, 1]`` by Clenshaw's recurrence."""
    two_u = 2 * u
    b1 = np.zeros_like(u)
    b2 = np.zeros_like(u)
    for c in coefficients[:0:-1]:
        b0 = two_u * b1
        b0 -= b2
        b0 += c
        b1, b2 = b0, b1
    b1 *= u
    b1 -= b2
    b1 += coefficients[0]
    return b1


def erf_kernel(x: np.ndarray) -> np.ndarray:
    """The error function, elementwise, to float64 precision."""
    x = np.asarray(x)
    wide = x.astype(np.float64, copy=False)
    magnitude = np.abs(wide)
    out = np.sign(wide, out=np.empty_like(wide))  # +-1 beyond 6; NaN stays NaN; 0-D too
    centre = magnitude <= 1.0
    xc = wide[centre]
    out[centre] = xc * _horner(xc * xc, _CENTRE)
    for low, high, coefficients in _TAILS:
        inside = (magnitude > low) & (magnitude <= high)
        a = magnitude[inside]
        scaled = _clenshaw((2 * a - (low + high)) / (high - low), coefficients)
        out[inside] = np.copysign(1.0 - np.exp(-a * a) * scaled, wide[inside])
    return out.astype(x.dtype, copy=False) if x.dtype.kind == "f" else out


def erfinv_kernel(y: np.ndarray) -> np.ndarray:
    """The inverse error function on ``[-1, 1]`` (``+-inf`` at ``+-1``), in float64.

    Winitzki's closed form (relative error ~2e-3) refined by two Halley steps on
    ``erf(x) = y``, each of which cubes the error.
    """
    y = np.asarray(y, dtype=np.float64)
    a = 0.147
    with np.errstate(divide="ignore", invalid="ignore"):  # log(0) at y = +-1 gives +-inf
        log_term = np.log1p(-y * y)
        first = 2 / (np.pi * a) + log_term / 2
        x = np.copysign(np.sqrt(np.sqrt(first * first - log_term / a) - first), y)
    finite = np.isfinite(x)
    guess, target = x[finite], y[finite]
    for _ in range(2):
        step = (erf_kernel(guess) - target) / (_TWO_OVER_SQRT_PI * np.exp(-guess * guess))
        guess -= step / (1 + guess * step)
    x[finite] = guess
    return x


def _erf_vjp(ctx, g):
    (x,) = ctx.inputs
    return (g * (-(x * x)).exp() * _TWO_OVER_SQRT_PI,)


erf = Primitive("erf", erf_kernel, unary_float("erf"), _erf_vjp, save_inputs=(0,))
