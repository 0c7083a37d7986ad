"""Micro-benchmarks that print figures (never timed unit tests)."""
