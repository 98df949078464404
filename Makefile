# The two commands a new user needs: `make run` and `make test`. Everything else is a convenience.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test test-slow lint format typecheck bench clean

# `make run` serves the web console here (loopback only); `make run CONSOLE_PORT=9000` moves it.
# A BIDAGENT_CONSOLE__PORT already in the environment wins.
CONSOLE_PORT ?= 8080

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	BIDAGENT_CONSOLE__PORT=$${BIDAGENT_CONSOLE__PORT:-$(CONSOLE_PORT)} $(BIN)/bidagent run

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test: lint
	$(BIN)/python -m pytest -q

# Soak and fault-injection tests (marked `slow`): CI runs them as their own step.
test-slow: $(STAMP)
	$(BIN)/python -m pytest -q -m slow; rc=$$?; if [ $$rc -eq 5 ]; then echo "no slow tests collected"; exit 1; fi; exit $$rc

typecheck: $(STAMP)
	$(BIN)/mypy

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: $(STAMP)
	@for f in bench/*.py; do \
	  name=$$(basename $$f .py); \
	  case $$name in _*) continue;; esac; \
	  echo "== bench.$$name"; $(BIN)/python -m bench.$$name || exit 1; \
	done

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache
