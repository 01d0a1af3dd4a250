"""The optimisation passes, each alone (what it removed, merged, folded or rewrote) and through
a Session (the same values as with the pass switched off, and as NumPy), and the manager."""

import numpy as np
import pytest

import flowgrad as fg
from flowgrad.errors import GraphError
from flowgrad.graph.passes import PASSES, PassResult, Program, optimize
from flowgrad.graph.passes.cse import attrs_key, cse
from flowgrad.graph.passes.dce import dce
from flowgrad.graph.passes.fold import MAX_ELEMENTS, fold
from flowgrad.graph.passes.simplify import simplify
from flowgrad.ops import shape as S

X23 = np.array([[1.5, -2.0, 3.0], [0.25, 4.0, -0.5]], dtype=np.float32)


def program_of(graph, *outputs) -> Program:
    """Every node of ``graph`` (nothing pruned yet), fetching ``outputs``."""
    return Program(list(graph.nodes), [t._data for t in outputs])


def names(program: Program) -> list[str]:
    return [n.name for n in program.nodes]


def run_both(graph, fetch, feed, pass_name):
    """The fetch's value with every pass, and with ``pass_name`` switched off."""
    with fg.Session(graph) as on, fg.Session(graph, disable_passes=(pass_name,)) as off:
        return on.run(fetch, feed), off.run(fetch, feed)


def assert_same(value, expected):
    assert value.dtype == expected.dtype and value.shape == expected.shape
    np.testing.assert_array_equal(value, expected)


# -- dead-code elimination -------------------------------------------------------------------


def test_dce_removes_unused_pure_nodes():
    with fg.Graph().as_default() as g:
        x = fg.placeholder(fg.float32, shape=(2, 3), name="x")
        y = x + 1
        (x * 2).exp().sum()  # nothing uses it
    result = dce(program_of(g, y))
    assert result.changed
    assert names(result.program) == ["x", "Const", "add"]
    assert result.notes == ["removed 4 unused nodes: Const_1, mul, exp, sum"]
    assert result.program.outputs == [y._data]


def test_dce_removes_what_cse_left_behind_and_values_agree():
    with fg.Graph().as_default() as g:
        x = fg.placeholder(fg.float32, shape=(2, 3), name="x")
        y = (x * 2).exp() + (x * 2).exp()
    optimized = optimize(g, [y._data], disable=("prune",))
    dce_log = [(before, after, notes) for name, before, after, notes in optimized.log
               if name == "dce"]
    assert dce_log == []  # cse's rebuild drops the merged duplicates itself
    assert names(optimized.program) == ["x", "Const", "mul", "exp", "add"]
    on, off = run_both(g, y, {x: X23}, "dce")
    assert_same(on, off)
    assert_same(on, np.exp(X23 * 2) * 2)


def test_dce_keeps_assignments_and_what_they_read():
    with fg.Graph().as_default() as g:
        x = fg.placeholder(fg.float32, shape=(3,), name="x")
        w = fg.Variable(np.zeros(3, np.float32), name="w")
        w.assign(x * 2)  # not fetched, not read: a side effect all the same
        y = x + 1
    program = program_of(g, y)
    result = dce(program)
    # Kept: both assignments (the initial value's and x*2's) and what they read; dropped:
    # the variable read, which is pure and unused.
    assert names(result.program) == ["x", "w/initial", "w/Assign", "Const", "mul", "Assign",
                                     "Const_1", "add"]
    assert result.notes == ["removed 1 unused nodes: w"]
    assert dce(result.program).changed is False


def test_dce_keeps_a_fetched_assignment():
    with fg.Graph().as_default() as g:
        w = fg.Variable(np.ones(2, np.float32), name="w")
        step = w.assign_add(3.0)
    result = dce(Program.needed_by([step._data]))
    assert result.changed is False
    with fg.Session(g) as sess:
        sess.run(fg.global_variables_initializer(g))
        sess.run(step)
        assert_same(sess.run(w), np.array([4.0, 4.0], np.float32))


# -- common-subexpression elimination --------------------------------------------------------


