# The two commands: `make dev` runs the platform locally, `make test` runs lint, types and every test.
PYTHON ?= python3
NPM ?= npm
PORT ?= 8000
ARGS ?=
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PYTEST_WORKERS ?= auto
# `make fuzz`: how long schemathesis generates requests (make test runs a bounded 90-second run of the same).
FUZZ_SECONDS ?= 600
# The web app: npm packages from web/package-lock.json, built into web/dist (served at /app/).
WEB_STAMP := web/node_modules/.installed
WEB_BUILT := web/dist/index.html
WEB_SOURCES := $(shell find web/src web/public web/scripts -type f 2>/dev/null) web/index.html web/vite.config.ts web/tsconfig.json
# checkov (the templates' posture, tests/infrastructure/test_posture.py) lives in its own virtualenv: its pins
# clash with the CDK app's. requirements-checkov.txt is the whole resolved set, so the install never backtracks.
CHECKOV_VENV := .venv-checkov
CHECKOV := $(CHECKOV_VENV)/bin/checkov
# `make load` / `make soak` (bench/load.py): Locust against the whole local platform; figures in docs/benchmarks.md.
LOAD_REQUESTS ?= 5000
LOAD_USERS ?= 20
SOAK_MINUTES ?= 30
SOAK_RATE ?= 20
LOAD_STAMP := $(VENV)/.load-installed
# Browser tests drive Debian's Chromium (browser downloads are impossible here); root installs it, others use sudo.
CHROMIUM ?= /usr/bin/chromium
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: dev test install web chromium checkov load soak lint format typecheck unit integration infrastructure e2e browser fuzz openapi synth layer clean

$(STAMP): requirements.txt requirements-dev.txt layers/core/requirements.txt layers/core/requirements-no-deps.txt pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is required")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	@touch $(STAMP)

install: $(STAMP)

$(WEB_STAMP): web/package.json web/package-lock.json
	cd web && $(NPM) ci --no-audit --no-fund
	@touch $@

# The build measures the first load's JavaScript and fails above its budget (web/scripts/budget.mjs).
$(WEB_BUILT): $(WEB_STAMP) $(WEB_SOURCES)
	cd web && $(NPM) run build

web: $(WEB_BUILT)

$(CHECKOV): requirements-checkov.txt
	test -x $(CHECKOV_VENV)/bin/python || $(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(CHECKOV_VENV)/bin/python -m pip install --quiet --no-deps -r requirements-checkov.txt
	@touch $(CHECKOV)

checkov: $(CHECKOV)

$(CHROMIUM):
	$(SUDO) apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends chromium

chromium: $(CHROMIUM)

dev: install web
	$(BIN)/python -m local --port $(PORT) $(ARGS)

# The prerequisites (Python, npm and Debian installs, lint, types, the web build, checkov) run side by side.
test:
	$(MAKE) -j3 install lint typecheck web chromium checkov
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist loadgroup --durations=30

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

typecheck: install $(WEB_STAMP)
	$(BIN)/mypy
	cd web && $(NPM) run typecheck

infrastructure: checkov

unit integration infrastructure e2e: install web
	$(BIN)/python -m pytest tests/$@

browser: install web chromium
	$(BIN)/python -m pytest tests/browser

$(LOAD_STAMP): $(STAMP) requirements-load.txt
	$(BIN)/python -m pip install --quiet -r requirements-load.txt
	@touch $@

load: install web $(LOAD_STAMP)
	$(BIN)/python -m bench.load --requests $(LOAD_REQUESTS) --users $(LOAD_USERS)

soak: install web $(LOAD_STAMP)
	$(BIN)/python -m bench.load --soak-minutes $(SOAK_MINUTES) --rate $(SOAK_RATE) --users $(LOAD_USERS)

fuzz: install
	$(BIN)/python -m tests.fuzz --seconds $(FUZZ_SECONDS)

openapi: install
	$(BIN)/python -m local.openapi docs/openapi.json

synth: install web
	$(BIN)/python app.py

clean:
	rm -rf $(VENV) $(CHECKOV_VENV) cdk.out .pytest_cache .mypy_cache .ruff_cache web/node_modules web/dist
