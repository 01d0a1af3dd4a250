"""The one op-test helper: every row of the op table is checked the same way.

A :class:`Case` names an operation as ``fn(lib, *tensors)``, written once for both libraries
(``lib`` is ``flowgrad`` or ``torch``; flowgrad follows PyTorch's names), a NumPy reference, and
its input arrays. For each case the helper checks

1. the forward against the NumPy reference (shape, dtype and values);
2. the gradients against central finite differences in float64: ``fg.autograd.grad`` with a
   random upstream gradient against numeric vector-Jacobian products, and ``backward()``
   against ``grad``;
3. every primitive bound while doing so: its shape/dtype rule ``infer`` agrees exactly with the
   array its forward kernel produced (see :func:`recording_binds`);
4. optionally, forward and backward against PyTorch (:func:`check_against_torch`);
5. optionally, second-order gradients (:func:`check_second_order`).
"""

from __future__ import annotations

import contextlib
import sys
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import numpy as np

import flowgrad as fg
from flowgrad.ops import PRIMITIVES, Primitive

#: ``Case.torch_fn`` default: call the case's own ``fn`` with ``lib=torch``.
SAME = "same"


@dataclass
class Case:
    """One row of the op table."""

    name: str
    fn: Callable  # fn(lib, *tensors) -> tensor or tuple of tensors
    ref: Callable | None  # ref(*arrays) -> array or tuple of arrays; None: no NumPy reference
    inputs: tuple  # NumPy arrays; floating-point ones are differentiated when ``grad``
    grad: bool = True  # False for non-differentiable ops (comparisons, argmax, bitwise ...)
    fd: bool = True  # False: at a kink (ties) on purpose; gradients checked against PyTorch
    torch_fn: Callable | str | None = SAME  # None: PyTorch has no such call
    eps: float = 1e-6  # finite-difference step
    rtol: float = 1e-5  # gradient tolerances against finite differences and PyTorch
    atol: float = 1e-6
    check_dtype: bool = True  # the NumPy reference's dtype must match
    primitives: tuple = ()  # primitives outside flowgrad the case uses (tests of this helper)
    quiet: bool = False  # NumPy floating-point warnings are expected (log(0) = -inf ...)

    def __repr__(self) -> str:
        return self.name


def case(name: str, fn: Callable, ref: Callable | None, *inputs, **options) -> Case:
    """A :class:`Case`; input arrays are passed positionally."""
    return Case(name, fn, ref, tuple(np.asarray(a) for a in inputs), **options)


# -- input arrays -------------------------------------------------------------------------------


@dataclass
class Inputs:
    """Deterministic input arrays, chosen away from points where an op is not differentiable."""

    seed: int = 0
    rng: np.random.Generator = field(init=False)

    def __post_init__(self) -> None:
        self.rng = np.random.default_rng(self.seed)

    def randn(self, *shape, scale: float = 1.0) -> np.ndarray:
        return np.asarray(self.rng.standard_normal(shape) * scale)

    def uniform(self, low: float, high: float, *shape) -> np.ndarray:
        return np.asarray(self.rng.uniform(low, high, shape))

    def positive(self, *shape, low: float = 0.5, high: float = 2.0) -> np.ndarray:
        return self.uniform(low, high, *shape)

    def nonzero(self, *shape, gap: float = 0.2) -> np.ndarray:
        """Values with ``|x| >= gap`` and both signs (for abs, relu, sign, division)."""
        sign = np.where(self.rng.random(shape) < 0.5, -1.0, 1.0)
        return np.asarray(sign * self.uniform(gap, 2.0, *shape))

    def avoiding(self, *shape, points=(0.0,), gap: float = 0.1, low=-2.0, high=2.0) -> np.ndarray:
        """Uniform values at least ``gap`` away from each of ``points`` (kinks, boundaries)."""
        values = self.uniform(low, high, *shape)
        points = np.asarray(points, dtype=np.float64)
        while True:
            bad = np.zeros(values.shape, dtype=bool)
            for p in points:
                bad |= np.abs(values - p) < gap
            if not bad.any():
                return values
            values[bad] = self.rng.uniform(low, high, int(bad.sum()))

    def off_grid(self, *shape, offset: float = 0.0, gap: float = 0.1) -> np.ndarray:
        """Values whose distance to ``k + offset`` (any integer k) is at least ``gap``."""
        whole = self.rng.integers(-3, 3, shape)
        fraction = self.uniform(gap, 1 - gap, *shape)
        return np.asarray(whole + fraction + offset)

    def distinct(self, *shape) -> np.ndarray:
        """Values at least 0.05 apart from each other (no ties for max, min, sort)."""
        size = int(np.prod(shape))
        values = self.rng.permutation(size) * 0.1 - size * 0.05
        return np.asarray(values + self.uniform(-0.02, 0.02, size)).reshape(shape)

    def ints(self, low: int, high: int, *shape, dtype=np.int64) -> np.ndarray:
        return np.asarray(self.rng.integers(low, high, shape), dtype=dtype)

    def bools(self, *shape) -> np.ndarray:
        return np.asarray(self.rng.random(shape) < 0.5)