def test_cse_merges_equal_nodes_and_constants():
    with fg.Graph().as_default() as g:
        x = fg.placeholder(fg.float32, shape=(2, 3), name="x")
        y = (x * 2).exp() + (x * 2).exp()
    result = cse(program_of(g, y))
    assert result.notes == ["merged Const_1 into Const", "merged mul_1 into mul",
                            "merged exp_1 into exp"]
    assert names(result.program) == ["x", "Const", "mul", "exp", "add"]
    add = result.program.outputs[0]
    assert add.inputs == (g.node("exp"), g.node("exp"))
    on, off = run_both(g, y, {x: X23}, "cse")
    assert_same(on, off)
    assert_same(on, np.exp(X23 * np.float32(2)) + np.exp(X23 * np.float32(2)))


def test_cse_merges_reads_of_one_variable():
    with fg.Graph().as_default() as g:
        first = g.add("variable", (), {"variable": "w"}, (2,), np.float32, name="read")
        second = g.add("variable", (), {"variable": "w"}, (2,), np.float32, name="read")
        other = g.add("variable", (), {"variable": "v"}, (2,), np.float32, name="read")
    result = cse(Program([first, second, other], [first, second, other]))
    assert result.notes == ["merged read_1 into read"]
    assert result.program.outputs == [first, first, other]


def test_cse_never_merges_placeholders():
    with fg.Graph().as_default() as g:
        a = fg.placeholder(fg.float32, shape=(3,), name="a")
        b = fg.placeholder(fg.float32, shape=(3,), name="b")
        y = a + b
    assert cse(program_of(g, y)).changed is False
    with fg.Session(g) as sess:
        out = sess.run(y, {a: np.array([1, 2, 3], np.float32), b: np.array([10, 20, 30],
                                                                              np.float32)})
    assert_same(out, np.array([11, 22, 33], np.float32))


def test_cse_never_merges_assignments():
    with fg.Graph().as_default() as g:
        x = fg.placeholder(fg.float32, shape=(2,), name="x")
        v = fg.Variable(np.zeros(2, np.float32), name="v")
        w = fg.Variable(np.zeros(2, np.float32), name="w")
        both = fg.group(v.assign(x), w.assign(x))
    result = cse(Program.needed_by([both._data]))
    assert result.changed is False
    with fg.Session(g) as sess:
        sess.run(fg.global_variables_initializer(g))
        sess.run(both, {x: np.array([5, 6], np.float32)})
        assert_same(sess.run(v), np.array([5, 6], np.float32))
        assert_same(sess.run(w), np.array([5, 6], np.float32))


def test_cse_never_merges_different_attrs():
    with fg.Graph().as_default() as g:
        x = fg.placeholder(fg.float32, shape=(3, 3), name="x")
        y = (x.sum(dim=0) + x.sum(dim=1)
             + x.sum(dim=0, keepdim=True).reshape(3) + x.permute(1, 0).sum(dim=0))
    result = cse(program_of(g, y))
    assert result.changed is False
    square = np.arange(9, dtype=np.float32).reshape(3, 3)
    on, off = run_both(g, y, {x: square}, "cse")
    assert_same(on, off)
    assert_same(on, square.sum(0) + square.sum(1) + square.sum(0) + square.T.sum(0))


def test_cse_keeps_constants_that_differ_in_bytes_or_dtype():
    with fg.Graph().as_default() as g:
        zero, minus_zero = fg.constant(0.0), fg.constant(-0.0)
        float_one, int_one = fg.constant(1.0), fg.constant(1, dtype=fg.int32)
        same_a, same_b = fg.constant([1.0, 2.0]), fg.constant([1.0, 2.0])
        other_shape = fg.constant([[1.0, 2.0]])
    outputs = [zero, minus_zero, float_one, int_one, same_a, same_b, other_shape]
    result = cse(program_of(g, *outputs))
    assert result.notes == ["merged Const_5 into Const_4"]
    assert np.signbit(result.program.outputs[1].attrs["value"])


