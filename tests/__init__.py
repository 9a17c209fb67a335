"""The tests; `tests.harness` is what they (and the benchmarks) build on."""
