"""Random number generation: one explicit :class:`Generator` per device, seeded by
``fg.manual_seed``. Initialisers, dropout and shuffling draw from it, so one seed gives
bit-identical results run to run.
"""

from __future__ import annotations

import numpy as np


class Generator:
    """A seeded source of random numbers (PCG64), like ``torch.Generator``.

    >>> import flowgrad as fg
    >>> g = fg.Generator().manual_seed(0)
    >>> a = fg.rand(3, generator=g)
    >>> _ = g.manual_seed(0)
    >>> bool((fg.rand(3, generator=g) == a).all())
    True
    """

    def __init__(self, device: str = "cpu") -> None:
        self.device = device
        self._seed = 0
        self.np = np.random.Generator(np.random.PCG64(0))

    def manual_seed(self, seed: int) -> Generator:
        """Reset the generator to the stream of ``seed``; returns the generator."""
        self._seed = int(seed)
        self.np = np.random.Generator(np.random.PCG64(self._seed))
        return self

    def seed(self) -> int:
        """Seed from the operating system's entropy; returns the new seed."""
        new_seed = int(np.random.SeedSequence().entropy % (2**63))
        self.manual_seed(new_seed)
        return new_seed

    def initial_seed(self) -> int:
        return self._seed

    def get_state(self) -> dict:
        """The generator's full state (a JSON-friendly dict), to resume it later."""
        return {"seed": self._seed, "bit_generator": self.np.bit_generator.state}

    def set_state(self, state: dict) -> None:
        self._seed = int(state["seed"])
        bit_generator = np.random.PCG64()
        bit_generator.state = state["bit_generator"]
        self.np = np.random.Generator(bit_generator)


default_generator = Generator()


def manual_seed(seed: int) -> Generator:
    """Seed the default generator: the same seed gives the same random tensors."""
    return default_generator.manual_seed(seed)


def seed() -> int:
    return default_generator.seed()


def initial_seed() -> int:
    return default_generator.initial_seed()


def get_rng_state() -> dict:
    return default_generator.get_state()


def set_rng_state(state: dict) -> None:
    default_generator.set_state(state)


def resolve(generator: Generator | None) -> np.random.Generator:
    """The NumPy generator behind ``generator`` (the default one when None)."""
    return (generator or default_generator).np
