"""Graph mode: define the computation once as a dataflow graph, optimise it, run it many
times (TensorFlow-1 style), with the same primitives, gradient rules, layers and optimizers
as eager mode.

A tensor is symbolic when it holds a graph :class:`~flowgrad.graph.ir.Node`; any operation
with a symbolic input adds a node (see :mod:`.build`). :class:`Session` runs the graph.
"""

from flowgrad.graph.build import bind_symbolic, constant, is_symbolic, placeholder
from flowgrad.graph.compile import CompiledFunction, compile, cond, function
from flowgrad.graph.gradients import gradients
from flowgrad.graph.ir import Graph, Node, get_default_graph, name_scope, reset_default_graph
from flowgrad.graph.session import Session, get_default_session
from flowgrad.graph.variables import (
    Variable,
    global_variables,
    global_variables_initializer,
    group,
    trainable_variables,
)
from flowgrad.ops import base as _base

_base.bind_symbolic = bind_symbolic

__all__ = [
    "CompiledFunction", "Graph", "Node", "Session", "Variable", "compile", "cond", "constant",
    "function", "get_default_graph",
    "get_default_session", "global_variables", "global_variables_initializer", "gradients",
    "group", "is_symbolic", "name_scope", "placeholder", "reset_default_graph",
    "trainable_variables",
]
