"""Benchmarks: plain scripts, ``python -m benchmarks.<name>``; each prints a ratio to a peer."""
