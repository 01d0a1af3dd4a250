"""The headline benchmark command runs and prints its table (a smoke test: nothing is timed)."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_python_m_benchmarks_quick_prints_the_table():
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--quick", "--workload", "W1", "--only", "flowgrad"],
        cwd=ROOT, capture_output=True, text=True, timeout=60, check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "Headline benchmarks (--quick)" in done.stdout
    row = next(line for line in done.stdout.splitlines() if line.startswith("W1 "))
    assert " us" in row and "failed" not in row
    assert "2x eager:" in row
