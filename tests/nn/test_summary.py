"""fg.nn.summary: every layer's output shape and parameters, the totals, and no side effects."""

import numpy as np
import pytest

import flowgrad as fg
from flowgrad import nn
from flowgrad.errors import ShapeError


def article_cnn(lib):
    return lib.nn.Sequential(
        lib.nn.Conv2d(3, 32, 3, padding=1), lib.nn.ReLU(), lib.nn.MaxPool2d(2),
        lib.nn.Flatten(), lib.nn.Linear(8192, 64), lib.nn.ReLU(), lib.nn.Linear(64, 10))


def test_the_article_cnn_table_has_every_layer_its_shapes_and_counts():
    printed = []
    result = nn.summary(article_cnn(fg), (3, 32, 32), batch_size=2, print_fn=printed.append)
    rows = [(r.name, r.kind, r.output_shape, r.params) for r in result.rows]
    assert rows == [
        ("", "Sequential", (2, 10), 0),
        ("0", "Conv2d", (2, 32, 32, 32), 32 * 3 * 9 + 32),
        ("1", "ReLU", (2, 32, 32, 32), 0),
        ("2", "MaxPool2d", (2, 32, 16, 16), 0),
        ("3", "Flatten", (2, 8192), 0),
        ("4", "Linear", (2, 64), 8192 * 64 + 64),
        ("5", "ReLU", (2, 64), 0),
        ("6", "Linear", (2, 10), 64 * 10 + 10),
    ]
    assert result.total_params == result.trainable_params == 525_898
    assert result.param_bytes == 525_898 * 4 and result.input_bytes == 2 * 3 * 32 * 32 * 4
    table = printed[0]
    assert table == str(result)
    assert "Total params: 525,898" in table and "4 (Linear)" in table
    assert "(2, 64)" in table and "524,352" in table


def test_counts_agree_with_pytorch():
    torch = pytest.importorskip("torch")
    expected = sum(p.numel() for p in article_cnn(torch).parameters())
    assert nn.summary(article_cnn(fg), (3, 32, 32), print_fn=None).total_params == expected


def test_frozen_shared_and_buffer_holding_layers():
    shared = nn.Linear(4, 4)

    class Twice(nn.Module):
        def __init__(self):
            super().__init__()
            self.shared, self.norm = shared, nn.BatchNorm1d(4)
            self.head = nn.Linear(4, 1)
            self.head.weight.requires_grad_(False)

        def forward(self, x):
            return self.head(self.norm(self.shared(self.shared(x))))

    model = Twice()
    result = nn.summary(model, (4,), batch_size=3, print_fn=None)
    assert [(r.name, r.repeated) for r in result.rows] == [
        ("", False), ("shared", False), ("shared", True), ("norm", False), ("head", False)]
    assert result.total_params == 20 + 8 + 5  # the shared layer once
    assert result.non_trainable_params == 4  # the frozen weight
    assert result.buffer_bytes == (4 + 4) * 4 + 8  # running mean, var, batch count (int64)
    assert "(recursive)" in str(result)


def test_the_model_is_left_as_it_was():
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Dropout(0.5))
    model.train()
    model[1].eval()  # a mix of flags, each put back
    before = {k: v.numpy().copy() for k, v in model.state_dict().items()}
    nn.summary(model, (3,), batch_size=4, print_fn=None)
    assert model.training and not model[1].training and model[2].training
    for key, value in model.state_dict().items():
        np.testing.assert_array_equal(value.numpy(), before[key])
    assert all(not m._forward_hooks and not m._forward_pre_hooks for m in model.modules())
    assert all(p.grad is None for p in model.parameters())


def test_several_inputs_and_integer_inputs():
    class Pair(nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = nn.Embedding(10, 3)

        def forward(self, tokens, weights):
            return self.embed(tokens) * weights.unsqueeze(-1)

    result = nn.summary(Pair(), [(5,), (5,)], dtypes=[fg.int64, fg.float32], print_fn=None)
    assert result.rows[1].output_shape == (1, 5, 3) and result.total_params == 30
    given = nn.summary(Pair(), input_data=[fg.tensor([[1, 2]]), fg.ones(1, 2)], print_fn=None)
    assert given.rows[0].output_shape == (1, 2, 3)
    class Split(nn.Module):
        def forward(self, x):
            return x[:, :1], x[:, 1:]

    assert nn.summary(Split(), (3,), print_fn=None).rows[0].output_shape == [(1, 1), (1, 2)]


def test_bad_input_is_named():
    model = nn.Sequential(nn.Linear(8, 2))
    with pytest.raises(ShapeError, match="Linear"):
        nn.summary(model, (5,), print_fn=None)
    assert not model[0]._forward_hooks  # removed after the failure too
    with pytest.raises(TypeError, match="input_shape must be a tuple of sizes"):
        nn.summary(model, (8.0,), print_fn=None)
    with pytest.raises(TypeError, match="give input_shape"):
        nn.summary(model, print_fn=None)
    with pytest.raises(TypeError, match=r"expected an nn\.Module"):
        nn.summary(lambda x: x, (8,), print_fn=None)
    with pytest.raises(ValueError, match="2 input shapes but 1 dtypes"):
        nn.summary(model, [(8,), (8,)], dtypes=[fg.float32], print_fn=None)
