"""The reverse-mode walk shared by ``Tensor.backward`` and ``autograd.grad``.

One iterative walk (no recursion limit): order the nodes reachable from the outputs
topologically, then visit them outputs-first, calling each node's gradient rule once with the
sum of the gradients that flowed into it. Gradients of broadcast inputs are summed back to the
input's shape here, once, so gradient rules may return broadcast-shaped results.
"""

from __future__ import annotations

import numpy as np

from flowgrad.autograd.mode import STATE, no_grad, set_grad_enabled
from flowgrad.autograd.node import FREED_MESSAGE, Node
from flowgrad.errors import AnomalyError, at_user_site


def run_backward(roots, seeds, *, retain_graph: bool, create_graph: bool, targets=None):
    """Propagate ``seeds`` (gradients of ``roots``) backwards.

    With ``targets`` None, accumulate into the ``.grad`` of every leaf reached (``backward``).
    Otherwise return the gradients of the ``targets`` tensors, None where unreachable
    (``autograd.grad``), and leave ``.grad`` alone.
    """
    order = _topological_order([t.grad_fn for t in roots])
    grads: dict[Node, object] = {}
    leaf_grads: dict[int, list] = {}  # id(leaf) -> [leaf, grad, whether this walk owns it]
    # Without create_graph, sums of gradients go in place into buffers this walk allocated.
    # (A graph's gradients are nodes: they are summed by operations, never in place.)
    symbolic = any(type(seed._data) is not np.ndarray for seed in seeds)
    owned: set[Node] | None = None if create_graph or symbolic else set()
    for root, seed in zip(roots, seeds, strict=True):
        if root.grad_fn is None:
            _accumulate_leaf(leaf_grads, root, seed, owned)
        elif root.grad_fn in grads:
            _accumulate(grads, root.grad_fn, grads[root.grad_fn], seed, owned)
        else:
            grads[root.grad_fn] = seed

    captured_nodes: dict[Node, object] = {}
    if targets is not None:
        target_nodes = {t.grad_fn for t in targets if t.grad_fn is not None}
        target_leaves = {id(t) for t in targets if t.grad_fn is None}
        needed = _needed_nodes(order, target_nodes, target_leaves)
    else:
        target_nodes, needed = (), None

    anomaly = STATE.anomaly
    with set_grad_enabled(create_graph):
        for node in reversed(order):
            grad = grads.pop(node, None)
            if grad is None or (needed is not None and node not in needed
                                and node not in target_nodes):
                continue
            if node.hooks:
                grad = _run_hooks(node.hooks, grad)
            if node.retained is not None:
                _set_retained_grad(node.retained(), grad)
            if node in target_nodes:
                captured_nodes[node] = grad
                if node not in needed:
                    continue  # nothing to compute below a target: leave that graph alone
            if node.freed:
                raise RuntimeError(at_user_site(FREED_MESSAGE.format(op=node.prim.name)))
            input_grads = _checked_vjp(node, grad) if anomaly else node.prim.vjp(node, grad)
            for edge, shape, input_grad in zip(node.next, node.in_shapes, input_grads,
                                               strict=False):
                if edge is None or input_grad is None:
                    continue
                if input_grad._data.shape != shape:
                    input_grad = sum_to_shape(input_grad, shape)
                if type(edge) is Node:
                    existing = grads.get(edge)
                    if existing is None:
                        grads[edge] = input_grad
                    else:
                        _accumulate(grads, edge, existing, input_grad, owned)
                else:
                    _accumulate_leaf(leaf_grads, edge, input_grad, owned)
            if not retain_graph:
                node.free()

    if targets is not None:
        results = []
        for t in targets:
            if t.grad_fn is not None:
                results.append(captured_nodes.get(t.grad_fn))
            else:
                entry = leaf_grads.get(id(t))
                if entry is not None and t._hooks:
                    entry[1] = _run_hooks(t._hooks, entry[1])
                results.append(None if entry is None else entry[1])
        return results

    # Arrays no leaf may own alone: the seeds (the caller may hold them; add passes one on).
    handed_out = {id(seed._data) for seed in seeds}
    for leaf, grad, _ in leaf_grads.values():
        _store_leaf_grad(leaf, grad, create_graph, handed_out)
    return None


def _topological_order(start_nodes) -> list[Node]:
    """Nodes reachable from ``start_nodes``, each after every node it depends on."""
    order: list[Node] = []
    visited: set[int] = set()
    for start in start_nodes:
        if start is None or id(start) in visited:
            continue
        visited.add(id(start))
        stack = [(start, iter(start.next))]
        while stack:
            node, edges = stack[-1]
            for edge in edges:
                if type(edge) is Node and id(edge) not in visited:
                    visited.add(id(edge))
                    stack.append((edge, iter(edge.next)))
                    break
            else:
                stack.pop()
                order.append(node)
    return order


def _needed_nodes(order, target_nodes, target_leaves) -> set[Node]:
    """Nodes with an input on some path to a target: the only ones whose gradient rule
    ``autograd.grad`` has to run (the graph below the targets is neither run nor freed)."""
    needed: set[Node] = set()
    for node in order:  # dependencies come first
        if any(
            (type(e) is Node and (e in needed or e in target_nodes))
            or (e is not None and id(e) in target_leaves)
            for e in node.next
        ):
            needed.add(node)
    return needed