def test_attrs_key_is_exact_and_hashable():
    storage_a, storage_b = fg.zeros(2), fg.zeros(2)
    assert attrs_key({"a": 1}) != attrs_key({"a": 1.0}) != attrs_key({"a": True})
    assert attrs_key({"a": 0.0}) != attrs_key({"a": -0.0})
    assert attrs_key({"a": float("nan")}) == attrs_key({"a": float("nan")})
    assert attrs_key({"i": (slice(0, 2), 1)}) == attrs_key({"i": (slice(0, 2), 1)})
    assert attrs_key({"i": (slice(0, 2), 1)}) != attrs_key({"i": (slice(0, 3), 1)})
    assert attrs_key({"d": np.dtype("float32")}) != attrs_key({"d": np.dtype("float64")})
    assert attrs_key({"m": {"k": [1, 2]}}) == attrs_key({"m": {"k": [1, 2]}})
    assert attrs_key({"v": np.arange(3)}) == attrs_key({"v": np.arange(3)})
    assert attrs_key({"v": np.arange(3)}) != attrs_key({"v": np.arange(3).astype(np.int8)})
    assert attrs_key({"s": np.float32(1)}) != attrs_key({"s": np.float64(1)})
    assert attrs_key({"storage": storage_a}) == attrs_key({"storage": storage_a})
    assert attrs_key({"storage": storage_a}) != attrs_key({"storage": storage_b})
    key = attrs_key({"i": (slice(None), np.array([0, 2])), "d": {"x": np.dtype("int8")}})
    assert hash(key) == hash(attrs_key({"d": {"x": np.dtype("int8")},
                                         "i": (slice(None), np.array([0, 2]))}))


# -- constant folding ------------------------------------------------------------------------


def test_fold_computes_constant_subgraphs_once():
    with fg.Graph().as_default() as g:
        x = fg.placeholder(fg.float32, shape=(2, 3), name="x")
        c = fg.constant([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], name="c")
        y = x + (c * 0.5).exp()
    result = fold(program_of(g, y))
    assert result.notes == ["folded mul (constant (2, 3) float32)",
                            "folded exp (constant (2, 3) float32)"]
    folded = result.program.outputs[0].inputs[1]
    assert (folded.op, folded.name, folded.shape, folded.dtype) == (
        "constant", "exp", (2, 3), np.float32)
    c_value = np.array([[1, 2, 3], [4, 5, 6]], np.float32)
    assert_same(folded.attrs["value"], np.exp(c_value * np.float32(0.5)))
    assert not folded.attrs["value"].flags.writeable
    on, off = run_both(g, y, {x: X23}, "fold")
    assert_same(on, off)
    assert_same(on, X23 + np.exp(c_value * np.float32(0.5)))
    assert [n.op for n in fg.Session(g).plan(y, {x: X23}).program.nodes] == [
        "placeholder", "constant", "add"]


def test_fold_leaves_placeholders_and_variables_alone():
    with fg.Graph().as_default():
        x = fg.placeholder(fg.float32, shape=(3,), name="x")
        w = fg.Variable(np.ones(3, np.float32), name="w")
        y = (x + 1) * (w * 2)
    result = fold(Program.needed_by([y._data]))
    assert result.changed is False and result.notes == []


def test_fold_keeps_results_that_are_too_large():
    with fg.Graph().as_default() as g:
        big = fg.constant(1.0).expand(1025, 1024)
        y = big.sum()
    result = fold(program_of(g, y))
    assert result.changed is False
    assert result.notes == [f"kept broadcast_to: its result has {1025 * 1024} elements "
                            f"(more than {MAX_ELEMENTS})"]
    with fg.Session(g) as sess:
        assert_same(sess.run(y), np.array(1025 * 1024, np.float32))


def test_fold_gives_views_their_own_memory():
    with fg.Graph().as_default() as g:
        c = fg.constant(np.arange(6, dtype=np.float32).reshape(2, 3))
        y = c.permute(1, 0)
    folded = fold(program_of(g, y)).program.outputs[0]
    assert folded.op == "constant" and folded.attrs["value"].base is None
    with fg.Session(g) as sess:
        out = sess.run(y)
    out[0, 0] = 99  # a fetched constant is a copy
    assert_same(fg.Session(g).run(y), np.arange(6, dtype=np.float32).reshape(2, 3).T.copy())