# -- recording the primitives that run ----------------------------------------------------------


class BindLog:
    """What :func:`recording_binds` saw: primitives run, and infer/forward disagreements."""

    def __init__(self) -> None:
        self.primitives: set[Primitive] = set()
        self.count = 0
        self.problems: list[str] = []

    def add(self, prim: Primitive, arrays: list, attrs: dict, out: np.ndarray) -> None:
        self.primitives.add(prim)
        self.count += 1
        described = ", ".join(f"{a.dtype}{list(a.shape)}" for a in arrays)
        where = f"{prim.name}({described}; attrs={attrs})"
        try:
            shape, dtype = prim.infer(*arrays, **attrs)
        except Exception as exc:  # a rule that rejects what the kernel accepted is a bug
            self.problems.append(
                f"{where}: infer raised {type(exc).__name__}: {exc}; forward gave "
                f"{out.shape} {out.dtype}"
            )
            return
        exact_shape = type(shape) is tuple and all(type(d) is int for d in shape)
        if not exact_shape or shape != out.shape or not isinstance(dtype, np.dtype) or (
            dtype != out.dtype
        ):
            self.problems.append(
                f"{where}: infer gave ({shape!r}, {dtype!r}) but forward gave "
                f"({out.shape!r}, {out.dtype!r})"
            )

    def check(self) -> None:
        """Fail with every disagreement between a shape/dtype rule and its kernel."""
        if self.problems:
            raise AssertionError(
                "shape/dtype rule disagrees with the forward kernel:\n  "
                + "\n  ".join(self.problems)
            )


def defined_primitives() -> set[Primitive]:
    """Every :class:`Primitive` at module level in flowgrad, registered or not."""
    found = set(PRIMITIVES.values())
    for name, module in list(sys.modules.items()):
        if name == "flowgrad" or name.startswith("flowgrad."):
            found.update(v for v in vars(module).values() if isinstance(v, Primitive))
    return found


@contextlib.contextmanager
def recording_binds(extra: tuple[Primitive, ...] = ()) -> Iterator[BindLog]:
    """Record every primitive that runs, and check its ``infer`` against its kernel.

    Each primitive's ``forward`` is wrapped (not ``Primitive.bind``: callers may hold bound
    ``bind`` methods), so whatever calls a kernel (an operator, a composite, a gradient rule)
    is seen. ``infer`` gets the very arrays and attrs the kernel got, right after it ran.
    ``extra``: primitives outside flowgrad's modules to watch as well (tests of this helper).
    """
    log = BindLog()
    kernels = {prim: prim.forward for prim in defined_primitives() | set(extra)}

    def recording(prim: Primitive, kernel: Callable) -> Callable:
        def forward(*arrays, **attrs):
            out = kernel(*arrays, **attrs)
            log.add(prim, arrays, attrs, np.asarray(out))
            return out

        return forward

    for prim, kernel in kernels.items():
        prim.forward = recording(prim, kernel)
    try:
        yield log
    finally:
        for prim, kernel in kernels.items():
            prim.forward = kernel


# -- running a case -----------------------------------------------------------------------------


def as_list(result) -> list:
    return list(result) if isinstance(result, tuple | list) else [result]


def case_rng(case: Case, salt: str = "") -> np.random.Generator:
    """A generator seeded by the case's name: upstream gradients are the same every run."""
    return np.random.default_rng(zlib.crc32((case.name + salt).encode()))


