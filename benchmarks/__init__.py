"""Benchmarks: ``python -m benchmarks.<name>``; each prints figures and ratios to a baseline."""
