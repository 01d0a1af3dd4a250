"""The README's Python examples run as written."""

import contextlib
import io
import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_python_blocks_run():
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.DOTALL)
    assert len(blocks) == 6, ("the README shows autograd, training, graph, compile, Keras "
                              "and interop examples")
    spaces, printed = [], []
    for block in blocks:
        namespace: dict = {}
        with contextlib.redirect_stdout(io.StringIO()) as out:
            exec(compile(block, str(README), "exec"), namespace)
        spaces.append(namespace)
        printed.append(out.getvalue())
    autograd_example, training_example, graph_example, compile_example, keras, interop = spaces
    assert autograd_example["loss"].item() < 0.02
    weights = autograd_example["w"].flatten().tolist()
    for got, want in zip(weights, [2.0, -1.0, 0.5], strict=True):
        assert abs(got - want) < 0.05
    assert training_example["optimizer"].state  # the loop ran and Adam took steps
    w, b = graph_example["weights"]
    assert abs(w - 2.0) < 0.05 and abs(b - 1.0) < 0.05
    assert "def run(feeds, values):" in printed[2]  # the plan's source
    assert "nodes before" in printed[2]  # the passes' report
    losses = compile_example["losses"]
    assert losses[0] > 1.5 and losses[-1] < 0.2  # compiled training learns
    assert "memory plan" in printed[3]
    assert interop["summary"].total_params == 8 * 9 + 8 + 512 * 10 + 10
    files = sorted(p.name for p in interop["folder"].iterdir())
    assert files == ["ckpt.safetensors", "model.onnx", "runs"]
    assert "Total params" in printed[5]
    assert keras["history"].history["val_accuracy"][-1] > 0.85  # held-out writers: ~90%
    assert "Trainable params" in printed[4]
