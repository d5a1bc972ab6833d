# Wharfinger: `make run` to start the service, `make test` to run every check (what CI runs).

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c

VENV := .venv
WHARFINGER_LISTEN ?= 127.0.0.1:5080

.PHONY: venv test-env run test lint bench clean

venv:
	scripts/setup-venv.sh

# Installs and starts the real components the tests use; writes var/test-env.sh (needs root).
test-env:
	scripts/setup-test-env.sh

run: venv
	$(VENV)/bin/wharfinger serve --listen $(WHARFINGER_LISTEN)

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy

# Any non-zero exit fails the target, including pytest's 5 for "collected no tests".
test: venv test-env
	. var/test-env.sh; \
	$(VENV)/bin/ruff check .; \
	$(VENV)/bin/mypy; \
	$(VENV)/bin/pytest -q -p no:cacheprovider

bench: venv
	$(VENV)/bin/python -m bench

# var/ is left alone: it holds the keys and event log of `make run`.
clean:
	rm -rf $(VENV) build *.egg-info .mypy_cache .ruff_cache .pytest_cache .hypothesis \
		test-artifacts var/test-env.sh
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