# -- algebraic simplification ----------------------------------------------------------------


IDENTITIES = [
    ("x*1", lambda x: x * 1, "mul"),
    ("1*x", lambda x: 1 * x, "mul"),
    ("x+0", lambda x: x + 0, "add"),
    ("0+x", lambda x: 0 + x, "add"),
    ("x-0", lambda x: x - 0, "sub"),
    ("x/1", lambda x: x / 1, "div"),
    ("x*1", lambda x: x * fg.constant(np.ones((1, 3), np.float32)), "mul"),
    ("x+0", lambda x: x + fg.constant(np.array([0.0, -0.0, 0.0], np.float32)), "add"),
]


@pytest.mark.parametrize(("pattern", "build", "op"), IDENTITIES,
                         ids=[f"{p}-{i}" for i, (p, _, _) in enumerate(IDENTITIES)])
def test_simplify_removes_identity_arithmetic(pattern, build, op):
    with fg.Graph().as_default() as g:
        x = fg.placeholder(fg.float32, shape=(2, 3), name="x")
        y = build(x)
    result = simplify(program_of(g, y))
    assert result.notes == [f"{pattern}: {op} -> x"]
    assert result.program.outputs == [x._data]
    on, off = run_both(g, y, {x: X23}, "simplify")
    assert_same(on, off)
    assert_same(on, X23)
    assert names(fg.Session(g).plan(y, {x: X23}).program) == ["x"]


def test_simplify_keeps_broadcasting_identity_arithmetic():
    with fg.Graph().as_default() as g:
        x = fg.placeholder(fg.float32, shape=(3,), name="x")
        y = x * fg.constant(np.ones((2, 3), np.float32))
    assert simplify(program_of(g, y)).changed is False
    value = np.array([1.0, 2.0, 3.0], np.float32)
    on, off = run_both(g, y, {x: value}, "simplify")
    assert_same(on, off)
    assert_same(on, np.ones((2, 3), np.float32) * value)


def test_simplify_keeps_broadcasting_into_an_unknown_dimension():
    with fg.Graph().as_default() as g:
        x = fg.placeholder(fg.float32, shape=(None,), name="x")
        y = x + fg.constant(np.zeros(3, np.float32))
    assert simplify(program_of(g, y)).changed is False
    with fg.Session(g) as sess:
        assert_same(sess.run(y, {x: np.array([7.0], np.float32)}),
                    np.array([7.0, 7.0, 7.0], np.float32))


def test_simplify_keeps_broadcasting_into_an_unknown_rank():
    with fg.Graph().as_default() as g:
        x = fg.placeholder(fg.float32, shape=None, name="x")
        y = x * fg.constant(np.ones(3, np.float32))
        z = x * 1
    assert y._data.shape is None
    result = simplify(program_of(g, y, z))
    assert result.notes == ["x*1: mul_1 -> x"]
    with fg.Session(g) as sess:
        out, same = sess.run([y, z], {x: np.array(2.0, np.float32)})
    assert_same(out, np.array([2.0, 2.0, 2.0], np.float32))
    assert_same(same, np.array(2.0, np.float32))


def test_simplify_keeps_promotion_and_other_constants():
    with fg.Graph().as_default() as g:
        n = fg.placeholder(fg.int32, shape=(2,), name="n")
        x = fg.placeholder(fg.float32, shape=(2,), name="x")
        as_float = n * 1.0  # n becomes float32 first: the mul is of the cast
        y = x * 2 + (x - 1) + (1 - x) + (x / 2)
    result = simplify(program_of(g, as_float, y))
    assert result.notes == ["x*1: mul -> cast"]
    assert result.program.outputs[0].op == "cast"
    with fg.Session(g) as sess:
        out, total = sess.run([as_float, y], {n: np.array([3, 4], np.int32),
                                              x: np.array([2.0, 4.0], np.float32)})
    assert_same(out, np.array([3.0, 4.0], np.float32))
    assert_same(total, np.array([5.0, 10.0], np.float32))


