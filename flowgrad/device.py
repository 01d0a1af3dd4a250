"""Where tensors live: the :class:`Device` (``cpu`` today; ``cuda`` with the CuPy backend)."""

from __future__ import annotations


class Device:
    """Where a tensor's memory lives (``cpu``; ``cuda`` arrives with the CuPy backend)."""

    __slots__ = ("type", "index")

    def __init__(self, type: str = "cpu", index: int | None = None) -> None:
        if ":" in type:
            type, number = type.split(":")
            index = int(number)
        if type != "cpu":
            raise ValueError(f"device: only 'cpu' is available in this build, got {type!r}")
        self.type = type
        self.index = index

    def __eq__(self, other) -> bool:
        if isinstance(other, str):
            other = Device(other)
        return isinstance(other, Device) and (self.type, self.index) == (other.type,
                                                                         other.index)

    def __hash__(self) -> int:
        return hash((self.type, self.index))

    def __repr__(self) -> str:
        return f"device(type='{self.type}')"

    def __str__(self) -> str:
        return self.type


CPU = Device("cpu")
