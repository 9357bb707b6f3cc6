# Quick start: `make run` (set up and run the default scenario), `make test` (set up and test).
VENV   := .venv
BIN    := $(VENV)/bin
# python3.12 may be a pyenv shim that is present but not runnable: pick the first that runs.
PYTHON ?= $(shell for p in python3.12 $$(ls -d /root/.pyenv/versions/3.12*/bin/python3.12 2>/dev/null) /usr/local/bin/python3.12 /usr/bin/python3.12; do \
            "$$p" -c 'import sys; assert sys.version_info >= (3, 12)' >/dev/null 2>&1 && { echo "$$p"; break; }; done)

.PHONY: run test lint bench clean-venv

$(BIN)/python:
	@test -n "$(PYTHON)" || { echo "error: Python >= 3.12 not found (set PYTHON=/path/to/python3.12)"; exit 2; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	@touch $@

$(VENV)/.installed-test: pyproject.toml $(VENV)/.installed
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $@

run: $(VENV)/.installed
	$(BIN)/simulation run

test: $(VENV)/.installed-test
	$(BIN)/python -m pytest -q

# benchmarks of DESIGN section 8 (several minutes); writes benchmarks/results/latest.json
bench: $(VENV)/.installed
	$(BIN)/python -m benchmarks.bench

lint: $(VENV)/.installed-test
	$(BIN)/ruff check simulation tests benchmarks

clean-venv:
	rm -rf $(VENV)
