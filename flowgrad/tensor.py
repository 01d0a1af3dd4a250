"""The :class:`Tensor`: an array plus what autograd needs (``requires_grad``, ``grad``,
``grad_fn``, a version counter).

Operations live in :mod:`flowgrad.functions`; methods here are thin delegations with PyTorch's
names, so ``x.exp()`` and ``fg.exp(x)`` are one code path.
"""

from __future__ import annotations

import numpy as np

from flowgrad import dtypes
from flowgrad.device import CPU, Device
from flowgrad.errors import DTypeError, at_user_site

_new = object.__new__


class Tensor:
    """A multi-dimensional array that records operations for automatic differentiation.

    >>> import flowgrad as fg
    >>> w = fg.tensor([1.0, 2.0], requires_grad=True)
    >>> loss = (w * w).sum()
    >>> loss.backward()
    >>> w.grad
    tensor([2., 4.])
    """

    __slots__ = ("_data", "_rg", "grad", "grad_fn", "_vc", "_hooks", "__weakref__")
    __array_priority__ = 1000  # NumPy defers to our reflected operators

    def __init__(self, data=None, *, dtype=None, requires_grad: bool = False) -> None:
        from flowgrad.functions.creation import tensor

        made = tensor([] if data is None else data,
                      dtype=dtype if dtype is not None else dtypes.get_default_dtype(),
                      requires_grad=requires_grad)
        self._fill(made._data, made._rg)

    def _fill(self, data, requires_grad: bool = False) -> None:
        """Set every slot: ``data`` and no autograd history."""
        self._data = data
        self._rg = requires_grad
        self.grad = None
        self.grad_fn = None
        self._vc = None
        self._hooks = None

    @staticmethod
    def _wrap(data) -> Tensor:
        """A tensor around an existing array (no copy, no checks): the fast path of ops.

        It sets the slots itself rather than calling :meth:`_fill`: this runs for every
        operation, and the call would cost more than the assignments."""
        t = _new(Tensor)
        t._data = data
        t._rg = False
        t.grad = None
        t.grad_fn = None
        t._vc = None
        t._hooks = None
        return t

    # -- attributes -----------------------------------------------------------------------

    @property
    def shape(self) -> tuple:
        return self._data.shape

    def size(self, dim: int | None = None):
        """The shape, or the size of dimension ``dim``."""
        if dim is None:
            return self._data.shape
        from flowgrad.ops.rules import normalize_axis

        return self._data.shape[normalize_axis("size", dim, self._data.ndim)]

    @property
    def dtype(self) -> dtypes.DType:
        return dtypes.from_numpy_dtype(self._data.dtype)

    @property
    def ndim(self) -> int:
        return self._data.ndim

    def dim(self) -> int:
        return self._data.ndim

    ndimension = dim

    def numel(self) -> int:
        return self._data.size

    nelement = numel

    def element_size(self) -> int:
        return self._data.itemsize

    @property
    def nbytes(self) -> int:
        return self._data.nbytes

    @property
    def device(self) -> Device:
        return CPU

    @property
    def is_leaf(self) -> bool:
        return self.grad_fn is None

    def is_floating_point(self) -> bool:
        """Whether the dtype is a floating-point one (a method, as in PyTorch)."""
        return self._data.dtype.kind == "f"

    @property
    def requires_grad(self) -> bool:
        return self._rg

    @requires_grad.setter
    def requires_grad(self, value: bool) -> None:
        self.requires_grad_(value)

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        """Start (or stop) recording operations on this leaf tensor; returns it."""
        if self.grad_fn is not None and not requires_grad:
            raise RuntimeError(
                "requires_grad_: you can only change requires_grad of leaf tensors; use "
                "y = y.detach() to get a tensor that does not require grad"
            )
        if requires_grad and self._data.dtype.kind != "f":
            raise DTypeError(at_user_site(
                f"requires_grad: only floating-point tensors can require gradients, got "
                f"{self.dtype}; convert it first, e.g. x.float().requires_grad_()"
            ))
        self._rg = bool(requires_grad)
        return self

    @property
    def _version(self) -> int:
        return 0 if self._vc is None else self._vc[0]

    def _bump_version(self) -> None:
        box = self._vc
        if box is None:
            self._vc = [1]
        else:
            box[0] += 1

    def retain_grad(self) -> None:
        """Keep ``.grad`` for this non-leaf tensor after ``backward()``."""
        if self.grad_fn is None:
            if not self._rg:
                raise RuntimeError("retain_grad: the tensor does not require grad")
            return
        import weakref

        self.grad_fn.retained = weakref.ref(self)

    @property
    def retains_grad(self) -> bool:
        return self.grad_fn is not None and self.grad_fn.retained is not None

    def register_hook(self, hook) -> None:
        """Call ``hook(grad)`` when this tensor's gradient is computed; it may return a
        replacement gradient."""
        if not self._rg:
            raise RuntimeError("register_hook: the tensor does not require grad")
        if self.grad_fn is not None:
            self.grad_fn.register_hook(hook)
        else:
            if self._hooks is None:
                self._hooks = []
            self._hooks.append(hook)

    # -- autograd -------------------------------------------------------------------------

    def backward(self, gradient=None, retain_graph: bool | None = None,
                 create_graph: bool = False, inputs=None) -> None:
        """Accumulate the gradient of this tensor into the ``.grad`` of the leaves."""
        from flowgrad.autograd import backward

        if inputs is not None:
            from flowgrad.autograd import grad as autograd_grad

            targets = list(inputs) if isinstance(inputs, list | tuple) else [inputs]
            grads = autograd_grad(self, targets, gradient, retain_graph, create_graph,
                                  allow_unused=True)
            for target, g in zip(targets, grads, strict=True):
                if g is not None:
                    target.grad = g if target.grad is None else target.grad + g
            return
        backward(self, gradient, retain_graph, create_graph)

    def detach(self) -> Tensor:
        """The same data, cut from the graph (shares memory and version counter)."""
        t = Tensor._wrap(self._data)
        t._vc = self._vc if self._vc is not None else self._share_version()
        return t

    def _share_version(self) -> list:
        self._vc = [0]
        return self._vc

    @property
    def data(self) -> Tensor:
        """The values without autograd history, as :meth:`detach` (shared memory and version
        counter, so in-place changes to values saved for backward are still detected)."""
        return self.detach()

    @data.setter
    def data(self, value) -> None:
        array = value._data if isinstance(value, Tensor) else np.asarray(value)
        dtypes.from_numpy_dtype(array.dtype)
        self._data = array
        self._bump_version()

    def detach_(self) -> Tensor:
        self.grad_fn = None
        self._rg = False
        return self

    # -- conversions ----------------------------------------------------------------------

    def numpy(self, *, force: bool = False) -> np.ndarray:
        """The data as a NumPy array, sharing memory (a copy with ``force=True``)."""
        if type(self._data) is not np.ndarray:
            raise _symbolic_value_error(self, "numpy()")
        if self._rg and not force:
            raise RuntimeError(
                "numpy(): can't call numpy() on a tensor that requires grad; use "
                "tensor.detach().numpy()"
            )
        return self._data.copy() if force else self._data

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        data = self._data
        if type(data) is not np.ndarray:
            raise _symbolic_value_error(self, "converting to a NumPy array")
        if dtype is not None and data.dtype != dtype:
            return data.astype(dtype)
        return data.copy() if copy else data

    def __dlpack__(self, *, stream=None, max_version=None, dl_device=None, copy=None):
        """Export to another library through DLPack, without a copy (``torch.from_dlpack(t)``,
        ``np.from_dlpack(t)``). As in PyTorch, not for a tensor that requires grad."""
        data = self._data
        if type(data) is not np.ndarray:
            raise _symbolic_value_error(self, "__dlpack__")
        if self._rg:
            raise RuntimeError("__dlpack__: can't export a tensor that requires grad; use "
                               "tensor.detach()")
        options = {"stream": stream}
        if max_version is not None:
            options["max_version"] = max_version
        if dl_device is not None:
            options["dl_device"] = dl_device
        if copy is not None:
            options["copy"] = copy
        return data.__dlpack__(**options)

    def __dlpack_device__(self) -> tuple[int, int]:
        data = self._data
        if type(data) is not np.ndarray:
            raise _symbolic_value_error(self, "__dlpack_device__")
        return data.__dlpack_device__()

    def item(self):
        """The value of a one-element tensor as a Python number."""
        if type(self._data) is not np.ndarray:
            raise _symbolic_value_error(self, "item()")
        if self._data.size != 1:
            raise RuntimeError(
                f"item(): a tensor with {self._data.size} elements (shape "
                f"{self._data.shape}) cannot be converted to a Python number"
            )
        return self._data.item()

    def tolist(self):
        if type(self._data) is not np.ndarray:
            raise _symbolic_value_error(self, "tolist()")
        return self._data.tolist()

    def to(self, *args, dtype=None, **kwargs) -> Tensor:
        """Convert to a dtype (differentiable); a device of 'cpu' or a tensor's dtype also work."""
        for arg in args:
            if isinstance(arg, Tensor):
                dtype = arg.dtype
            elif isinstance(arg, Device) or (isinstance(arg, str) and arg.split(":")[0]
                                             in ("cpu", "cuda")):
                Device(str(arg))
            else:
                dtype = arg
        if kwargs.get("device") is not None:
            Device(str(kwargs["device"]))
        if dtype is None:
            return self
        from flowgrad.functions._convert import cast

        return cast(self, dtypes.as_dtype(dtype))

    type = to

    def cpu(self) -> Tensor:
        return self

    def float(self) -> Tensor:
        return self.to(dtypes.float32)

    def double(self) -> Tensor:
        return self.to(dtypes.float64)

    def half(self) -> Tensor:
        return self.to(dtypes.float16)

    def long(self) -> Tensor:
        return self.to(dtypes.int64)

    def int(self) -> Tensor:
        return self.to(dtypes.int32)

    def bool(self) -> Tensor:
        return self.to(dtypes.bool_)

    def clone(self) -> Tensor:
        """A copy with its own memory; gradients flow back to the original."""
        from flowgrad.ops.elementwise import copy

        return copy.bind(self)

    def contiguous(self) -> Tensor:
        # A graph value's layout is the kernels' business: it is contiguous as far as we know.
        if type(self._data) is not np.ndarray or self._data.flags.c_contiguous:
            return self
        return self.clone()

    def is_contiguous(self) -> bool:
        return type(self._data) is not np.ndarray or bool(self._data.flags.c_contiguous)

    def new_zeros(self, *size, dtype=None) -> Tensor:
        from flowgrad.functions.creation import zeros

        return zeros(*size, dtype=self.dtype if dtype is None else dtype)

    def new_ones(self, *size, dtype=None) -> Tensor:
        from flowgrad.functions.creation import ones

        return ones(*size, dtype=self.dtype if dtype is None else dtype)

    def new_full(self, size, fill_value, dtype=None) -> Tensor:
        from flowgrad.functions.creation import full

        return full(size, fill_value, dtype=self.dtype if dtype is None else dtype)

    def new_tensor(self, data, dtype=None) -> Tensor:
        from flowgrad.functions.creation import tensor

        return tensor(data, dtype=self.dtype if dtype is None else dtype)

    # -- Python protocol ------------------------------------------------------------------

    def eval(self, feed_dict=None, session=None):
        """The value of this symbolic tensor, run in ``session`` (or the default session)."""
        from flowgrad.graph.session import eval_tensor

        return eval_tensor(self, feed_dict, session)

    def __len__(self) -> int:
        if not self._data.ndim:
            raise TypeError("len() of a 0-d tensor")
        return self._data.shape[0]

    def __iter__(self):
        if not self._data.ndim:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(self._data.shape[0]))

    def __bool__(self) -> bool:
        if type(self._data) is not np.ndarray:
            raise _symbolic_value_error(self, "bool() (an `if` or `while` on a tensor)")
        if self._data.size != 1:
            raise RuntimeError(
                f"bool(): the truth value of a tensor with {self._data.size} elements is "
                f"ambiguous; use .any() or .all()"
            )
        return bool(self._data)

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __index__(self) -> int:
        if type(self._data) is not np.ndarray:
            raise _symbolic_value_error(self, "using it as an index")
        if self._data.dtype.kind not in "iu" or self._data.size != 1:
            raise TypeError("only integer tensors of a single element can be used as an index")
        return int(self._data.item())

    def __hash__(self) -> int:
        return id(self)

    def __repr__(self) -> str:
        from flowgrad.format import tensor_repr

        if type(self._data) is not np.ndarray:
            from flowgrad.graph.ir import format_shape

            node = self._data
            if node.graph.traced is not None:
                import warnings

                from flowgrad.errors import at_user_site

                warnings.warn(at_user_site(
                    f"printing a tensor inside the compiled function {node.graph.traced} "
                    f"happens once, while tracing, and shows no value; return the tensor "
                    f"(or print outside the compiled function) to see its values"
                ), stacklevel=2)
            return (f"<symbolic tensor {node.name!r} op={node.op} "
                    f"shape={format_shape(node.shape)} dtype={self.dtype}>")
        return tensor_repr(self)

    def __getstate__(self) -> dict:
        # For copy and multiprocessing only; checkpoints never use pickle (see fg.save).
        return {"data": self._data, "requires_grad": self._rg}

    def __setstate__(self, state) -> None:
        self._fill(state["data"], state["requires_grad"])

    def __deepcopy__(self, memo) -> Tensor:
        if self.grad_fn is not None:
            raise RuntimeError("deepcopy: only leaf tensors can be deep-copied; use .detach()")
        t = Tensor._wrap(self._data.copy())
        if type(self) is not Tensor:
            t = type(self)(t, requires_grad=self._rg)
        t._rg = self._rg
        if self.grad is not None:
            t.grad = Tensor._wrap(self.grad._data.copy())
        memo[id(self)] = t
        return t

    # -- indexing -------------------------------------------------------------------------

    def __getitem__(self, index) -> Tensor:
        return F.getitem(self, index)

    def __setitem__(self, index, value) -> None:
        F.setitem(self, index, value)

    # -- operators ------------------------------------------------------------------------

    # The four arithmetic operators bind their primitive directly when both operands are
    # tensors of one dtype: the common case, and the hot path of every model.

    def __add__(self, other):
        if isinstance(other, Tensor) and other._data.dtype is self._data.dtype:
            return _add(self, other)
        return _add(*_operands(self, other))

    def __radd__(self, other):
        return _add(*_operands(other, self))

    def __sub__(self, other):
        if isinstance(other, Tensor) and other._data.dtype is self._data.dtype:
            return _sub(self, other)
        return F.sub(self, other)

    def __rsub__(self, other):
        return F.sub(other, self)

    def __mul__(self, other):
        if isinstance(other, Tensor) and other._data.dtype is self._data.dtype:
            return _mul(self, other)
        return _mul(*_operands(self, other))

    def __rmul__(self, other):
        return _mul(*_operands(other, self))

    def __truediv__(self, other):
        if (isinstance(other, Tensor) and other._data.dtype is self._data.dtype
                and self._data.dtype.kind == "f"):
            return _div(self, other)
        return F.div(self, other)

    def __rtruediv__(self, other):
        return F.div(other, self)

    def __floordiv__(self, other):
        return F.floor_divide(self, other)

    def __rfloordiv__(self, other):
        return F.floor_divide(other, self)

    def __mod__(self, other):
        return F.remainder(self, other)

    def __rmod__(self, other):
        return F.remainder(other, self)

    def __pow__(self, exponent):
        return F.pow(self, exponent)

    def __rpow__(self, base):
        return F.pow(base, self)

    def __matmul__(self, other):
        return F.matmul(self, other)

    def __rmatmul__(self, other):
        return F.matmul(other, self)

    def __neg__(self):
        return F.neg(self)

    def __pos__(self):
        return self

    def __abs__(self):
        return F.abs(self)

    def __invert__(self):
        return F.bitwise_not(self)

    def __and__(self, other):
        return F.bitwise_and(self, other)

    __rand__ = __and__

    def __or__(self, other):
        return F.bitwise_or(self, other)

    __ror__ = __or__

    def __xor__(self, other):
        return F.bitwise_xor(self, other)

    __rxor__ = __xor__

    def __eq__(self, other):
        if other is None or isinstance(other, str):
            return False
        return F.eq(self, other)

    def __ne__(self, other):
        if other is None or isinstance(other, str):
            return True
        return F.ne(self, other)

    def __lt__(self, other):
        return F.lt(self, other)

    def __le__(self, other):
        return F.le(self, other)

    def __gt__(self, other):
        return F.gt(self, other)

    def __ge__(self, other):
        return F.ge(self, other)

    # -- shape views ----------------------------------------------------------------------

    @property
    def T(self) -> Tensor:
        """All dimensions reversed."""
        return F.permute(self, tuple(range(self._data.ndim - 1, -1, -1)))

    @property
    def mT(self) -> Tensor:
        """The last two dimensions swapped (batched matrix transpose)."""
        return F.transpose(self, -2, -1)

    def isfinite(self) -> Tensor:
        from flowgrad.ops.elementwise import isfinite

        return isfinite.bind(self.detach())

    def isnan(self) -> Tensor:
        from flowgrad.ops.elementwise import isnan

        return isnan.bind(self.detach())

    def isinf(self) -> Tensor:
        from flowgrad.ops.elementwise import isinf

        return isinf.bind(self.detach())


