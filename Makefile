# twinsock: the two commands are `make hil` and `make test`; `make help` lists all.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.DEFAULT_GOAL := help
.PHONY: help venv test lint format hil deploy flash boards
BOARD ?= unix
HIL = PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python -m tools.hil
HIL_BOARD = --board $(BOARD) $(if $(PORT),--port $(PORT))

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

hil: $(STAMP) ## the UDP/TCP/TLS/DTLS suite on a board (default: the emulated unix board); BOARD= PORT= JUNIT=
	$(HIL) run $(HIL_BOARD) $(if $(JUNIT),--junit $(JUNIT))

deploy: $(STAMP) ## compile lib/ and port/ to .mpy and copy what changed to BOARD (PORT=...)
	$(HIL) deploy $(HIL_BOARD)

flash: $(STAMP) ## write FIRMWARE to BOARD=esp32|rp2040 (PORT=..., CHIP=esp32s3 ...)
	$(HIL) flash --board $(BOARD) --firmware $(FIRMWARE) $(if $(PORT),--port $(PORT)) $(if $(CHIP),--chip $(CHIP))

boards: $(STAMP) ## list attached boards by USB VID:PID and serial number
	$(HIL) list
