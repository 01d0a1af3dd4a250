"""Optimisation passes and the pass manager.

A pass is a small function ``pass_(program) -> PassResult``: it takes a :class:`Program` (the
nodes a run needs, in a valid order, and its outputs) and returns a new program, whether it
changed anything, and notes saying what (for ``explain()``). Nodes are immutable: a pass that
rewrites one makes a new node. :func:`optimize` runs the passes in order to a fixed point,
verifies the program after each pass (naming the pass that broke it), and lets any pass be
switched off by name.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from flowgrad.errors import GraphError
from flowgrad.graph.ir import Graph, Node
from flowgrad.graph.passes.cse import cse
from flowgrad.graph.passes.dce import dce
from flowgrad.graph.passes.fold import fold
from flowgrad.graph.passes.program import PassResult, Program, rebuild
from flowgrad.graph.passes.prune import prune
from flowgrad.graph.passes.simplify import simplify

__all__ = [
    "PASSES", "Optimized", "PassResult", "Program", "cse", "dce", "fold", "optimize", "prune",
    "rebuild", "simplify",
]

#: The passes in the order they run, by name.
PASSES: dict[str, Callable[[Program], PassResult]] = {
    "prune": prune, "dce": dce, "cse": cse, "fold": fold, "simplify": simplify,
}

_MAX_ROUNDS = 10


@dataclass
class Optimized:
    """The optimised program and what each pass did, for ``explain()``."""

    program: Program
    before: int
    log: list[tuple[str, int, int, list[str]]] = field(default_factory=list)

    def report(self) -> str:
        lines = [f"{self.before} nodes before, {len(self.program.nodes)} after"]
        for name, before, after, notes in self.log:
            lines.append(f"{name}: {before} -> {after} nodes")
            lines.extend(f"  {note}" for note in notes)
        if not self.log:
            lines.append("(no pass changed anything)")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.report()


def optimize(graph: Graph, outputs: Iterable[Node], disable: Iterable[str] = ()) -> Optimized:
    """Run the passes (except those named in ``disable``) on what ``outputs`` need."""
    disabled = set(disable)
    unknown = disabled - set(PASSES)
    if unknown:
        raise GraphError(f"optimize: no pass named {sorted(unknown)}; passes are {list(PASSES)}")
    program = Program(list(graph.nodes), list(outputs))  # pruning shows in the report
    result = Optimized(program, before=len(program.nodes))
    for _ in range(_MAX_ROUNDS):
        changed_this_round = False
        for name, pass_ in PASSES.items():
            if name in disabled:
                continue
            before = len(program.nodes)
            outcome = pass_(program)
            try:
                outcome.program.verify()
            except GraphError as exc:
                raise GraphError(f"optimize: the pass {name!r} broke the graph: {exc}") from exc
            if outcome.changed:
                changed_this_round = True
                program = outcome.program
                result.log.append((name, before, len(program.nodes), outcome.notes))
        if not changed_this_round:
            break
    result.program = program
    return result
