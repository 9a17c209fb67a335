"""Runs the inbox fuzz target under atheris, with coverage guidance over the project's
own code (instrumented as it is imported). Arguments are libFuzzer's (-runs=N,
-max_total_time=S, -seed=N)."""

import logging
import sys

import atheris

with atheris.instrument_imports(include=["events", "services", "projections"]):
    import inbox_target

logging.disable(logging.WARNING)  # one dead letter per input: the log is not the point
inbox_target.main(sys.argv)
