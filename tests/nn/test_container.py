"""Sequential, ModuleList, ModuleDict, ParameterList, ParameterDict."""

from collections import OrderedDict

import pytest

import flowgrad as fg
from flowgrad.nn import (
    Module,
    ModuleDict,
    ModuleList,
    Parameter,
    ParameterDict,
    ParameterList,
    Sequential,
)


class AddOne(Module):
    def __init__(self) -> None:
        super().__init__()
        self.offset = Parameter(fg.ones(1))

    def forward(self, x):
        return x + self.offset


def test_sequential_chains_and_indexes():
    seq = Sequential(AddOne(), AddOne(), AddOne())
    assert seq(fg.zeros(1)).tolist() == [3.0]
    assert len(seq) == 3 and isinstance(seq[-1], AddOne)
    assert isinstance(seq[1:], Sequential) and len(seq[1:]) == 2
    assert [name for name, _ in seq.named_parameters()] == ["0.offset", "1.offset", "2.offset"]
    del seq[0]
    assert [name for name, _ in seq.named_children()] == ["0", "1"]
    seq.append(AddOne()).insert(0, AddOne())
    assert len(seq) == 4 and seq(fg.zeros(1)).tolist() == [4.0]
    with pytest.raises(IndexError, match="out of range"):
        seq[9]


def test_sequential_from_ordered_dict_keeps_names():
    seq = Sequential(OrderedDict([("a", AddOne()), ("b", AddOne())]))
    assert [name for name, _ in seq.named_children()] == ["a", "b"]
    assert seq.b is seq[1]
    assert repr(seq) == "Sequential(\n  (a): AddOne()\n  (b): AddOne()\n)"


def test_module_list_registers_its_modules():
    class Stack(Module):
        def __init__(self):
            super().__init__()
            self.layers = ModuleList([AddOne() for _ in range(2)])

        def forward(self, x):
            for layer in self.layers:
                x = layer(x)
            return x

    stack = Stack()
    assert len(list(stack.parameters())) == 2
    stack.layers.append(AddOne())
    stack.layers.extend([AddOne()])
    assert stack(fg.zeros(1)).tolist() == [4.0]
    assert len(stack.layers[:2]) == 2 and len(stack.layers + [AddOne()]) == 5
    del stack.layers[0]
    assert [n for n, _ in stack.layers.named_children()] == ["0", "1", "2"]


def test_module_dict_and_parameter_containers():
    blocks = ModuleDict({"x": AddOne()})
    blocks["y"] = AddOne()
    assert list(blocks) == ["x", "y"] and "y" in blocks and len(blocks) == 2
    assert [n for n, _ in blocks.named_parameters()] == ["x.offset", "y.offset"]
    del blocks["x"]
    assert list(blocks.keys()) == ["y"]

    plist = ParameterList([fg.zeros(2), Parameter(fg.ones(1))])
    assert [tuple(p.shape) for p in plist] == [(2,), (1,)]
    assert all(isinstance(p, Parameter) for p in plist)
    pdict = ParameterDict({"scale": fg.ones(3)})
    assert pdict["scale"].requires_grad and list(pdict.keys()) == ["scale"]
    assert [n for n, _ in pdict.named_parameters()] == ["scale"]
