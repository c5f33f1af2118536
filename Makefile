# gridflow: two commands a newcomer needs.
#   make demo   install everything into .venv and run the live demo on the embedded broker
#   make test   install everything and run ruff, mypy and the tests
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml | sha1sum | cut -c1-12)
DURATION ?= 0

.PHONY: install demo test lint typecheck unit integration chaos bench clean tools

$(BIN)/python:
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "need $(PYTHON) (Python 3.11) on PATH"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $(STAMP)

install: $(STAMP)

demo: install
	$(BIN)/gridflow demo $(if $(filter-out 0,$(DURATION)),--duration $(DURATION),)

tools:
	@bash deploy/install-tools.sh || true

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install
	$(BIN)/mypy

unit: install
	$(BIN)/pytest -q -m "not integration"

integration: install
	$(BIN)/pytest -q -m integration

test: install tools lint typecheck
	$(BIN)/pytest -q -ra

chaos: install
	$(BIN)/gridflow chaos

bench: install
	$(BIN)/gridflow bench

clean:
	rm -rf $(VENV) var .mypy_cache .ruff_cache .pytest_cache
