"""Pruning: keep only the nodes the outputs need (a run computes nothing else)."""

from __future__ import annotations

from flowgrad.graph.passes.program import PassResult, Program


def prune(program: Program) -> PassResult:
    """Drop every node no output depends on.

    >>> import flowgrad as fg
    >>> from flowgrad.graph.passes import Program, prune
    >>> with fg.Graph().as_default() as g:
    ...     x = fg.placeholder(fg.float32, name="x")
    ...     used, unused = x + 1, x * 2
    >>> result = prune(Program(list(g.nodes), [used._data]))
    >>> [n.name for n in result.program.nodes], result.notes
    (['x', 'Const', 'add'], ['removed 2 nodes no output needs: Const_1, mul'])
    """
    needed = Program.needed_by(program.outputs)
    keep = {id(n) for n in needed.nodes}
    dropped = [n for n in program.nodes if id(n) not in keep]
    if not dropped:
        return PassResult(program, False)
    nodes = [n for n in program.nodes if id(n) in keep]
    names = ", ".join(n.name for n in dropped[:8]) + (" ..." if len(dropped) > 8 else "")
    return PassResult(Program(nodes, list(program.outputs)), True,
                      [f"removed {len(dropped)} nodes no output needs: {names}"])
