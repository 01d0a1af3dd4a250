"""The tape: one :class:`Node` per recorded operation, and its saved values.

A node keeps what the operation's gradient rule needs (the inputs or the output it declared as
saved, with their version numbers) and its edges to the nodes (or leaf tensors) that produced
its inputs. Edges are captured when the node is created, so later in-place operations that
re-point a tensor's ``grad_fn`` cannot corrupt the graph; saved values are checked against
their version numbers, so reading one that was modified in place is an error, not a wrong
gradient.
"""

from __future__ import annotations

from flowgrad.autograd.mode import STATE
from flowgrad.errors import user_site

FREED = object()  # the saved values of a node after backward(retain_graph=False)

FREED_MESSAGE = (
    "{op} backward: trying to backward through the graph a second time, or to use values that "
    "were freed by the first backward(). Pass retain_graph=True to the first backward() (or "
    "autograd.grad()) if you need to go through the graph again."
)


class Node:
    """A recorded operation: gradient rule, edges to its inputs' producers, saved values."""

    __slots__ = (
        "prim", "attrs", "next", "in_shapes", "needs_grad", "saved", "saved_versions",
        "out_data", "out_box", "out_version", "site", "retained", "hooks", "__weakref__",
    )

    def __init__(self, prim, attrs, inputs, in_shapes, result) -> None:
        self.prim = prim
        self.attrs = attrs
        edges = []
        for t in inputs:
            if t.grad_fn is not None:
                edges.append(t.grad_fn)
            elif t.requires_grad:
                edges.append(t)
            else:
                edges.append(None)
        self.next = edges
        self.needs_grad = [e is not None for e in edges]
        self.in_shapes = in_shapes
        self.retained = None
        self.hooks = None
        self.site = user_site() if STATE.anomaly else None
        save = prim.save_inputs
        if save:
            self.saved = inputs
            if type(save) is slice:
                save = range(len(inputs))[save]
            self.saved_versions = [(i, _version_box(inputs[i])[0]) for i in save]
        else:
            self.saved = None
        if prim.save_output:
            box = result._vc = [0]
            self.out_box = box
            self.out_version = 0
            self.out_data = result._data
        else:
            self.out_data = None

    # -- what gradient rules read -------------------------------------------------------

    @property
    def inputs(self) -> tuple:
        """The saved input tensors, checked to be unmodified since the forward."""
        for index, _ in self.saved_versions:
            self.input(index)
        return self.saved

    def input(self, index: int):
        """Saved input ``index``, checked to be unmodified since the forward.

        Gradient rules that need only some inputs read just those, so modifying an input
        in place that the gradient does not need (``y = x * 3; y *= 2``) stays allowed.
        """
        saved = self.saved
        if saved is FREED:
            raise RuntimeError(FREED_MESSAGE.format(op=self.prim.name))
        t = saved[index]
        for saved_index, version in self.saved_versions:
            if saved_index == index and t._vc[0] != version:
                raise RuntimeError(self._modified_message(f"input {index}", t._data,
                                                          t._vc[0], version))
        return t

    @property
    def output(self):
        """The saved output, as a tensor whose ``grad_fn`` is this node (higher-order grads)."""
        from flowgrad.tensor import Tensor

        if self.out_data is None:
            raise RuntimeError(FREED_MESSAGE.format(op=self.prim.name))
        if self.out_box[0] != self.out_version:
            raise RuntimeError(self._modified_message("its output", self.out_data,
                                                      self.out_box[0], self.out_version))
        out = Tensor._wrap(self.out_data)
        out.requires_grad = True
        out.grad_fn = self
        return out

    def _modified_message(self, what, data, version, expected) -> str:
        where = f" created at {self.site}" if self.site else ""
        hint = "" if self.site else (
            " Run under fg.autograd.detect_anomaly() to see the line that created the operation."
        )
        return (
            f"{self.prim.name}{where}: {what} (shape {tuple(data.shape)}, {data.dtype}) is "
            f"needed for the gradient but was modified by an in-place operation (it is at "
            f"version {version}; expected version {expected}). Use an out-of-place operation "
            f"(y = y + 1 instead of y += 1) or .clone() the tensor before modifying it.{hint}"
        )

    def free(self) -> None:
        """Drop the saved values once backward has used them (retain_graph=False)."""
        if self.saved is not None:
            self.saved = FREED
        self.out_data = None

    @property
    def freed(self) -> bool:
        return self.saved is FREED or (self.prim.save_output and self.out_data is None)

    # -- PyTorch-compatible introspection -------------------------------------------------

    def name(self) -> str:
        return self.prim.backward_name

    @property
    def next_functions(self) -> tuple:
        return tuple((e if isinstance(e, Node) else None, 0) for e in self.next)

    def register_hook(self, hook) -> None:
        """Call ``hook(grad)`` on the gradient of this node's output; it may return a new one."""
        if self.hooks is None:
            self.hooks = []
        self.hooks.append(hook)

    def __repr__(self) -> str:
        return f"<{self.prim.backward_name} object>"


def _version_box(t) -> list:
    box = t._vc
    if box is None:
        box = t._vc = [0]
    return box
