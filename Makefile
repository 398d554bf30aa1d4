# twinsock: the two commands are `make hil` and `make test`; `make help` lists all.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.DEFAULT_GOAL := help
.PHONY: help venv test lint format hil hil-all board deploy flash boards package conformance bench soak
BOARD ?= unix
PLATFORM ?= cpython
HIL = PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python -m tools.hil
HIL_BOARD = --board $(BOARD) $(foreach p,$(PORT),--port $(p))

help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(STAMP): requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

# The interop peers (tests/interop): tinydtls (DTLSSocket, built from source with a C
# compiler, autoconf/automake/libtool and Python's headers), aiocoap, and tshark for
# decoding DTLS captures. Missing Debian packages are installed when root.
PEERS := $(VENV)/.peers-installed
PEER_COMMANDS := gcc autoreconf aclocal libtoolize tshark
PEER_DEBS := gcc autoconf automake libtool tshark
HAS_PYTHON_H := import os, sys, sysconfig; sys.exit(not os.path.exists(os.path.join(sysconfig.get_paths()["include"], "Python.h")))
$(PEERS): requirements-peers.txt $(STAMP)
	@debs=""; for c in $(PEER_COMMANDS); do command -v $$c >/dev/null || debs=" $(PEER_DEBS)"; done; \
	$(BIN)/python -c '$(HAS_PYTHON_H)' || debs="$$debs python3-dev"; \
	if [ -n "$$debs" ]; then \
	  if [ "$$(id -u)" != 0 ]; then echo "the interop peers need: sudo apt-get install$$debs"; exit 1; fi; \
	  echo "apt-get install$$debs"; apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$debs >/dev/null; \
	fi
	PIP_CONSTRAINT=requirements-peers.txt $(BIN)/pip install --quiet --disable-pip-version-check -r requirements-peers.txt
	touch $@

venv: $(STAMP) $(PEERS) ## create .venv with the pinned tools (MicroPython included) and the interop peers

lint: $(STAMP) ## ruff: format check and lint
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .

format: $(STAMP) ## ruff: reformat the tree
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

test: $(STAMP) $(PEERS) lint ## every test, on CPython and on the real MicroPython interpreter
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/pytest

hil: $(STAMP) ## the UDP/TCP/TLS/DTLS suite on a board, through pytest (default: emulated); BOARD= PORT= (several: PORT="id:A id:B", one xdist worker each) SERVER_HOST= JUNIT= ARGS="-k udp --lf"
	$(HIL) run $(HIL_BOARD) $(if $(SERVER_HOST),--server-host $(SERVER_HOST)) $(if $(JUNIT),--junit $(JUNIT)) $(if $(ARGS),-- $(ARGS))

hil-all: $(STAMP) ## the suite on every attached board, in parallel
	$(HIL) run --all $(if $(SERVER_HOST),--server-host $(SERVER_HOST)) $(if $(JUNIT),--junit $(JUNIT)) $(if $(ARGS),-- $(ARGS))

board: $(STAMP) ## start the emulated board and print its port, for mpremote (Ctrl-C stops it)
	$(HIL) board

package: $(STAMP) ## regenerate package*.json and boards/*/manifest.py; build/mip: the .mpy form for mip
	$(HIL) package
	$(HIL).packaging mpy

conformance: $(STAMP) ## conformance suite: PLATFORM=cpython|unix|esp32|rp2|minimal|at-modem|module:Class [INTERPRETER=micropython] [TLS_ENGINE=module]
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python -m tools.conformance --platform $(PLATFORM) $(if $(INTERPRETER),--interpreter $(INTERPRETER)) $(if $(TLS_ENGINE),--tls-engine $(TLS_ENGINE))

deploy: $(STAMP) ## compile lib/ and port/ to .mpy and copy what changed to BOARD (PORT=...); ROMFS=1: a ROMFS image instead
	$(if $(ROMFS),$(HIL).romfs deploy $(if $(PORT),--port $(PORT)),$(HIL) deploy $(HIL_BOARD))

flash: $(STAMP) ## write FIRMWARE to BOARD=esp32|rp2040 (PORT=..., CHIP=esp32s3 ...)
	$(HIL) flash --board $(BOARD) --firmware $(FIRMWARE) $(if $(PORT),--port $(PORT)) $(if $(CHIP),--chip $(CHIP))

boards: $(STAMP) ## list attached boards by USB VID:PID and serial number
	$(HIL) list

bench: $(STAMP) ## twinsock vs raw sockets and chumicro-sockets, speed and heap: one table, build/bench.json; then the DTLS-PSK engine's costs
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python -m tools.bench
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python -m tools.bench.psk_cost

soak: $(STAMP) ## the HIL suite through the impairment proxy, mixed faults, for SOAK_SECONDS (300); SOAK_SEED= BOARD= PORT= SERVER_HOST=
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python -m tools.soak --board $(BOARD) $(if $(PORT),--port $(PORT)) $(if $(SOAK_SECONDS),--seconds $(SOAK_SECONDS)) $(if $(SOAK_SEED),--seed $(SOAK_SEED)) $(if $(SERVER_HOST),--server-host $(SERVER_HOST))
