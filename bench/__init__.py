"""Benchmarks (loopback only, bounded in time)."""
