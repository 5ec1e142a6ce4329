# The two commands: `make dev` runs the platform locally, `make test` runs lint, types and every test.
PYTHON ?= python3
PORT ?= 8000
ARGS ?=
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PYTEST_WORKERS ?= auto

.PHONY: dev test install lint format typecheck unit integration infrastructure e2e openapi synth layer clean

$(STAMP): requirements.txt requirements-dev.txt layers/core/requirements.txt pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is required")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	@touch $(STAMP)

install: $(STAMP)

dev: install
	$(BIN)/python -m local --port $(PORT) $(ARGS)

test: install lint typecheck
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist loadgroup

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

typecheck: install
	$(BIN)/mypy

unit integration infrastructure e2e: install
	$(BIN)/python -m pytest tests/$@

openapi: install
	$(BIN)/python -m local.openapi docs/openapi.json

synth: install
	$(BIN)/python app.py

clean:
	rm -rf $(VENV) cdk.out .pytest_cache .mypy_cache .ruff_cache
