"""fg.save / fg.load: safetensors files that other tools read, never a pickle, never broken."""

import io
import os
import pickle
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

import flowgrad as fg
from flowgrad import nn
from flowgrad.errors import CheckpointError

safetensors_numpy = pytest.importorskip("safetensors.numpy")


def _model():
    fg.manual_seed(0)
    return nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(),
                         nn.Flatten(), nn.Linear(4 * 4 * 4, 3))


def _arrays(state):
    return {k: v.detach().numpy() for k, v in state.items()}


def test_a_state_dict_round_trips_and_its_tensor_names_are_its_keys(tmp_path):
    model = _model()
    path = tmp_path / "model.safetensors"
    fg.save(model.state_dict(), path)
    loaded = fg.load(path)
    assert list(loaded) == list(model.state_dict())
    other = _model()
    for p in other.parameters():
        p.data.mul_(0)
    other.load_state_dict(loaded)
    for (name, a), b in zip(_arrays(model.state_dict()).items(),
                            _arrays(other.state_dict()).values(), strict=True):
        np.testing.assert_array_equal(a, b, err_msg=name)
        assert a.dtype == b.dtype
    # the safetensors library reads the same file: the same names and values
    theirs = safetensors_numpy.load_file(str(path))
    assert set(theirs) == set(model.state_dict())
    for name, array in _arrays(model.state_dict()).items():
        np.testing.assert_array_equal(theirs[name], array)


def test_an_optimizer_state_dict_keeps_its_structure(tmp_path):
    model = _model()
    optimizer = fg.optim.Adam(model.parameters(), lr=1e-3, betas=(0.8, 0.9))
    x = fg.randn(2, 3, 4, 4)
    for _ in range(2):
        optimizer.zero_grad()
        model(x).sum().backward()
        optimizer.step()
    path = tmp_path / "optimizer.safetensors"
    state = optimizer.state_dict()
    fg.save({"optimizer": state, "epoch": 3, "note": "warm", "best": None, "lr": 1e-3}, path)
    loaded = fg.load(path)
    assert (loaded["epoch"], loaded["note"], loaded["best"], loaded["lr"]) == (3, "warm",
                                                                               None, 1e-3)
    saved = loaded["optimizer"]
    assert saved["param_groups"][0]["betas"] == (0.8, 0.9)  # a tuple stays a tuple
    assert sorted(saved["state"]) == sorted(state["state"])  # integer keys stay integers
    for index, entry in state["state"].items():
        for key, value in entry.items():
            got = saved["state"][index][key]
            if isinstance(value, fg.Tensor):
                np.testing.assert_array_equal(got.numpy(), value.numpy())
            else:
                assert got == value and type(got) is type(value)
    fresh = fg.optim.Adam(model.parameters(), lr=1e-3, betas=(0.8, 0.9))
    fresh.load_state_dict(saved)
    assert fresh.state_dict()["param_groups"] == state["param_groups"]