def fg_inputs(arrays, requires_grad: bool) -> list:
    return [
        fg.tensor(a.copy(), requires_grad=requires_grad and a.dtype.kind == "f") for a in arrays
    ]


def differentiable(case: Case) -> list[int]:
    """Positions of the inputs whose gradients are checked: the floating-point ones (against
    finite differences when float64; their dtype and PyTorch's gradients whatever the width)."""
    if not case.grad:
        return []
    return [i for i, a in enumerate(case.inputs) if a.dtype.kind == "f"]


def float_outputs(outs) -> list[int]:
    return [k for k, o in enumerate(outs) if o.dtype.is_floating_point]


def upstream(case: Case, outs) -> list[np.ndarray]:
    """Random gradients for the floating-point outputs (in each output's dtype)."""
    rng = case_rng(case, "upstream")
    return [
        np.asarray(rng.standard_normal(outs[k].shape), dtype=outs[k]._data.dtype)
        for k in float_outputs(outs)
    ]


def _zeros_if_none(grads, tensors) -> list[np.ndarray]:
    return [
        np.zeros(t.shape, dtype=t._data.dtype) if g is None else g._data
        for g, t in zip(grads, tensors, strict=True)
    ]


def tolerances(dtype) -> dict:
    """Forward tolerances: tight in float64, looser in lower precision."""
    dtype = np.dtype(dtype)
    if dtype == np.float64:
        return {"rtol": 1e-7, "atol": 1e-9}
    if dtype.kind == "f":
        return {"rtol": 1e-5, "atol": 1e-6}
    return {"rtol": 0, "atol": 0}


def assert_close(actual: np.ndarray, expected: np.ndarray, what: str, **tol) -> None:
    actual, expected = np.asarray(actual), np.asarray(expected)
    assert actual.shape == expected.shape, (
        f"{what}: shape {actual.shape}, expected {expected.shape}"
    )
    if not tol:
        tol = tolerances(expected.dtype)
    np.testing.assert_allclose(actual, expected, err_msg=what, **tol)


def first_order(case: Case, arrays, create_graph: bool = False):
    """Run the case in flowgrad: inputs, outputs, upstream gradients and input gradients."""
    tensors = fg_inputs(arrays, requires_grad=case.grad)
    outs = as_list(case.fn(fg, *tensors))
    wrt = [tensors[i] for i in differentiable(case)]
    picked = [outs[k] for k in float_outputs(outs)]
    if not wrt or not picked:
        return tensors, outs, [], []
    for out in picked:
        assert out.requires_grad, f"{case.name}: a floating-point output does not require grad"
    vs = upstream(case, outs)
    grads = fg.autograd.grad(picked, wrt, grad_outputs=[fg.tensor(v) for v in vs],
                             retain_graph=True, create_graph=create_graph, allow_unused=True)
    return tensors, outs, vs, list(grads)


def _objective(case: Case, arrays, vs) -> float:
    """``sum_k <out_k, v_k>`` over the floating-point outputs, computed without a tape."""
    with fg.no_grad():
        outs = as_list(case.fn(fg, *fg_inputs(arrays, requires_grad=False)))
    picked = [outs[k] for k in float_outputs(outs)]
    return sum(float(np.sum(np.asarray(o._data, dtype=np.float64) * v))
               for o, v in zip(picked, vs, strict=True))


def numeric_gradient(objective: Callable, arrays: list, position: int, eps: float) -> np.ndarray:
    """Central finite differences of ``objective(arrays)`` w.r.t. ``arrays[position]``."""
    arrays = [a.copy() for a in arrays]
    x = arrays[position]
    flat = x.reshape(-1)  # a view: perturbing ``flat`` perturbs ``x``
    grad = np.zeros(x.size)
    for j in range(x.size):
        original = flat[j]
        flat[j] = original + eps
        plus = objective(arrays)
        flat[j] = original - eps
        minus = objective(arrays)
        flat[j] = original
        grad[j] = (plus - minus) / (2 * eps)
    return grad.reshape(x.shape)


