PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

# axe-core, the accessibility engine the browser tests inject: from the npm registry at
# install time into a git-ignored folder, never from a CDN at test time.
AXE_VERSION := 4.10.3
AXE := build/axe-core/axe.min.js

.PHONY: run test check lint bench fuzz soak clean screenshots

# Bytecode is kept (in the git-ignored __pycache__ folders) even where the shell asks for
# none with PYTHONDONTWRITEBYTECODE: without it every test worker, and every node and
# `homeward run` the tests start, compiles the project afresh (about 2 s of CPU a process)
# and pytest rewrites every test module's asserts again in each worker.
unexport PYTHONDONTWRITEBYTECODE
COMPILE := $(BIN)/python -m compileall -q -j 0 events services projections tests bench >/dev/null

FUZZ_SECONDS ?= 60
SOAK_MINUTES ?= 10
# BROKER_STORE=postgres://... keeps the soaked broker's log there (a tansu with that engine);
# SOAK_ARGS=--no-malformed, --seed N, --faults broker-kill,node-kill, ... (python -m bench.soak -h)
BROKER_STORE ?=
SOAK_ARGS ?=

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/homeward run $(ARGS)

$(AXE):
	@if command -v npm >/dev/null; then \
		mkdir -p build/axe-core && cd build/axe-core && \
		npm pack --silent axe-core@$(AXE_VERSION) >/dev/null && \
		tar -xzf axe-core-$(AXE_VERSION).tgz --strip-components=1 package/axe.min.js package/LICENSE && \
		rm axe-core-$(AXE_VERSION).tgz; \
	else echo "make: no npm, so no axe-core: the accessibility checks will not run"; fi

# The whole suite in parallel workers (pytest-xdist), two per core unless WORKERS says
# otherwise (most tests wait on brokers, nodes and browsers more than they compute); each
# worker has its own broker, its own block of ports, its own temporary directories and
# PostgreSQL schemas (see docs/architecture.md, "Testing in parallel").
WORKERS ?= $(shell echo $$(( $$(nproc) * 2 )))
test: $(STAMP) $(AXE)
	$(COMPILE)
	$(BIN)/python -m pytest -n $(WORKERS) --dist worksteal

# The inner loop: lint, types, and the unit and contract tests (no broker, no PostgreSQL,
# no browser), in about a minute.
check: $(STAMP)
	$(BIN)/ruff check events services projections tests bench
	$(BIN)/mypy
	$(COMPILE)
	$(BIN)/python -m pytest -q -p no:cacheprovider tests/unit tests/contract

# The pictures of the pages in docs/, taken in headless Chromium from a seeded network.
screenshots: $(STAMP) $(AXE)
	HOMEWARD_SCREENSHOTS=docs/screenshots $(BIN)/python -m pytest -q -p no:cacheprovider tests/browser

lint: $(STAMP)
	$(BIN)/ruff check events services projections tests bench
	$(BIN)/mypy
	$(BIN)/python -m pytest -q -p no:cacheprovider tests/unit/test_layering.py tests/unit/test_policy.py

# The inbox's admission of raw Kafka records, coverage-guided (atheris), for FUZZ_SECONDS.
fuzz: $(STAMP)
	PYTHONPATH=.:tests $(BIN)/python tests/fuzz/fuzz_inbox.py -max_total_time=$(FUZZ_SECONDS)

# Every benchmark prints its figures beside the raw libraries of the same run and adds
# them to var/bench.json, started afresh here.
bench: $(STAMP)
	mkdir -p var && rm -f var/bench.json
	for f in bench/[!_]*.py; do $(BIN)/python -m bench.$$(basename $$f .py) || exit 1; done
	@echo "figures: var/bench.json"

# The whole embedded network under two-way traffic for SOAK_MINUTES while the broker and the
# nodes are killed and paused, malformed records injected and a key rotated; then checked.
soak: $(STAMP)
	$(BIN)/python -m bench.soak --minutes $(SOAK_MINUTES) \
		$(if $(BROKER_STORE),--broker-store $(BROKER_STORE)) $(SOAK_ARGS)

clean:
	rm -rf $(VENV) var
