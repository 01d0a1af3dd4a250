"""The article's programs and the examples run as written and learn."""

import builtins
import contextlib
import io
import re
from pathlib import Path

import pytest

import flowgrad as fg
from flowgrad.demo import run
from flowgrad.errors import ShapeError

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def run_script(path: Path, max_loop: int | None = None) -> tuple[dict, str]:
    """Execute a script; ``max_loop`` caps every ``range(n)`` it runs (the article's 1000
    epochs of 100 steps take ~40 s; 50 of each, 2,500 steps, already converge)."""
    namespace: dict = {"__name__": "__main__"}
    if max_loop is not None:
        namespace["range"] = lambda *args: builtins.range(*args)[:max_loop]
    output = io.StringIO()
    with contextlib.redirect_stdout(output):
        exec(compile(path.read_text(), str(path), "exec"), namespace)
    return namespace, output.getvalue()


def test_article_linear_regression_converges():
    namespace, output = run_script(EXAMPLES / "seed" / "torch_linear_regression.py",
                                   max_loop=50)
    model = namespace["model"]
    assert abs(model.W.item() - 2.0) < 0.05 and abs(model.b.item() - 1.0) < 0.05
    assert "Loss:" in output and "W:" in output


def test_article_cnn_trains():
    _, output = run_script(EXAMPLES / "seed" / "torch_cnn.py")
    losses = [float(v) for v in re.findall(r"Loss: ([0-9.]+)", output)]
    assert len(losses) == 10
    assert losses[-1] < 0.5 * losses[0]


def test_article_cnn_with_the_articles_input_shape_names_the_problem():
    namespace, _ = run_script(EXAMPLES / "seed" / "torch_cnn.py", max_loop=1)
    wrong = fg.randn(32, 32, 3, 32)  # the article's shape: channels in the wrong place
    with pytest.raises(ShapeError) as error:
        namespace["model"](wrong)
    message = str(error.value)
    assert isinstance(error.value, ValueError)
    assert "Conv2d(3, 32" in message and "3 channels" in message and "got 32" in message


def test_digits_cnn_example_learns():
    _, output = run_script(EXAMPLES / "digits_cnn.py", max_loop=2)
    accuracies = [float(v) for v in re.findall(r"test accuracy ([0-9.]+)%", output)]
    assert len(accuracies) == 2 and accuracies[-1] > 90


def test_demo_trains_reports_and_plots(tmp_path, capsys):
    plot = tmp_path / "curves.png"
    accuracy = run(epochs=2, plot_path=str(plot))
    output = capsys.readouterr().out
    assert accuracy > 0.9
    assert "epoch  2" in output and "final test accuracy" in output
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        assert not plot.exists()
    else:
        assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_demo_compiled_gives_the_eager_numbers(capsys):
    def epoch_lines(compiled: bool) -> list[str]:
        run(epochs=2, plot_path=None, compiled=compiled)
        out = capsys.readouterr().out
        assert ("(training step compiled)" in out) == compiled
        return [line for line in out.splitlines() if line.startswith("epoch")]

    eager = epoch_lines(False)
    assert len(eager) == 2 and epoch_lines(True) == eager  # losses and accuracies, per epoch


def test_reuse_freed_memory_can_be_switched_on_and_off():
    import sys

    switched = fg.memory.reuse_freed_memory()
    assert switched == sys.platform.startswith("linux")
    assert fg.memory.reuse_freed_memory(False) == switched


def test_article_tf1_linear_regression_converges():
    import numpy as np

    np.random.seed(0)  # the script's noise comes from NumPy's global generator
    with fg.Graph().as_default():  # the script builds in the default graph: keep it private
        namespace, output = run_script(EXAMPLES / "seed" / "tf1_linear_regression.py",
                                       max_loop=50)
    found = dict(re.findall(r"^(W|b): (-?[0-9.]+)$", output, flags=re.MULTILINE))
    assert abs(float(found["W"]) - 2.0) < 0.05 and abs(float(found["b"]) - 1.0) < 0.05
    losses = [float(v) for v in re.findall(r"Loss: ([0-9.e-]+)", output)]
    assert len(losses) == 50 * 5  # 50 epochs of 50 steps, a loss every 10 steps
    assert losses[-1] < 0.02 < losses[0]
    assert namespace["sess"]._closed  # one session, closed when the loop is done


def test_article_keras_cnn_trains_with_keras_parameter_count():
    namespace, output = run_script(EXAMPLES / "seed" / "keras_cnn.py")
    model, history = namespace["model"], namespace["history"]
    assert model.count_params() == 463_840  # as tf.keras counts the same model
    assert "parameters: 463840" in output
    losses = history.history["loss"]
    assert len(losses) == 10 and losses[-1] < losses[0]
    assert [layer.output_shape for layer in model.layers] == [
        (None, 30, 30, 32), (None, 15, 15, 32), (None, 7200), (None, 64), (None, 32)]


def test_article_keras_cnn_with_the_articles_input_shape_names_the_problem():
    namespace, _ = run_script(EXAMPLES / "seed" / "keras_cnn.py", max_loop=1)
    before = [w.copy() for w in namespace["model"].get_weights()]
    wrong = fg.randn(32, 32, 3, 32).numpy()  # the article's data: not N,H,W,C images
    with pytest.raises(ShapeError, match=r"built for inputs of shape \(None, 32, 32, 3\), "
                                         r"got shape \(None, 32, 3, 32\)"):
        namespace["model"].fit(wrong, fg.randint(0, 32, (32,)).numpy(), verbose=0)
    for got, expected in zip(namespace["model"].get_weights(), before, strict=True):
        assert (got == expected).all()  # nothing changed


def test_keras_digits_example_reaches_97_percent():
    import importlib.util

    spec = importlib.util.spec_from_file_location("keras_digits", EXAMPLES / "keras_digits.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    with contextlib.redirect_stdout(io.StringIO()):
        accuracy = module.main(verbose=0)
    assert accuracy >= 0.97
