"""Benchmarks: each module measures stockwatch against a peer in the same run and prints a ratio."""
