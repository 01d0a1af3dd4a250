"""Memory planning: preallocated, shared buffers give the same numbers and leak nothing."""

import contextlib
import copy

import numpy as np
from test_compile import training_step

import flowgrad as fg
from flowgrad import nn

RNG = np.random.default_rng(0)


def test_an_elementwise_chain_runs_in_place_in_one_buffer():
    data = RNG.standard_normal((64, 64)).astype(np.float32)
    with fg.Graph().as_default():
        x = fg.placeholder(fg.float32, shape=(64, 64), name="x")
        total = (fg.tanh(fg.exp(x) * 2 + 1) * x).sum(dim=1)  # five steps, one buffer
        with fg.Session() as sess:
            plan = sess.plan(total, {x: data})
            first = sess.run(total, {x: data})
            kept = first.copy()
            sess.run(total, {x: data * 0.5})
    memory = plan.memory
    assert len(memory.assigned) == 5 and len(memory.buffers) == 1
    assert memory.peak_after < memory.peak_before  # fresh arrays overlap; in place they don't
    assert plan.source.count("out=b0") == 5 and "1 preallocated buffers" in plan.explain()
    assert memory.chains() == [5]
    assert "1 elementwise chains fused in place (longest 5 operations)" in plan.explain()
    np.testing.assert_allclose(first, (np.tanh(np.exp(data) * 2 + 1) * data).sum(axis=1),
                               rtol=1e-5)
    np.testing.assert_array_equal(first, kept)  # the next run did not write into it


def test_fetched_values_are_never_buffers():
    data = RNG.standard_normal((64, 64)).astype(np.float32)
    with fg.Graph().as_default():
        x = fg.placeholder(fg.float32, shape=(64, 64), name="x")
        y = fg.exp(x) * 2
        outputs = [y + 1, (y * y).sum()]
        with fg.Session() as sess:
            first = sess.run(outputs, {x: data})
            kept = first[0].copy()
            second = sess.run(outputs, {x: -data})
    np.testing.assert_array_equal(first[0], kept)
    np.testing.assert_allclose(second[0], np.exp(-data) * 2 + 1, rtol=1e-6)


def test_views_and_stored_values_get_no_buffer():
    size = 1024
    with fg.Graph().as_default():
        big = fg.placeholder(fg.float32, shape=(size,), name="big")
        v = fg.Variable(np.zeros(size, np.float32), name="v")
        viewed = (big * 2).reshape(-1, 2)  # a view of the product: the product is not pooled
        stored = v.assign(big * 3)  # committed after the run: not pooled either
        with fg.Session() as sess:
            sess.run(fg.global_variables_initializer())
            feed = {big: np.arange(size, dtype=np.float32)}
            plan = sess.plan([viewed.sum(), stored], feed)
            sess.run([viewed.sum(), stored], feed)
            np.testing.assert_array_equal(sess.run(v), np.arange(size) * 3)
    assert plan.memory.assigned == {}


def test_a_compiled_training_step_with_buffers_matches_eager():
    fg.manual_seed(0)
    model = nn.Sequential(nn.Linear(32, 64), nn.ReLU(), nn.Linear(64, 10))
    x = RNG.standard_normal((64, 32)).astype(np.float32)
    y = RNG.integers(0, 10, 64)
    losses = []
    for compiled in (False, True):
        copied = copy.deepcopy(model)
        step = training_step(copied, fg.optim.Adam(copied.parameters(), lr=0.01))
        run = fg.compile(step) if compiled else step
        losses.append([run(fg.tensor(x), fg.tensor(y)).item() for _ in range(4)])
    np.testing.assert_allclose(losses[1], losses[0], rtol=1e-5)
    assert run._latest.plan.memory.assigned  # the step did use buffers


