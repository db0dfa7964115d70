# respdb: two commands to start — `make serve` and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
PORT ?= 6379
HOST ?= 127.0.0.1

.PHONY: serve test install install-test redis bench lint clean

$(VENV)/bin/activate:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(VENV)/bin/activate
	$(PIP) install -q --upgrade pip
	$(PIP) install -q -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml $(VENV)/.installed
	$(PIP) install -q -e '.[test]'
	touch $@

install: $(VENV)/.installed

install-test: $(VENV)/.installed-test

## Start a server on $(HOST):$(PORT) with default settings.
serve: install
	$(VENV)/bin/respdb-server --bind $(HOST) --port $(PORT)

## The real Redis server and tools, for differential tests and benchmarks (when possible).
redis:
	@command -v redis-server >/dev/null 2>&1 || ./tools/install-redis.sh || true

## Install what the tests need and run the whole suite.
test: install-test redis
	$(PY) -m pytest -q tests

## Benchmarks against a real redis-server, side by side.
bench: install-test redis
	$(PY) benchmarks/vs_redis.py

lint: install-test
	$(VENV)/bin/ruff check respdb tests benchmarks tools

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .ruff_cache
