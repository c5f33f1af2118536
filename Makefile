# gridflow: two commands a newcomer needs.
#   make demo   install everything into .venv and run the live demo on the embedded broker
#   make test   install everything and run ruff, mypy and the tests
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml | sha1sum | cut -c1-12)
DURATION ?= 0

CONSOLE_STAMP := gridflow/api/console_dist/.built-$(shell cat console/package-lock.json console/vite.config.js console/index.html console/src/* 2>/dev/null | sha1sum | cut -c1-12)

.PHONY: console install demo test lint typecheck unit integration chaos bench clean tools

$(BIN)/python:
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "need $(PYTHON) (Python 3.11) on PATH"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $(STAMP)

install: $(STAMP) console

# The browser console (docs/console.md): npm ci + Vite build into gridflow/api/console_dist,
# rebuilt when its sources change. Without Node the API still runs and /console/ says so.
console: $(CONSOLE_STAMP)

$(CONSOLE_STAMP):
	@if command -v npm >/dev/null 2>&1; then \
		cd console && npm ci --no-audit --no-fund --loglevel=error && npm run build --silent && touch ../$(CONSOLE_STAMP); \
	else echo "npm not found: the console is not built (install Node 20.19+ and run make console)"; fi

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
	$(BIN)/pytest -q -ra --durations=25

chaos: install
	$(BIN)/gridflow chaos

bench: install
	$(BIN)/gridflow bench

clean:
	rm -rf $(VENV) var .mypy_cache .ruff_cache .pytest_cache console/node_modules gridflow/api/console_dist