def test_a_file_written_by_the_safetensors_library_loads_into_a_module(tmp_path):
    torch = pytest.importorskip("torch")
    safetensors_torch = pytest.importorskip("safetensors.torch")
    torch.manual_seed(0)
    reference = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3, padding=1),
                                    torch.nn.BatchNorm2d(4), torch.nn.ReLU(),
                                    torch.nn.Flatten(), torch.nn.Linear(64, 3))
    reference.eval()
    path = tmp_path / "torch.safetensors"
    safetensors_torch.save_file(reference.state_dict(), str(path))
    model = _model()
    model.load_state_dict(fg.load(path))
    model.eval()
    x = np.random.default_rng(0).standard_normal((2, 3, 4, 4)).astype(np.float32)
    with torch.no_grad():
        expected = reference(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(model(fg.tensor(x)).detach().numpy(), expected, rtol=1e-5,
                               atol=1e-6)


def test_bfloat16_from_pytorch_widens_exactly_to_float32(tmp_path):
    torch = pytest.importorskip("torch")
    safetensors_torch = pytest.importorskip("safetensors.torch")
    values = torch.tensor([1.5, -2.25, 3.0e-3, 1e30]).to(torch.bfloat16)
    safetensors_torch.save_file({"w": values}, str(tmp_path / "bf16.safetensors"))
    loaded = fg.load(tmp_path / "bf16.safetensors")["w"]
    assert loaded.dtype == fg.float32
    np.testing.assert_array_equal(loaded.numpy(), values.float().numpy())


def test_non_contiguous_tensors_are_saved_by_value(tmp_path):
    base = np.arange(12, dtype=np.float32).reshape(3, 4)
    views = {"transposed": fg.tensor(base).T, "strided": fg.tensor(base)[:, ::2],
             "big_endian": base.astype(">f4")}
    path = tmp_path / "views.safetensors"
    fg.save(views, path)
    loaded = fg.load(path)
    theirs = safetensors_numpy.load_file(str(path))
    for name, view in views.items():
        expected = np.asarray(view.numpy() if isinstance(view, fg.Tensor) else view)
        got = loaded[name].numpy() if isinstance(loaded[name], fg.Tensor) else loaded[name]
        np.testing.assert_array_equal(got, expected)
        np.testing.assert_array_equal(theirs[name], expected)


def test_tied_parameters_are_saved_once_and_stay_tied(tmp_path):
    def tied():
        fg.manual_seed(1)
        model = nn.Sequential(nn.Embedding(5, 3), nn.Linear(3, 5, bias=False))
        model[1].weight = model[0].weight  # one Parameter, two names
        return model

    model = tied()
    path = tmp_path / "tied.safetensors"
    fg.save(model.state_dict(), path)
    assert len(safetensors_numpy.load_file(str(path))) == 1  # stored once
    loaded = fg.load(path)
    assert loaded["0.weight"] is loaded["1.weight"]
    other = tied()
    with fg.no_grad():
        other[0].weight.mul_(0)
    other.load_state_dict(loaded)
    assert other[0].weight is other[1].weight
    np.testing.assert_array_equal(other[1].weight.detach().numpy(),
                                  model[0].weight.detach().numpy())


def test_a_resumed_training_run_continues_bit_for_bit(tmp_path):
    def setup():
        fg.manual_seed(3)
        model = nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.Dropout(0.5), nn.Linear(8, 2))
        return model, fg.optim.AdamW(model.parameters(), lr=1e-2)

    def train(model, optimizer, steps):
        for _ in range(steps):
            x = fg.randn(4, 6)  # data drawn from the generator too
            optimizer.zero_grad()
            model(x).square().mean().backward()
            optimizer.step()

    model, optimizer = setup()
    train(model, optimizer, 3)
    path = tmp_path / "resume.safetensors"
    fg.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(),
             "rng": fg.get_rng_state(), "step": 3}, path)
    train(model, optimizer, 3)
    expected = _arrays(model.state_dict())

    resumed, resumed_optimizer = setup()
    fg.manual_seed(99)  # the checkpoint's generator state must replace this
    checkpoint = fg.load(path)
    resumed.load_state_dict(checkpoint["model"])
    resumed_optimizer.load_state_dict(checkpoint["optimizer"])
    fg.set_rng_state(checkpoint["rng"])
    train(resumed, resumed_optimizer, 3)
    for name, array in _arrays(resumed.state_dict()).items():
        np.testing.assert_array_equal(array, expected[name], err_msg=name)


