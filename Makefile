# Every target creates .venv when it is missing and installs the project into it.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: demo test check lint types contracts pytest bench serve clean-demo

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install -q --disable-pip-version-check --upgrade pip
	@$(BIN)/python -m pip install -q --disable-pip-version-check -e ".[dev]"
	@touch $(STAMP)

## demo: build the demo world and serve it on http://127.0.0.1:8000
demo: $(STAMP)
	$(BIN)/tsunagu demo

## test: everything CI runs — lint, types, import contracts, the whole test suite
test: $(STAMP)
	@scripts/install-system-deps
	$(MAKE) --no-print-directory lint types contracts pytest

check: test

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

types: $(STAMP)
	$(BIN)/mypy

contracts: $(STAMP)
	$(BIN)/lint-imports

pytest: $(STAMP)
	$(BIN)/pytest

## bench: run the benchmarks, results as JSON under bench/results/
bench: $(STAMP)
	$(BIN)/python -m bench

serve: $(STAMP)
	$(BIN)/tsunagu serve --host 127.0.0.1 --port 8000
