"""Benchmarks: honest pass@k, compile rate, comparison tables and hardware metrics."""
