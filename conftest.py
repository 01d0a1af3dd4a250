"""pytest configuration: doctests of the package run too; ``python -m flowgrad`` is a script."""

collect_ignore = ["flowgrad/__main__.py", "benchmarks"]
