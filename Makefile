# kefu — two commands: `make run` (set up and serve the embedded default) and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000

.PHONY: run test setup messages clean-var bench browser kernel

$(BIN)/kefu $(VENV)/.installed: pyproject.toml requirements.lock
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --disable-pip-version-check -q -r requirements.lock
	$(BIN)/pip install --disable-pip-version-check -q --no-deps -e .
	@touch $(VENV)/.installed

setup: $(VENV)/.installed messages node_modules/.installed kernel

# kefu's e5 kernel for the bot's questions (C, built with the system compiler for this processor;
# nothing to do when it is built already, and the wheel's engine encodes where it cannot be built).
kernel: $(VENV)/.installed
	@$(BIN)/python -m kefu.knowledge.retrieval.e5fast build --quiet-if-built

# Front-end libraries (htmx, Alpine.js) from the npm registry, exactly as package-lock.json pins them.
node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch node_modules/.installed

# Debian's chromium and a CJK font for the browser tests (Playwright drives the system browser).
browser:
	@command -v chromium >/dev/null 2>&1 && fc-list 2>/dev/null | grep -qi "noto sans cjk" || \
	  (apt-get update -qq && apt-get install -y -qq chromium fonts-noto-cjk)

messages: $(VENV)/.installed
	@cd kefu && ../$(BIN)/kefu compilemessages -v 0 -l zh_Hans

run: setup
	$(BIN)/kefu migrate --noinput -v 0
	$(BIN)/kefu demo --if-empty
	PORT=$(PORT) $(BIN)/kefu serve

test: setup browser
	bash scripts/test.sh

bench: setup
	@echo "see bench/README.md"