def test_simplify_composes_and_cancels_permutes():
    with fg.Graph().as_default() as g:
        x = fg.placeholder(fg.float32, shape=(2, 3, 4), name="x")
        cancel = x.permute(2, 0, 1).permute(1, 2, 0)
        compose = x.permute(1, 0, 2).permute(0, 2, 1)
        same = x.permute(0, 1, 2)
    result = simplify(program_of(g, cancel, compose, same))
    assert result.notes == ["permute pair: permute_1 -> x (the two cancel)",
                            "permute pair: permute_3 -> permute(x) dims (1, 2, 0)",
                            "identity permute: permute_4 -> x"]
    merged = result.program.outputs[1]
    assert (merged.op, merged.inputs, merged.attrs["dims"]) == ("permute", (x._data,),
                                                                 (1, 2, 0))
    assert result.program.outputs[0] is x._data and result.program.outputs[2] is x._data
    value = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    on, off = run_both(g, [cancel, compose, same], {x: value}, "simplify")
    for a, b, expected in zip(on, off, [value, value.transpose(1, 2, 0), value], strict=True):
        assert_same(a, b)
        assert_same(a, expected)


def test_simplify_merges_reshape_chains():
    with fg.Graph().as_default() as g:
        x = fg.placeholder(fg.float32, shape=(2, 3, 4), name="x")
        chain = x.reshape(6, 4).reshape(3, 8).reshape(4, 6)
        back = x.reshape(24).reshape(2, 3, 4)
        same = x.reshape(2, 3, 4)
    result = simplify(program_of(g, chain, back, same))
    assert result.notes == ["reshape chain: reshape_1 reshapes x",
                            "reshape chain: reshape_2 reshapes x",
                            "reshape chain: reshape_4 -> x (same shape)",
                            "identity reshape: reshape_5 -> x (same shape)"]
    merged = result.program.outputs[0]
    assert (merged.op, merged.inputs, merged.attrs["shape"]) == ("reshape", (x._data,), (4, 6))
    assert result.program.outputs[1:] == [x._data, x._data]
    value = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    on, off = run_both(g, [chain, back, same], {x: value}, "simplify")
    for a, b, expected in zip(on, off, [value.reshape(4, 6), value, value], strict=True):
        assert_same(a, b)
        assert_same(a, expected)


def test_simplify_merges_but_never_drops_a_reshape_resolved_at_run_time():
    with fg.Graph().as_default() as g:
        x = fg.placeholder(fg.float32, shape=(None, 6), name="x")
        y = S.reshape.bind(S.reshape.bind(x, shape=(-1, 3)), shape=(-1, 6))
    assert y._data.shape == (None, 6)
    result = simplify(program_of(g, y))
    assert result.notes == ["reshape chain: reshape_1 reshapes x"]
    out = result.program.outputs[0]
    assert (out.op, out.inputs, out.attrs["shape"]) == ("reshape", (x._data,), (-1, 6))
    value = np.arange(12, dtype=np.float32).reshape(2, 6)
    on, off = run_both(g, y, {x: value}, "simplify")
    assert_same(on, off)
    assert_same(on, value)


def test_simplify_removes_double_negation():
    with fg.Graph().as_default() as g:
        x = fg.placeholder(fg.float32, shape=(2, 3), name="x")
        y = x.neg().neg()
        z = -x
    result = simplify(program_of(g, y, z))
    assert result.notes == ["neg(neg(x)): neg_1 -> x"]
    assert result.program.outputs == [x._data, z._data]
    on, off = run_both(g, [y, z], {x: X23}, "simplify")
    assert_same(on[0], off[0])
    assert_same(on[0], X23)
    assert_same(on[1], -X23)


def test_simplify_rewrites_chains_in_one_pass():
    with fg.Graph().as_default() as g:
        x = fg.placeholder(fg.float32, shape=(2, 3), name="x")
        y = (x * 1).neg().neg().permute(1, 0).permute(1, 0) + 0
    result = simplify(program_of(g, y))
    assert result.program.outputs == [x._data]
    assert result.notes == ["x*1: mul -> x", "neg(neg(x)): neg_1 -> x",
                            "permute pair: permute_1 -> x (the two cancel)", "x+0: add -> x"]


