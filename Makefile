# The two commands: `make demo` (the main job) and `make test` (installs everything, runs all checks).
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
NODE_STAMP := node_modules/.installed
PYTEST_ARGS ?=

.PHONY: install test lint typecheck pytest demo bench profile dev serve system-deps clean

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	touch $@

$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

install: $(STAMP) $(NODE_STAMP)

system-deps:
	bash scripts/system-deps.sh test

lint: $(STAMP)
	$(VENV)/bin/ruff check activity tests
	$(VENV)/bin/ruff format --check activity tests

typecheck: $(STAMP)
	$(VENV)/bin/mypy

pytest: install system-deps
	$(VENV)/bin/pytest $(PYTEST_ARGS)

test: install system-deps lint typecheck pytest

demo: install
	$(VENV)/bin/rokt-activity demo

bench: install
	bash scripts/system-deps.sh bench
	$(VENV)/bin/python -m activity.devtools.bench

# A shorter benchmark with a py-spy flame graph of the service's GIL during its first round.
profile: install
	bash scripts/system-deps.sh bench
	$(PY) -m activity.devtools.bench --contacts 60000 --rounds 1 --large-rounds 0 --workers 1 \
		--per-contact 1000 --paced-seconds 2 --profile bench-profile.svg

# The service beside the fake Rokt and the fake Marketing Cloud, with a development secret and
# a database under ./dev; prints the URLs, a sign-in link and a ready-made execute call.
# ROKT_API_URL=https://api.roktcalendar.com make dev talks to the real Rokt instead.
dev: install
	$(PY) -m activity.devtools.dev

# Safe by default: the same as `make dev` (never the real Rokt unless ROKT_API_URL says so).
serve: dev

clean:
	rm -rf $(VENV) node_modules .pytest_cache .mypy_cache .ruff_cache test-artifacts
