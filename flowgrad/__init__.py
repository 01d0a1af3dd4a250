"""flowgrad: eager autograd and static dataflow graphs on one NumPy core.

>>> import flowgrad as fg
>>> x = fg.tensor([1.0, 2.0, 3.0], requires_grad=True)
>>> y = (x * x).sum()
>>> y.backward()
>>> x.grad
tensor([2., 4., 6.])
"""

from flowgrad import (
    autograd,
    data,
    errors,
    functions,
    graph,
    keras,
    memory,
    nn,
    onnx,
    ops,
    optim,
    utils,
)
from flowgrad.autograd import (
    detect_anomaly,
    enable_grad,
    is_grad_enabled,
    no_grad,
    set_grad_enabled,
)
from flowgrad.dtypes import (
    DType,
    bool_,
    float16,
    float32,
    float64,
    get_default_dtype,
    int8,
    int16,
    int32,
    int64,
    promote_types,
    result_type,
    set_default_dtype,
    uint8,
)
from flowgrad.functions import *  # noqa: F403
from flowgrad.graph import (
    CompiledFunction,
    Graph,
    Session,
    Variable,
    compile,
    cond,
    constant,
    function,
    get_default_graph,
    get_default_session,
    global_variables,
    global_variables_initializer,
    gradients,
    group,
    name_scope,
    placeholder,
    reset_default_graph,
    trainable_variables,
)
from flowgrad.io.checkpoint import load, save
from flowgrad.random import (
    Generator,
    default_generator,
    get_rng_state,
    initial_seed,
    manual_seed,
    seed,
    set_rng_state,
)
from flowgrad.tensor import Device, Tensor


def is_tensor(obj) -> bool:
    """Whether ``obj`` is a flowgrad tensor."""
    return isinstance(obj, Tensor)


def numel(input: Tensor) -> int:
    """The number of elements of ``input``."""
    return input.numel()


# PyTorch's dtype aliases (fg.bool, fg.float, fg.long, ...). They shadow the builtins in this
# module's namespace only, so they come last.
bool = bool_
half, double, long, short = float16, float64, int64, int16
float, int = float32, int32
device = Device
__version__ = "0.1.0"
