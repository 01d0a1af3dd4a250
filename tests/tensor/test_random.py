"""Determinism: ``fg.manual_seed`` and :class:`fg.Generator` give bit-identical streams."""

import json

import numpy as np
import pytest

import flowgrad as fg

DRAWS = {
    "rand": lambda g: fg.rand(3, 4, generator=g),
    "randn": lambda g: fg.randn(5, generator=g),
    "randint": lambda g: fg.randint(0, 1000, (6,), generator=g),
    "normal": lambda g: fg.normal(2.0, 3.0, size=(4,), generator=g),
    "normal tensors": lambda g: fg.normal(fg.zeros(3), fg.ones(3), generator=g),
    "randperm": lambda g: fg.randperm(8, generator=g),
    "randn float64": lambda g: fg.randn(3, dtype=fg.float64, generator=g),
}


def draw_all(generator=None) -> list[np.ndarray]:
    return [draw(generator).numpy().copy() for draw in DRAWS.values()]


def assert_identical(first, second):
    for a, b in zip(first, second, strict=True):
        assert a.dtype == b.dtype
        assert a.tobytes() == b.tobytes()  # bit for bit


def test_manual_seed_twice_gives_identical_tensors():
    fg.manual_seed(1234)
    first = draw_all()
    fg.manual_seed(1234)
    second = draw_all()
    assert_identical(first, second)


def test_different_seeds_differ():
    fg.manual_seed(1)
    first = draw_all()
    fg.manual_seed(2)
    second = draw_all()
    for name, a, b in zip(DRAWS, first, second, strict=True):
        assert not np.array_equal(a, b), name


def test_consecutive_draws_differ():
    fg.manual_seed(0)
    assert not np.array_equal(fg.rand(5).numpy(), fg.rand(5).numpy())


def test_manual_seed_returns_the_default_generator():
    generator = fg.manual_seed(7)
    assert generator is fg.default_generator
    assert fg.initial_seed() == 7


def test_inplace_random_fills_follow_the_seed():
    fg.manual_seed(5)
    a = fg.empty(4).uniform_(-1, 1)
    b = fg.empty(4).normal_(0, 2)
    fg.manual_seed(5)
    assert_identical([a.numpy(), b.numpy()],
                     [fg.empty(4).uniform_(-1, 1).numpy(), fg.empty(4).normal_(0, 2).numpy()])
    assert (a.numpy() >= -1).all() and (a.numpy() < 1).all()


def test_generators_are_independent_of_the_default_one():
    g = fg.Generator().manual_seed(42)
    fg.manual_seed(0)
    first = fg.rand(3, generator=g).numpy().copy()
    g.manual_seed(42)
    fg.rand(10)  # drawing from the default generator does not move g
    second = fg.rand(3, generator=g).numpy()
    assert first.tobytes() == second.tobytes()


def test_generator_state_resumes_bit_for_bit():
    g = fg.Generator().manual_seed(3)
    fg.rand(7, generator=g)  # move away from the start
    state = g.get_state()
    expected = draw_all(g)
    g.set_state(state)
    assert_identical(draw_all(g), expected)
    other = fg.Generator()  # the state moves to another generator too
    other.set_state(state)
    assert_identical(draw_all(other), expected)
    assert other.initial_seed() == 3


def test_generator_state_survives_json():
    g = fg.Generator().manual_seed(11)
    state = json.loads(json.dumps(g.get_state()))
    expected = draw_all(g)
    restored = fg.Generator()
    restored.set_state(state)
    assert_identical(draw_all(restored), expected)


def test_get_state_is_a_snapshot():
    g = fg.Generator().manual_seed(9)
    state = g.get_state()
    first = fg.randn(4, generator=g).numpy().copy()
    fg.randn(4, generator=g)
    g.set_state(state)
    assert fg.randn(4, generator=g).numpy().tobytes() == first.tobytes()


def test_global_rng_state_roundtrip():
    fg.manual_seed(99)
    fg.rand(2)
    state = fg.get_rng_state()
    expected = draw_all()
    fg.set_rng_state(state)
    assert_identical(draw_all(), expected)


def test_seed_draws_a_fresh_seed():
    g = fg.Generator()
    new_seed = g.seed()
    assert g.initial_seed() == new_seed
    reseeded = fg.Generator().manual_seed(new_seed)
    assert fg.rand(3, generator=g).numpy().tobytes() == fg.rand(
        3, generator=reseeded).numpy().tobytes()


@pytest.mark.parametrize("seed", [0, 2**32 + 5])
def test_large_and_zero_seeds(seed):
    a = fg.randn(3, generator=fg.Generator().manual_seed(seed))
    b = fg.randn(3, generator=fg.Generator().manual_seed(seed))
    assert a.numpy().tobytes() == b.numpy().tobytes()