class _Payload:
    """Unpickling this would create a file: loading must never get that far."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_a_pickle_is_refused_and_nothing_in_it_runs(tmp_path):
    marker = tmp_path / "ran"
    path = tmp_path / "evil.pt"
    path.write_bytes(pickle.dumps(_Payload(str(marker))))
    with pytest.raises(CheckpointError, match="pickle") as caught:
        fg.load(path)
    assert str(path) in str(caught.value)
    assert not marker.exists()


def test_a_torch_save_archive_is_refused(tmp_path):
    torch = pytest.importorskip("torch")
    path = tmp_path / "model.pt"
    torch.save({"w": torch.ones(2)}, path)
    with pytest.raises(CheckpointError, match="zip archive"):
        fg.load(path)


@pytest.mark.parametrize("cut", [0, 5, 8, 20, -3])
def test_a_truncated_file_names_the_file_and_the_problem(tmp_path, cut):
    path = tmp_path / "model.safetensors"
    fg.save(_model().state_dict(), path)
    data = path.read_bytes()
    broken = tmp_path / "broken.safetensors"
    broken.write_bytes(data[:cut])
    with pytest.raises(CheckpointError) as caught:
        fg.load(broken)
    message = str(caught.value)
    assert str(broken) in message
    assert ("truncated" in message or "only" in message or "header" in message), message


def test_corrupted_headers_are_named(tmp_path):
    def write(header: bytes, data: bytes = b"") -> str:
        path = tmp_path / "bad.safetensors"
        path.write_bytes(len(header).to_bytes(8, "little") + header + data)
        return path

    cases = [
        (b"not json at all", "not JSON"),
        (b'{"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 4]}}', "needs 8 bytes"),
        (b'{"w": {"dtype": "Q9", "shape": [1], "data_offsets": [0, 4]}}', "dtype 'Q9'"),
        (b'{"w": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]}}', "shape"),
        (b'{"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},'
         b'"b": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}}', "overlap"),
    ]
    for header, expected in cases:
        with pytest.raises(CheckpointError, match=expected):
            fg.load(write(header, bytes(8)))
    with pytest.raises(CheckpointError, match="is a folder"):
        fg.load(tmp_path)


def test_what_cannot_be_saved_is_named_and_nothing_is_written(tmp_path):
    path = tmp_path / "keep.safetensors"
    fg.save({"w": fg.ones(2)}, path)
    before = path.read_bytes()
    with pytest.raises(CheckpointError, match=r"cannot save a Sequential at \['model'\]"):
        fg.save({"model": _model()}, path)
    with pytest.raises(CheckpointError, match="key of type tuple"):
        fg.save({(1, 2): fg.ones(1)}, path)
    with pytest.raises(CheckpointError, match="metadata maps strings to strings"):
        fg.save({"w": fg.ones(1)}, path, metadata={"epoch": 3})
    with fg.Graph().as_default():
        symbolic = fg.placeholder(fg.float32, shape=(2,))
        with pytest.raises(CheckpointError, match="graph value"):
            fg.save({"x": symbolic}, path)
    assert path.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["keep.safetensors"]  # no temporary left behind


def test_killing_a_saving_process_leaves_the_previous_checkpoint_whole(tmp_path):
    path = tmp_path / "run.safetensors"
    script = textwrap.dedent(f"""
        import sys
        import numpy as np
        import flowgrad as fg
        for version in range(10_000):
            fg.save({{"w": np.full(4_000_000, version, np.float32)}}, {str(path)!r})
            print(version, flush=True)
    """)
    for delay in (0.02, 0.11, 0.23):
        child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE,
                                 text=True)
        assert child.stdout.readline().strip() == "0"  # one whole checkpoint exists
        time.sleep(delay)
        child.send_signal(signal.SIGKILL)
        child.wait()
        child.stdout.close()
        values = fg.load(path)["w"]  # an array saved comes back an array
        assert values.shape == (4_000_000,) and (values == values[0]).all()
    # the kills did land in the middle of saves: their temporaries are left, never renamed
    assert any(name.endswith(".tmp") for name in os.listdir(tmp_path))


def test_metadata_is_stored_for_other_tools(tmp_path):
    from safetensors import safe_open

    path = tmp_path / "m.safetensors"
    fg.save({"w": fg.ones(2)}, path, metadata={"epoch": "3"})
    with safe_open(str(path), framework="np") as file:
        assert file.metadata()["epoch"] == "3"
        assert list(file.keys()) == ["w"]


def test_a_bytes_buffer_is_not_a_path():
    with pytest.raises(TypeError):
        fg.load(io.BytesIO(b"12345678"))
