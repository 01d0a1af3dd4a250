"""Dead-code elimination: drop pure nodes whose value nothing uses.

Other passes leave such nodes behind (a merged duplicate, the inputs of a folded constant).
Side effects (``assign``, ``group``) are live by definition, and so is everything they read.
"""

from __future__ import annotations

from flowgrad.graph.ir import SIDE_EFFECTS, Node
from flowgrad.graph.passes.program import PassResult, Program

_LISTED = 12  # names shown in a note before "... and N more"


def dce(program: Program) -> PassResult:
    """Drop every pure node that no output, side effect or live node reads.

    >>> import flowgrad as fg
    >>> from flowgrad.graph.passes import Program
    >>> from flowgrad.graph.passes.dce import dce
    >>> with fg.Graph().as_default() as g:
    ...     x = fg.placeholder(fg.float32, name="x")
    ...     y, unused = x + 1, (x * 2).exp()
    >>> result = dce(Program(list(g.nodes), [y._data]))
    >>> [n.name for n in result.program.nodes], result.notes
    (['x', 'Const', 'add'], ['removed 3 unused nodes: Const_1, mul, exp'])
    """
    live: set[Node] = set(program.outputs)
    for node in reversed(program.nodes):  # users come after their inputs
        if node.op in SIDE_EFFECTS:
            live.add(node)
        if node in live:
            live.update(node.inputs)
    dropped = [n for n in program.nodes if n not in live]
    if not dropped:
        return PassResult(program, False)
    kept = [n for n in program.nodes if n in live]
    names = ", ".join(n.name for n in dropped[:_LISTED])
    if len(dropped) > _LISTED:
        names += f" ... and {len(dropped) - _LISTED} more"
    return PassResult(Program(kept, list(program.outputs)), True,
                      [f"removed {len(dropped)} unused nodes: {names}"])