def check_forward(case: Case, outs) -> None:
    if case.ref is None:
        return
    expected = as_list(case.ref(*[a.copy() for a in case.inputs]))
    assert len(outs) == len(expected), (
        f"{case.name}: {len(outs)} outputs, expected {len(expected)}"
    )
    for k, (out, ref) in enumerate(zip(outs, expected, strict=True)):
        ref = np.asarray(ref)
        what = f"{case.name}: forward output {k}"
        # NaN compares equal to NaN: a row whose reference is NaN would check nothing.
        assert not (ref.dtype.kind == "f" and np.isnan(ref).any()), f"{what}: NaN reference"
        if case.check_dtype:
            assert out._data.dtype == ref.dtype, (
                f"{what}: dtype {out._data.dtype}, expected {ref.dtype}"
            )
        assert_close(out._data, ref, what, **tolerances(out._data.dtype))


def check_case(case: Case) -> BindLog:
    """Forward vs NumPy, gradients vs finite differences, and infer vs forward for every bind."""
    with np.errstate(all="ignore") if case.quiet else contextlib.nullcontext():
        return _check_case(case)


def _check_case(case: Case) -> BindLog:
    arrays = list(case.inputs)
    with recording_binds(case.primitives) as log:
        tensors, outs, vs, grads = first_order(case, arrays)
        check_forward(case, outs)
        if grads:  # backward() too, into .grad of the leaves
            picked = [outs[k] for k in float_outputs(outs)]
            fg.autograd.backward(picked, [fg.tensor(v) for v in vs])
    log.check()
    if not grads:
        return log
    wrt = [tensors[i] for i in differentiable(case)]
    for i, got in zip(differentiable(case), _zeros_if_none(grads, wrt), strict=True):
        what = f"{case.name}: gradient of input {i}"
        assert got.dtype == arrays[i].dtype, (
            f"{what}: dtype {got.dtype}, expected {arrays[i].dtype}"
        )
        if case.fd and got.dtype == np.float64:
            numeric = numeric_gradient(lambda a: _objective(case, a, vs), arrays, i, case.eps)
            assert np.isfinite(numeric).all(), f"{what}: finite differences are not finite"
            assert_close(got, numeric, what + " vs finite differences", rtol=case.rtol,
                         atol=case.atol)
        accumulated = tensors[i].grad
        assert_close(np.zeros_like(got) if accumulated is None else accumulated._data, got,
                     what + " from backward() vs autograd.grad")
    return log


def check_second_order(case: Case) -> None:
    """Gradients of ``sum <grad_i, w_i>`` (made with create_graph=True) vs finite differences
    of the first-order gradients."""
    arrays = list(case.inputs)
    ws = [case_rng(case, f"w{i}").standard_normal(arrays[i].shape) for i in differentiable(case)]
    with recording_binds(case.primitives) as log:
        tensors, _, _, grads = first_order(case, arrays, create_graph=True)
        assert grads, f"{case.name}: no gradients to differentiate again"
        wrt = [tensors[i] for i in differentiable(case)]
        inner = sum(((g * fg.tensor(w)).sum() for g, w in zip(grads, ws, strict=True)
                     if g is not None), fg.tensor(0.0, dtype=fg.float64))
        second = (fg.autograd.grad(inner, wrt, allow_unused=True) if inner.requires_grad
                  else [None] * len(wrt))
    log.check()

    def objective(perturbed) -> float:
        _, _, _, first = first_order(case, perturbed)
        return sum(float(np.sum(g * w)) for g, w in
                   zip(_zeros_if_none(first, wrt), ws, strict=True))

    for i, got in zip(differentiable(case), _zeros_if_none(second, wrt), strict=True):
        assert got.dtype == np.float64, f"{case.name}: second-order cases need float64 inputs"
        numeric = numeric_gradient(objective, arrays, i, case.eps)
        assert_close(got, numeric, f"{case.name}: second-order gradient of input {i}",
                     rtol=case.rtol, atol=case.atol)


def exercise(cases, second_order=(), extra: tuple[Primitive, ...] = ()) -> BindLog:
    """Run each case's forward and gradients (and, for ``second_order``, gradients of the
    gradients) under one recorder, without finite differences: which primitives run?"""
    with recording_binds(extra) as log, np.errstate(all="ignore"):
        for c in cases:
            first_order(c, list(c.inputs))
        for c in second_order:
            _, _, _, grads = first_order(c, list(c.inputs), create_graph=True)
            inner = [g.sum() for g in grads if g is not None and g.requires_grad]
            if inner:
                fg.autograd.backward(inner)
    return log


