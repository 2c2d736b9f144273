"""Benchmarks: performance is measured here, as ratios taken in the same run, never asserted in tests."""