def _accumulate(grads: dict, node: Node, existing, grad, owned: set | None) -> None:
    """Add ``grad`` to ``existing``, the gradient flowing into ``node`` so far (fan-out)."""
    if owned is None:
        grads[node] = existing + grad
    elif node in owned and existing._data.dtype == grad._data.dtype:
        np.add(existing._data, grad._data, out=existing._data)
    else:
        grads[node] = existing + grad  # a fresh array: later sums may go in place
        owned.add(node)


def _accumulate_leaf(leaf_grads: dict, leaf, grad, owned: set | None) -> None:
    entry = leaf_grads.get(id(leaf))
    if entry is None:
        leaf_grads[id(leaf)] = [leaf, grad, False]
    elif owned is not None and entry[2] and entry[1]._data.dtype == grad._data.dtype:
        np.add(entry[1]._data, grad._data, out=entry[1]._data)
    else:
        entry[1] = entry[1] + grad
        entry[2] = owned is not None


def _store_leaf_grad(leaf, grad, create_graph: bool, handed_out: set[int]) -> None:
    """Accumulate into ``leaf.grad``; a fresh, writable array the leaf owns alone."""
    from flowgrad.tensor import Tensor

    if leaf._hooks:
        grad = _run_hooks(leaf._hooks, grad)
    if type(grad._data) is not np.ndarray:  # traced: .grad is a node until the graph runs
        leaf.grad = grad if leaf.grad is None else leaf.grad + grad
        return
    if not create_graph:
        # The gradient gets the parameter's memory layout (as PyTorch's do): a transposed
        # weight gradient would make every optimizer update a slow strided loop.
        data = grad._data
        if leaf.grad is not None:
            data = np.add(leaf.grad._data, data, out=np.empty_like(leaf._data))
        elif (not data.flags.writeable or not data.flags.owndata or id(data) in handed_out
              or data.dtype != leaf._data.dtype or data.strides != leaf._data.strides):
            copy = np.empty_like(leaf._data)
            np.copyto(copy, data, casting="same_kind")
            data = copy
        handed_out.add(id(data))
        leaf.grad = Tensor._wrap(data)
    else:
        leaf.grad = grad if leaf.grad is None else leaf.grad + grad


def _set_retained_grad(tensor, grad) -> None:
    if tensor is None:
        return
    with no_grad():
        tensor.grad = grad.detach() if tensor.grad is None else tensor.grad + grad


def _run_hooks(hooks, grad):
    for hook in hooks:
        replaced = hook(grad)
        if replaced is not None:
            grad = replaced
    return grad


def _checked_vjp(node: Node, grad) -> list:
    """Run a gradient rule in anomaly mode: check what it returns, not its steps.

    The rule's own operations are not checked one by one (a rule may mask an infinite
    intermediate with ``where``), so a bad gradient is reported as this node's, with the
    user's line that created it, not as an anonymous ``div`` inside the backward.
    """
    STATE.anomaly = False
    try:
        input_grads = node.prim.vjp(node, grad)
    finally:
        STATE.anomaly = True
    _check_finite_grads(node, input_grads)
    return input_grads


def _check_finite_grads(node: Node, input_grads) -> None:
    for index, grad in enumerate(input_grads):
        if grad is None or grad._data.dtype.kind != "f":
            continue
        if not np.isfinite(grad._data).all():
            bad = "nan" if np.isnan(grad._data).any() else "inf"
            where = f" (the {node.prim.name} was created at {node.site})" if node.site else ""
            raise AnomalyError(
                f"{node.prim.backward_name} returned {bad} values in the gradient of its "
                f"input {index}{where}."
            )


def sum_to_shape(grad, shape: tuple):
    """Sum a broadcast gradient back to ``shape`` (the inverse of broadcasting)."""
    if grad.shape == shape:
        return grad
    if type(grad._data) is not np.ndarray:  # a graph: the sizes may be known at run time only
        return _sum_to_symbolic(grad, shape)
    return _sum_to_static(grad, shape)


def _sum_to_static(grad, shape: tuple):
    """The sums that undo broadcasting to a fully known ``shape``."""
    lead = grad.ndim - len(shape)
    stretched = tuple(
        lead + i for i, size in enumerate(shape) if size == 1 and grad.shape[lead + i] != 1
    )
    if not stretched:  # only leading dimensions were added: one sum gives the shape
        return grad.sum(dim=tuple(range(lead)))
    grad = grad.sum(dim=tuple(range(lead)) + stretched, keepdim=True)
    return grad.reshape(shape)


def _sum_to_symbolic(grad, shape):
    """``sum_to_shape`` in a graph: static code when every size is known, else the
    ``sum_to`` primitive, which takes the target from the input's value (or a static shape)
    when the graph runs."""
    from flowgrad.ops.rules import DynamicShape, UnknownShape, is_dynamic
    from flowgrad.ops.shape import sum_to
    from flowgrad.tensor import Tensor

    if isinstance(shape, DynamicShape | UnknownShape):
        return sum_to.bind(grad, Tensor._wrap(shape.source), shape=None)
    if is_dynamic(grad._data.shape) or is_dynamic(shape):
        return sum_to.bind(grad, shape=tuple(shape))
    return _sum_to_static(grad, shape)
