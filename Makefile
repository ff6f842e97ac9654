# The two commands of the README: `make demo` and `make test`. Each sets itself up.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed

.PHONY: demo test lint typecheck unit bench schema screens chaos

$(INSTALLED): pyproject.toml
	scripts/ensure-system-packages.sh
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $@

demo: $(INSTALLED)
	$(BIN)/careedge demo

test: $(INSTALLED)
	scripts/ensure-system-packages.sh --test-servers
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/careedge config validate config/examples/*.yaml
	$(BIN)/pytest

# The full chaos run (over a hundred SIGKILLs, about a quarter of an hour); `make test` runs a short one.
chaos: $(INSTALLED)
	scripts/ensure-system-packages.sh --test-servers
	$(BIN)/python -m careedge_testkit.chaos --profile full --report docs/reliability.md --command "make chaos"

schema: $(INSTALLED)
	$(BIN)/careedge config schema --output config/site-config.schema.json

bench: $(INSTALLED)
	$(BIN)/python bench/bridge_ingest.py
	$(BIN)/python bench/ble_decode.py
	$(BIN)/python bench/outbox_drain.py

# Refresh the screenshots in docs/screens from the page tests (a plain test run leaves them alone).
screens: $(INSTALLED)
	CAREEDGE_SCREENSHOTS=$(CURDIR)/docs/screens $(BIN)/pytest -q tests/e2e -k "page or dashboard or pharmacist"