# -- the manager and explain() ---------------------------------------------------------------


def test_passes_run_in_order():
    assert list(PASSES)[:5] == ["prune", "dce", "cse", "fold", "simplify"]


def test_explain_reports_each_pass():
    with fg.Graph().as_default() as g:
        x = fg.placeholder(fg.float32, shape=(3,), name="x")
        c = fg.constant([1.0, 2.0, 3.0], name="c")
        y = ((x * 2).exp() + (x * 2).exp()) * (c + 1) * 1
    assert g.explain(y) == "\n".join([
        "14 nodes before, 7 after",
        "cse: 14 -> 10 nodes",
        "  merged Const_1 into Const",
        "  merged mul_1 into mul",
        "  merged exp_1 into exp",
        "  merged Const_3 into Const_2",
        "fold: 10 -> 10 nodes",
        "  folded add_1 (constant (3,) float32)",
        "simplify: 10 -> 9 nodes",
        "  x*1: mul_3 -> mul_2",
        "prune: 9 -> 7 nodes",
        "  removed 2 nodes no output needs: c, Const_2",
    ])
    value = np.array([0.5, -1.0, 2.0], np.float32)
    with fg.Session(g) as on, fg.Session(
            g, disable_passes=("prune", "dce", "cse", "fold", "simplify")) as off:
        optimized, plain = on.run(y, {x: value}), off.run(y, {x: value})
    assert_same(optimized, plain)
    expected = (np.exp(value * np.float32(2)) * 2) * np.array([2, 3, 4], np.float32)
    np.testing.assert_allclose(optimized, expected, rtol=1e-6)


def test_training_with_and_without_passes_agrees():
    rng = np.random.default_rng(0)
    data = rng.standard_normal((4, 3)).astype(np.float32)
    target = rng.standard_normal((4, 1)).astype(np.float32)
    results = []
    for disabled in ((), ("dce", "cse", "fold", "simplify")):
        with fg.Graph().as_default() as g:
            x = fg.placeholder(fg.float32, shape=(None, 3), name="x")
            t = fg.placeholder(fg.float32, shape=(None, 1), name="t")
            w = fg.Variable(np.full((3, 1), 0.5, np.float32), name="w")
            loss = ((x.matmul(w) * 1 - t) ** 2).mean()
            train = fg.optim.SGD(lr=0.1, momentum=0.9).minimize(loss)
            with fg.Session(g, disable_passes=disabled) as sess:
                sess.run(fg.global_variables_initializer())
                losses = [sess.run([loss, train], {x: data, t: target})[0] for _ in range(3)]
                results.append((losses, sess.run(w)))
    (losses_on, w_on), (losses_off, w_off) = results
    np.testing.assert_array_equal(losses_on, losses_off)
    assert_same(w_on, w_off)
    assert losses_on[2] < losses_on[0]


def test_manager_names_the_pass_that_breaks_the_graph(monkeypatch):
    def broken(program: Program) -> PassResult:
        return PassResult(Program(program.nodes[::-1], program.outputs), True, ["reversed"])

    monkeypatch.setitem(PASSES, "broken", broken)
    with fg.Graph().as_default() as g:
        x = fg.placeholder(fg.float32, shape=(3,), name="x")
        y = x.exp()
    with pytest.raises(GraphError, match=r"the pass 'broken' broke the graph: exp \(exp\) "
                                         r"reads x, which is not before it"):
        fg.Session(g).run(y, {x: np.ones(3, np.float32)})


def test_unknown_pass_name_is_an_error():
    with fg.Graph().as_default() as g:
        x = fg.placeholder(fg.float32, shape=(3,), name="x")
        y = x + 1
    with pytest.raises(GraphError, match=r"no pass named \['nope'\]"):
        fg.Session(g, disable_passes=("cse", "nope")).run(y, {x: np.ones(3, np.float32)})


