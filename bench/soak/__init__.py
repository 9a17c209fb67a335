"""The soak of the whole embedded network with faults injected (`make soak`): see
bench/soak/run.py and docs/architecture.md, "The soak"."""
