# twinsock: the two commands are `make hil` and `make test`; `make help` lists all.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.DEFAULT_GOAL := help
.PHONY: help venv test lint format hil

help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(STAMP): requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

venv: $(STAMP) ## create .venv with the pinned tools (MicroPython included)

lint: $(STAMP) ## ruff: format check and lint
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .

format: $(STAMP) ## ruff: reformat the tree
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

test: $(STAMP) lint ## every test, on CPython and on the real MicroPython interpreter
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/pytest

hil: $(STAMP) ## the UDP/TCP/TLS/DTLS suite on a board (default: the emulated unix board)
	@echo "make hil: not yet (the HIL harness issue)"