def test_fold_computes_shape_only_ops_of_a_static_shape():
    from flowgrad.graph.passes import Program
    from flowgrad.graph.passes.fold import fold

    with fg.Graph().as_default() as g:
        x = fg.placeholder(fg.float32, shape=(4, 3), name="x")
        y = fg.placeholder(fg.float32, shape=(None, 3), name="y")
        (seeded,) = fg.gradients(x.mean(), [x])  # the seed: full_like(mean, 1.0)
        dynamic = y.mean()  # divides by count(y), known only at run time
    result = fold(Program(list(g.nodes), [seeded._data, dynamic._data]))
    ops = {n.name: n.op for n in result.program.nodes}
    assert ops["full_like"] == "constant" and ops["count"] == "count"
    assert "folded full_like (constant () float32)" in result.notes
    with fg.Session(g) as sess:
        data = np.arange(12, dtype=np.float32).reshape(4, 3)
        np.testing.assert_array_equal(sess.run(seeded, {x: data}), np.full((4, 3), 1 / 12,
                                                                             np.float32))
        assert sess.run(dynamic, {y: data}) == data.mean()


def test_random_draws_are_never_merged_or_folded():
    from flowgrad.ops.random import keep_mask

    with fg.Graph().as_default() as g:
        x = fg.placeholder(fg.float32, shape=(1000,), name="x")
        const = fg.constant(np.ones(1000, np.float32))
        masks = [keep_mask.bind(v, p=0.5, channel_dims=None, generator=None)
                 for v in (x, x, const)]
    optimized = g.explain(masks)
    assert "merged" not in optimized and "folded keep_mask" not in optimized
    with fg.Session(g) as sess:
        first, second, third = sess.run(masks, {x: np.ones(1000, np.float32)})
    assert not np.array_equal(first, second) and not np.array_equal(second, third)
    assert set(np.unique(first)) == {0.0, 2.0}


def test_the_transpose_of_a_product_is_the_product_of_transposes():
    from flowgrad.graph.passes import Program
    from flowgrad.graph.passes.simplify import simplify

    a = np.arange(6, dtype=np.float32).reshape(2, 3)
    b = np.arange(12, dtype=np.float32).reshape(3, 4)
    with fg.Graph().as_default() as g:
        x = fg.placeholder(fg.float32, shape=(2, 3), name="a")
        y = fg.placeholder(fg.float32, shape=(3, 4), name="b")
        once = fg.matmul(x, y).T
        shared = fg.matmul(y.T, x.T)
        twice = [shared.T, shared * 2]  # the product has another reader: left alone
    result = simplify(Program(list(g.nodes), [once._data, *(t._data for t in twice)]))
    assert result.notes[0] == "transposed product: permute -> b.T @ a.T"
    assert sum("transposed product" in note for note in result.notes) == 1
    with fg.Session(g) as sess:
        got = sess.run([once, *twice], {x: a, y: b})
        assert got[0].flags.c_contiguous  # computed in this layout, not a strided view
    np.testing.assert_array_equal(got[0], (a @ b).T)
    np.testing.assert_array_equal(got[1], a @ b)


def test_relu_gradient_through_max_pooling_is_masked_before_unpooling():
    data = np.random.default_rng(4).standard_normal((2, 3, 6, 6)).astype(np.float32)
    with fg.Graph().as_default() as g:
        x = fg.placeholder(fg.float32, shape=(None, 3, 6, 6), name="x")
        pooled = fg.nn.functional.max_pool2d(fg.nn.functional.relu(x), 3, stride=2)
        (grad,) = fg.gradients((pooled * pooled).sum(), [x])
    report = g.explain(grad)
    assert "mask before unpooling: where masks the pooled gradient" in report
    results = []
    for disabled in ((), ("simplify",)):
        with fg.Session(g, disable_passes=disabled) as sess:
            results.append(sess.run(grad, {x: data}))
    eager = fg.tensor(data, requires_grad=True)
    out = fg.nn.functional.max_pool2d(fg.nn.functional.relu(eager), 3, stride=2)
    (out * out).sum().backward()
    np.testing.assert_array_equal(results[0], results[1])
    np.testing.assert_allclose(results[0], eager.grad.numpy(), rtol=1e-6)
