"""The README's Python examples run as written."""

import contextlib
import io
import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_python_blocks_run():
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.DOTALL)
    assert blocks, "the README should show a Python example"
    for block in blocks:
        namespace: dict = {}
        output = io.StringIO()
        with contextlib.redirect_stdout(output):
            exec(compile(block, str(README), "exec"), namespace)
        loss = namespace["loss"].item()
        weights = namespace["w"].flatten().tolist()
        assert loss < 0.02
        for got, want in zip(weights, [2.0, -1.0, 0.5], strict=True):
            assert abs(got - want) < 0.05
