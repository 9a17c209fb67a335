"""Benchmarks: each prints its figures beside the raw libraries measured in the same
run. Run one with `python -m bench.<name>` from the repository root (`make bench` runs
all)."""