def coverage_problems(log: BindLog, registry: dict, defined: set[Primitive]) -> list[str]:
    """Registered primitives that never ran, and primitives defined or run but not registered
    (graph mode finds primitives by name in the registry)."""
    registered = set(registry.values())
    problems = []
    missing = sorted(p.name for p in registered - log.primitives)
    if missing:
        problems.append(f"primitives that no row of the op table exercises: {missing}")
    unregistered = sorted(p.name for p in (log.primitives | defined) - registered)
    if unregistered:
        problems.append(f"primitives defined or run but not in PRIMITIVES: {unregistered}")
    return problems


# -- against PyTorch ----------------------------------------------------------------------------


def torch_dtype_name(dtype) -> str:
    return str(dtype).removeprefix("torch.")


def check_against_torch(case: Case, torch, *, second_order: bool = False) -> None:
    """The same case in PyTorch: outputs (shape, dtype, values) and gradients agree."""
    with np.errstate(all="ignore") if case.quiet else contextlib.nullcontext():
        _check_against_torch(case, torch, second_order)


def _check_against_torch(case: Case, torch, second_order: bool) -> None:
    torch_fn = case.fn if case.torch_fn == SAME else case.torch_fn
    assert callable(torch_fn), f"{case.name}: no PyTorch counterpart"
    arrays = list(case.inputs)
    tensors, outs, vs, grads = first_order(case, arrays, create_graph=second_order)

    t_inputs = [torch.tensor(a.copy()) for a in arrays]
    for i, t in enumerate(t_inputs):
        if case.grad and arrays[i].dtype.kind == "f":
            t.requires_grad_(True)
    t_outs = as_list(torch_fn(torch, *t_inputs))
    assert len(t_outs) == len(outs), (
        f"{case.name}: {len(outs)} outputs, PyTorch gives {len(t_outs)}"
    )
    for k, (out, t_out) in enumerate(zip(outs, t_outs, strict=True)):
        what = f"{case.name}: output {k} vs PyTorch"
        assert out.dtype.name == torch_dtype_name(t_out.dtype), (
            f"{what}: dtype {out.dtype.name}, PyTorch {torch_dtype_name(t_out.dtype)}"
        )
        assert_close(out._data, t_out.detach().numpy(), what, **tolerances(out._data.dtype))
    if not grads:
        return

    positions = differentiable(case)
    t_wrt = [t_inputs[i] for i in positions]
    picked = [(t_outs[k], torch.tensor(v)) for k, v in zip(float_outputs(outs), vs,
                                                             strict=True)]
    picked = [(o, v) for o, v in picked if o.requires_grad]
    t_grads = [None] * len(t_wrt)
    if picked:
        t_grads = torch.autograd.grad([o for o, _ in picked], t_wrt,
                                      grad_outputs=[v for _, v in picked], allow_unused=True,
                                      create_graph=second_order)
    for i, got, t_grad in zip(positions, _zeros_if_none(grads, [tensors[i] for i in positions]),
                              t_grads, strict=True):
        expected = np.zeros_like(got) if t_grad is None else t_grad.detach().numpy()
        assert_close(got, expected, f"{case.name}: gradient of input {i} vs PyTorch",
                     rtol=case.rtol, atol=case.atol)
    if not second_order:
        return

    ws = [case_rng(case, f"w{i}").standard_normal(arrays[i].shape) for i in positions]
    inner = sum((g * fg.tensor(w)).sum() for g, w in zip(grads, ws, strict=True)
                if g is not None)
    t_inner = sum((g * torch.tensor(w)).sum() for g, w in zip(t_grads, ws, strict=True)
                  if g is not None and g.requires_grad)
    second = fg.autograd.grad(inner, [tensors[i] for i in positions], allow_unused=True)
    t_second = torch.autograd.grad(t_inner, t_wrt, allow_unused=True)
    for i, got, t_grad in zip(positions, _zeros_if_none(second, [tensors[i] for i in positions]),
                              t_second, strict=True):
        expected = np.zeros_like(got) if t_grad is None else t_grad.detach().numpy()
        assert_close(got, expected, f"{case.name}: second-order gradient of input {i} vs "
                     f"PyTorch", rtol=case.rtol, atol=case.atol)
