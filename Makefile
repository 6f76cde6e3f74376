# kefu — two commands: `make run` (set up and serve the embedded default) and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000

.PHONY: run test setup messages clean-var bench

$(BIN)/kefu $(VENV)/.installed: pyproject.toml requirements.lock
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --disable-pip-version-check -q -r requirements.lock
	$(BIN)/pip install --disable-pip-version-check -q --no-deps -e .
	@touch $(VENV)/.installed

setup: $(VENV)/.installed messages

messages: $(VENV)/.installed
	@cd kefu && ../$(BIN)/kefu compilemessages -v 0 -l zh_Hans

run: setup
	$(BIN)/kefu migrate --noinput -v 0
	$(BIN)/kefu demo --if-empty
	PORT=$(PORT) $(BIN)/kefu serve

test: setup
	bash scripts/test.sh

bench: setup
	@echo "see bench/README.md"
