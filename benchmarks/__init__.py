"""Benchmarks: plain scripts run as ``python -m benchmarks.<name>``."""