def test_kernels_trusted_to_make_fresh_arrays_do():
    """The memory plan lets a buffer feed a kernel in memory._FRESH, trusting it never to
    return a view of its input: every such kernel, on every op-table case that runs it."""
    import pytest

    from flowgrad.graph import memory
    from flowgrad.ops import PRIMITIVES

    pytest.importorskip("optest")
    from optest import first_order
    from test_op_table import CASES

    checked, views, originals = set(), set(), {}

    def watch(name, kernel):
        def run(*arrays, **attrs):
            out = np.asarray(kernel(*arrays, **attrs))
            if any(isinstance(a, np.ndarray) and np.shares_memory(out, a) for a in arrays):
                views.add(name)
            checked.add(name)
            return out
        return run

    for name in memory._FRESH:
        originals[name] = PRIMITIVES[name].forward
        PRIMITIVES[name].forward = watch(name, originals[name])
    try:
        for case in CASES:
            # The forward and the gradient kernels; what ran before any failure was watched.
            with contextlib.suppress(Exception), np.errstate(all="ignore"):
                first_order(case, case.inputs)
    finally:
        for name, kernel in originals.items():
            PRIMITIVES[name].forward = kernel
    assert not views, f"these kernels returned a view of an input: {sorted(views)}"
    assert checked >= memory._FRESH - {"keep_mask"}, memory._FRESH - checked


def test_lowered_and_into_kernels_give_the_forward_values():
    """Generated code calls a primitive's ``lower(**attrs)`` kernel, or its ``into`` kernel
    with a buffer, instead of its forward: on every op-table case that runs such a
    primitive, both must give exactly the forward's values, dtype and shape."""
    import pytest

    from flowgrad.ops import PRIMITIVES

    pytest.importorskip("optest")
    from optest import first_order
    from test_op_table import CASES

    special = {name: prim for name, prim in PRIMITIVES.items()
               if prim.lower is not None or prim.into is not None}
    assert {"sum", "amax", "cast", "permute", "relu"} <= set(special)
    checked, wrong, originals = set(), [], {}

    def watch(name, prim, kernel):
        def run(*arrays, **attrs):
            expected = np.asarray(kernel(*arrays, **attrs))
            results = []
            if prim.lower is not None:
                results.append(np.asarray(prim.lower(**attrs)(*arrays)))
            if prim.into is not None and not attrs:
                out = np.empty_like(expected)
                assert prim.into(*arrays, out=out) is out
                results.append(out)
            for got in results:
                if got.dtype != expected.dtype or got.shape != expected.shape or not (
                        np.array_equal(got, expected, equal_nan=expected.dtype.kind in "fc")):
                    wrong.append((name, attrs))
            checked.add(name)
            return expected
        return run

    for name, prim in special.items():
        originals[name] = prim.forward
        prim.forward = watch(name, prim, prim.forward)
    try:
        for case in CASES:
            with contextlib.suppress(Exception), np.errstate(all="ignore"):
                first_order(case, case.inputs)
        big = np.linspace(-1, 1, 1 << 15, dtype=np.float32)  # relu's np.clip path
        big[3] = np.nan
        PRIMITIVES["relu"].forward(big)
    finally:
        for name, kernel in originals.items():
            PRIMITIVES[name].forward = kernel
    assert not wrong, wrong
    assert checked == set(special), set(special) - checked


def test_elementwise_work_on_a_transposed_view_keeps_its_layout():
    """A buffer is C-ordered: writing a transposed input's result into one would walk the
    input across the cache and hand a transposed layout to the next kernels. Such nodes
    (and those after them) get no buffer; NumPy keeps the input's order."""
    data = RNG.standard_normal((4, 8, 6, 5)).astype(np.float32)
    with fg.Graph().as_default():
        x = fg.placeholder(fg.float32, shape=(4, 8, 6, 5), name="x")
        channels_last = x.permute(0, 2, 3, 1)
        y = fg.relu(channels_last * 2 + 1)  # elementwise on a strided view
        z = (x * 3 - 1).exp()  # on the C-ordered input: buffers as before
        total = y.sum(dim=(1, 2)) + z.sum(dim=(2, 3))
        with fg.Session() as sess:
            plan = sess.plan(total, {x: data})
            got = sess.run(total, {x: data})
    planned = {node.op for node in plan.memory.assigned}
    strided = [n for n in plan.program.nodes if n.op in ("mul", "add", "relu")
               and n.shape == (4, 6, 5, 8)]
    assert strided and not any(n in plan.memory.assigned for n in strided)
    assert {"mul", "sub", "exp"} <= planned  # the C-ordered chain still runs in place
    t = data.transpose(0, 2, 3, 1)
    expected = np.maximum(t * 2 + 1, 0).sum(axis=(1, 2)) + np.exp(data * 3 - 1).sum(axis=(2, 3))
    np.testing.assert_allclose(got, expected, rtol=1e-5)
