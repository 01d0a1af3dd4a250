"""Algebraic simplification: rewrites that give the same value with less work.

- ``x*1``, ``1*x``, ``x+0``, ``0+x``, ``x-0``, ``x/1`` (a constant of only ones or zeros)
  become ``x``, but only when the result has x's shape and dtype and the constant fits in
  x's shape: an operation that broadcasts or promotes does real work;
- ``neg(neg(x))`` becomes ``x``;
- a permute of a permute becomes one permute, or ``x`` when the two cancel; a permute that
  keeps the order becomes ``x``;
- the transpose of a matrix product nothing else reads becomes the product of the
  transposes in the other order (a weight gradient then comes out contiguous);
- ReLU's gradient through max pooling masks the pooled gradient before unpooling it;
- a reshape of a reshape becomes one reshape of the first one's input (both are in C order,
  so the intermediate shape does not matter, even when resolved at run time); a reshape to
  x's own shape becomes ``x`` when both shapes are fully known.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from flowgrad.graph.ir import Node
from flowgrad.graph.passes.program import PassResult, Program, rebuild

# Which constant operand leaves the other unchanged: (op, its position, its value, pattern).
_IDENTITIES = (
    ("mul", 1, 1, "x*1"), ("mul", 0, 1, "1*x"), ("add", 1, 0, "x+0"), ("add", 0, 0, "0+x"),
    ("sub", 1, 0, "x-0"), ("div", 1, 1, "x/1"),
)


def simplify(program: Program) -> PassResult:
    """Apply the rewrites above, each node seeing its inputs already rewritten.

    >>> import flowgrad as fg
    >>> from flowgrad.graph.passes import Program
    >>> from flowgrad.graph.passes.simplify import simplify
    >>> with fg.Graph().as_default() as g:
    ...     x = fg.placeholder(fg.float32, shape=(2, 3), name="x")
    ...     y = (x * 1).permute(1, 0).permute(1, 0) - 0
    >>> result = simplify(Program(list(g.nodes), [y._data]))
    >>> result.notes
    ['x*1: mul -> x', 'permute pair: permute_1 -> x (the two cancel)', 'x-0: sub -> x']
    >>> result.program.outputs[0] is x._data
    True
    """
    mapping: dict[Node, Node] = {}

    def resolve(node: Node) -> Node:
        while node in mapping:
            node = mapping[node]
        return node

    nodes, notes = [], []
    present = set(program.nodes)
    uses: dict[Node, int] = {}
    for node in program.nodes:
        for source in node.inputs:
            uses[source] = uses.get(source, 0) + 1
    for node in program.outputs:
        uses[node] = uses.get(node, 0) + 1
    for node in program.nodes:
        rule = _RULES.get(node.op)
        inputs = tuple(resolve(n) for n in node.inputs)
        found = rule(node, inputs, resolve) if rule else None
        if found is None and node.op == "permute":
            found = _transposed_product(node, inputs, uses)
        if found is None and node.op == "where":
            found = _mask_before_unpooling(node, inputs, uses)
        if found is None:
            nodes.append(node)
            continue
        replacement, note = found
        mapping[node] = replacement
        notes.append(note)
        for new in _new_nodes(replacement, present):  # new nodes, in the old one's place
            present.add(new)
            nodes.append(new)
    if not mapping:
        return PassResult(program, False)
    return PassResult(rebuild(Program(nodes, list(program.outputs)), mapping), True, notes)


def _identity(node: Node, inputs: tuple[Node, ...], resolve) -> tuple[Node, str] | None:
    """``x*1``, ``x+0`` and the like: x, when nothing is broadcast or promoted."""
    for op, position, unit, pattern in _IDENTITIES:
        if node.op != op or len(inputs) != 2:
            continue
        constant, x = inputs[position], inputs[1 - position]
        if (constant.op == "constant" and _all_equal(constant.attrs["value"], unit)
                and _unchanged(node, x) and _fits(constant.attrs["value"].shape, x.shape)):
            return x, f"{pattern}: {node.name} -> {x.name}"
    return None


def _double_neg(node: Node, inputs: tuple[Node, ...], resolve) -> tuple[Node, str] | None:
    inner = inputs[0]
    if inner.op != "neg":
        return None
    x = resolve(inner.inputs[0])
    return x, f"neg(neg(x)): {node.name} -> {x.name}"


def _permute(node: Node, inputs: tuple[Node, ...], resolve) -> tuple[Node, str] | None:
    inner, dims = inputs[0], tuple(node.attrs["dims"])
    if inner.op == "permute":
        source = resolve(inner.inputs[0])
        dims = tuple(inner.attrs["dims"][d] for d in dims)  # result dim i is source dim dims[i]
        if dims == tuple(range(len(dims))):
            return source, f"permute pair: {node.name} -> {source.name} (the two cancel)"
        merged = _remake(node, source, {**node.attrs, "dims": dims})
        return merged, f"permute pair: {node.name} -> permute({source.name}) dims {dims}"
    if dims == tuple(range(len(dims))):
        return inner, f"identity permute: {node.name} -> {inner.name}"
    return None


def _reshape(node: Node, inputs: tuple[Node, ...], resolve) -> tuple[Node, str] | None:
    x = inputs[0]
    chained = x.op == "reshape"
    if chained:
        x = resolve(x.inputs[0])
    if _known(node.shape) and _known(x.shape) and tuple(node.shape) == tuple(x.shape):
        kind = "reshape chain" if chained else "identity reshape"
        return x, f"{kind}: {node.name} -> {x.name} (same shape)"
    if chained:
        return _remake(node, x, node.attrs), f"reshape chain: {node.name} reshapes {x.name}"
    return None


def _transposed_product(node: Node, inputs: tuple[Node, ...], uses: dict
                        ) -> tuple[Node, str] | None:
    """``(a @ b).T`` computed as ``b.T @ a.T``: the product comes out in the layout wanted
    (a weight's gradient), where the transpose of it would be a strided view that makes every
    later elementwise pass (an optimizer's update) slow. Only for a product nothing else
    reads (else it would be computed twice)."""
    product, dims = inputs[0], tuple(node.attrs["dims"])
    if product.op != "matmul" or uses.get(product, 0) != 1 or len(dims) < 2:
        return None
    a, b = product.inputs
    n = len(dims)
    if dims != (*range(n - 2), n - 1, n - 2) or a.ndim is None or b.ndim is None or min(
            a.ndim, b.ndim) < 2:
        return None
    a_t, b_t = (_transpose(x, node, suffix) for x, suffix in ((a, "a_t"), (b, "b_t")))
    swapped = Node(node.graph, "matmul", (b_t, a_t), {}, node.shape, node.dtype, node.name,
                   node.site, product.prim)
    return swapped, f"transposed product: {node.name} -> {b.name}.T @ {a.name}.T"


def _mask_before_unpooling(node: Node, inputs: tuple[Node, ...], uses: dict
                           ) -> tuple[Node, str] | None:
    """ReLU's gradient through max pooling, ``where(r > 0, unpool(g), 0)``, computed as
    ``unpool(where(pool(r) > 0, g, 0))``: unpooling puts each g at its window's maximum
    (zeros elsewhere), whose value in r is the pooled one, so masking the pooled values is
    the same and touches a quarter of the memory (a conv-ReLU-pool block's backward)."""
    condition, unpooled, zero = inputs
    if not (condition.op == "gt" and _is_zero(condition.inputs[1]) and _is_zero(zero)
            and unpooled.op == "max_pool2d_backward" and uses.get(unpooled, 0) == 1):
        return None
    relu_out = condition.inputs[0]
    grad, argmax = unpooled.inputs
    if argmax.op != "max_pool2d_argmax" or argmax.inputs[0] is not relu_out:
        return None
    from flowgrad.ops import PRIMITIVES

    def make(op: str, args: tuple, shape, dtype, suffix: str, attrs=None) -> Node:
        return Node(node.graph, op, args, attrs or {}, shape, dtype, f"{node.name}/{suffix}",
                    node.site, PRIMITIVES[op])

    pooled = make("max_pool2d", (relu_out, argmax), argmax.shape, relu_out.dtype, "pooled")
    kept = make("gt", (pooled, condition.inputs[1]), argmax.shape, condition.dtype, "kept")
    masked = make("where", (kept, grad, zero), grad.shape, grad.dtype, "masked")
    result = Node(node.graph, unpooled.op, (masked, argmax), unpooled.attrs, node.shape,
                  node.dtype, node.name, node.site, unpooled.prim)
    return result, f"mask before unpooling: {node.name} masks the pooled gradient"


def _is_zero(node: Node) -> bool:
    return node.op == "constant" and node.attrs["value"].ndim == 0 and _all_equal(
        node.attrs["value"], 0)


def _transpose(x: Node, like: Node, suffix: str) -> Node:
    n = x.ndim
    dims = (*range(n - 2), n - 1, n - 2)
    shape = None if x.shape is None else tuple(x.shape[d] for d in dims)
    return Node(like.graph, "permute", (x,), {"dims": dims}, shape, x.dtype,
                f"{like.name}/{suffix}", like.site, like.prim)


def _new_nodes(replacement: Node, present: set) -> list[Node]:
    """``replacement`` and the new nodes it reads (at any depth), inputs first."""
    order: list[Node] = []
    seen: set[Node] = set()

    def visit(node: Node) -> None:
        if node in present or node in seen:
            return
        seen.add(node)
        for source in node.inputs:
            visit(source)
        order.append(node)

    visit(replacement)
    return order


_RULES: dict[str, Callable] = {
    "mul": _identity, "add": _identity, "sub": _identity, "div": _identity,
    "neg": _double_neg, "permute": _permute, "reshape": _reshape,
}


def _remake(node: Node, source: Node, attrs: dict) -> Node:
    """``node``'s operation (same name, shape, dtype) applied to ``source`` instead."""
    return Node(node.graph, node.op, (source,), attrs, node.shape, node.dtype, node.name,
                node.site, node.prim)


def _all_equal(value: np.ndarray, unit: int) -> bool:
    return bool(np.all(value == unit))


def _unchanged(node: Node, x: Node) -> bool:
    """Whether ``node`` has exactly x's dtype and static shape (unknown dims included)."""
    return node.dtype == x.dtype and _static(node.shape) == _static(x.shape)


def _static(shape) -> tuple | None:
    return None if shape is None else tuple(shape)


def _fits(shape: tuple, x_shape) -> bool:
    """Whether a constant of ``shape`` broadcasts to ``x_shape`` without enlarging x (every
    dimension 1, or equal to x's known size)."""
    if not shape:
        return True
    if x_shape is None or len(shape) > len(x_shape):
        return False
    return all(d == 1 or d == xd for d, xd in zip(shape, x_shape[len(x_shape) - len(shape):],
                                                   strict=True))


def _known(shape) -> bool:
    return shape is not None and None not in shape