class Parameter(Tensor):
    """A tensor that is a learnable parameter of a :class:`~flowgrad.nn.Module`.

    Assigning one to a module attribute registers it (``module.parameters()`` yields it). It
    shares memory with the tensor it is made from and requires grad by default.

    >>> import flowgrad as fg
    >>> fg.nn.Parameter(fg.zeros(2))
    Parameter containing:
    tensor([0., 0.], requires_grad=True)
    """

    __slots__ = ()

    def __new__(cls, data=None, requires_grad: bool = True) -> Parameter:
        if data is None:
            data = np.empty(0, dtype=dtypes.get_default_dtype().np)
        elif isinstance(data, Tensor):
            if data.grad_fn is not None:
                data = data.detach()
            data = data._data
        else:
            from flowgrad.functions.creation import tensor

            data = tensor(data)._data
        param = _new(cls)
        param._fill(data)
        param.requires_grad_(requires_grad)
        return param

    def __init__(self, data=None, requires_grad: bool = True) -> None:
        pass  # everything happens in __new__

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()

    def __reduce_ex__(self, protocol):
        return (Parameter, (Tensor._wrap(self._data), self._rg))


def ones_like_data(data: np.ndarray) -> np.ndarray:
    return np.ones(data.shape, dtype=data.dtype)


# The operations live in flowgrad.functions, which builds on this module; it also attaches the
# methods that are its functions (x.exp() is fg.exp(x)).
from flowgrad import functions as F  # noqa: E402
from flowgrad.functions._convert import operands as _operands  # noqa: E402
from flowgrad.ops import elementwise as _elementwise  # noqa: E402

_add = _elementwise.add.bind
_sub = _elementwise.sub.bind
_mul = _elementwise.mul.bind
_div = _elementwise.div.bind


def _symbolic_value_error(tensor: Tensor, what: str) -> Exception:
    """The error for asking a symbolic tensor for a value it does not have yet."""
    from flowgrad.errors import TracingError, at_user_site

    node = tensor._data
    if node.op == "group":
        return TracingError(at_user_site(f"{what}: {node.name!r} is an op, it has no value"))
    return TracingError(at_user_site(
        f"{what}: {node.name!r} is a symbolic tensor of a graph ({node.op}, shape "
        f"{node.shape}); it has no value until the graph runs. Fetch it with "
        f"Session.run / .eval(), and write conditions with fg.where (or fg.cond), or move "
        f"the check out of the graph"
    ))
