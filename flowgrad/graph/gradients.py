"""``fg.gradients``: gradient nodes from the same gradient rules as eager autograd.

Symbolic operations are recorded on the tape as eager ones are, so the reverse walk of
:mod:`flowgrad.autograd` runs unchanged: each gradient rule, given symbolic gradients, adds
its nodes to the graph. The walk records its own operations (``create_graph``), so gradients
of gradients work too.
"""

from __future__ import annotations

from flowgrad.autograd.engine import run_backward
from flowgrad.errors import GraphError, ShapeError, at_user_site
from flowgrad.graph.build import full_like_node, graph_of, is_symbolic
from flowgrad.tensor import Tensor


def gradients(ys, xs, grad_ys=None) -> list[Tensor | None]:
    """The symbolic gradients of ``sum(ys)`` with respect to each of ``xs`` (None where a
    ``x`` does not affect ``ys``), as TF-1's ``tf.gradients``. ``grad_ys`` weights each
    ``y`` (ones by default).

    >>> import flowgrad as fg
    >>> with fg.Graph().as_default():
    ...     x = fg.placeholder(fg.float32, shape=(3,), name="x")
    ...     (dx,) = fg.gradients((x * x).sum(), [x])
    ...     with fg.Session() as sess:
    ...         sess.run(dx, feed_dict={x: [1.0, 2.0, 3.0]})
    array([2., 4., 6.], dtype=float32)
    """
    ys = list(ys) if isinstance(ys, list | tuple) else [ys]
    xs_list = list(xs) if isinstance(xs, list | tuple) else [xs]
    for value in ys:
        if not is_symbolic(value):
            raise GraphError(at_user_site(
                f"gradients: expected symbolic tensors of a graph, got "
                f"{type(value).__name__}{'' if not isinstance(value, Tensor) else ' (eager)'}"
            ))
    for value in xs_list:  # symbolic, or an eager parameter that modules capture
        if not isinstance(value, Tensor):
            raise TypeError(at_user_site(f"gradients: xs must be tensors, got "
                                         f"{type(value).__name__}"))
    graph_of(*ys, *xs_list)  # one graph
    if grad_ys is None:
        seeds = [full_like_node(y, 1.0) for y in ys]
    else:
        seeds = list(grad_ys) if isinstance(grad_ys, list | tuple) else [grad_ys]
        if len(seeds) != len(ys):
            raise ShapeError(at_user_site(
                f"gradients: {len(seeds)} grad_ys for {len(ys)} ys"
            ))
        seeds = [s if isinstance(s, Tensor) else Tensor._wrap(
            full_like_node(y, 0.0)._data) + s for s, y in zip(seeds, ys, strict=True)]
    roots = [(y, s) for y, s in zip(ys, seeds, strict=True) if y._rg]
    if not roots:
        return [None] * len(xs_list)
    results = run_backward([r for r, _ in roots], [s for _, s in roots], retain_graph=True,
                           create_graph=True, targets=xs_list)
    return results
