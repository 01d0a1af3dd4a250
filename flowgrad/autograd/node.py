"""The tape: one :class:`Node` per recorded operation, and its saved values.

A node keeps what the operation's gradient rule needs (the inputs or the output it declared as
saved, with their version numbers) and its edges to the nodes (or leaf tensors) that produced
its inputs. Edges are captured when the node is created, so later in-place operations that
re-point a tensor's ``grad_fn`` cannot corrupt the graph; saved values are checked against
their version numbers, so reading one that was modified in place is an error, not a wrong
gradient.
"""

from __future__ import annotations

import operator

FREED = object()  # the saved values of a node after backward(retain_graph=False)

FREED_MESSAGE = (
    "{op} backward: trying to backward through the graph a second time, or to use values that "
    "were freed by the first backward(). Pass retain_graph=True to the first backward() (or "
    "autograd.grad()) if you need to go through the graph again."
)


class Node:
    """A recorded operation: gradient rule, edges to its inputs' producers, saved values.

    Creating one is on the hot path of every recorded operation, so rarely used fields are
    class-level defaults and only what the operation needs is set.
    """

    saved = None  # the input tensors, when the primitive saves any
    saved_versions: list  # (input index, version when saved) for each saved input
    out_data = None  # the output array, when the primitive saves it
    out_box: list  # the output's version counter
    site = None  # "file.py:line" of the user code that made it (anomaly mode only)
    retained = None  # weak reference to a non-leaf tensor whose .grad is kept
    hooks = None

    def __init__(self, prim, attrs, inputs, arrays, result) -> None:
        self.prim = prim
        self.attrs = attrs
        # Unrolled for one and two inputs: this runs for every recorded operation.
        count = len(inputs)
        if count == 2:
            a, b = inputs
            self.next = (a.grad_fn or (a if a._rg else None), b.grad_fn or (b if b._rg else None))
            self.in_shapes = (arrays[0].shape, arrays[1].shape)
        elif count == 1:
            a = inputs[0]
            self.next = (a.grad_fn or (a if a._rg else None),)
            self.in_shapes = (arrays[0].shape,)
        else:
            self.next = tuple(t.grad_fn or (t if t._rg else None) for t in inputs)
            self.in_shapes = tuple(map(_shape_of, arrays))
        save = prim.save_inputs
        if save:
            # A tensor without a version counter has never been modified: version 0.
            self.saved = inputs
            if count == 2 and type(save) is tuple and len(save) == 2:
                box_a, box_b = a._vc, b._vc
                self.saved_versions = ((0, box_a[0] if box_a else 0),
                                       (1, box_b[0] if box_b else 0))
            else:
                if type(save) is slice:
                    save = range(count)[save]
                self.saved_versions = tuple(
                    (i, inputs[i]._vc[0] if inputs[i]._vc else 0) for i in save
                )
        if prim.save_output:
            self.out_box = result._vc = [0]
            self.out_data = result._data

    @property
    def needs_grad(self) -> list[bool]:
        """For each input, whether a gradient has to flow to it."""
        return [e is not None for e in self.next]

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
        current = t._vc[0] if t._vc else 0
        for saved_index, version in self.saved_versions:
            if saved_index == index and current != version:
                raise RuntimeError(self._modified_message(f"input {index}", t._data,
                                                          current, version))
        return t

    @property
    def output(self):
        """The saved output, as a tensor whose ``grad_fn`` is this node (higher-order grads)."""
        from flowgrad.tensor import Tensor

        if self.out_data is None:
            raise RuntimeError(FREED_MESSAGE.format(op=self.prim.name))
        if self.out_box[0] != 0:
            raise RuntimeError(self._modified_message("its output", self.out_data,
                                                      self.out_box[0], 0))
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


_shape_of = operator.attrgetter("shape")
