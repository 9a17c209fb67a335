PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

# axe-core, the accessibility engine the browser tests inject: from the npm registry at
# install time into a git-ignored folder, never from a CDN at test time.
AXE_VERSION := 4.10.3
AXE := build/axe-core/axe.min.js

.PHONY: run test lint bench fuzz clean screenshots

FUZZ_SECONDS ?= 60

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

test: $(STAMP) $(AXE)
	$(BIN)/python -m pytest

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

clean:
	rm -rf $(VENV) var
