"""Benchmarks: runnable scripts that print tables (never timed assertions in tests)."""
