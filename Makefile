# Fairgate: `make demo` (set up, then the end-to-end demo) and `make test` (set up, then pytest).
# scripts/setup.sh is idempotent and takes a second or two when nothing changed.

SHELL := /bin/bash
# py-solc-x and brownie find solc in this checkout (build/solcx), not in a shared ~/.solcx.
export SOLCX_BINARY_PATH := $(CURDIR)/build/solcx

PYTEST_ARGS ?=
# TEST_WORKERS=2 runs make test on two processes (pytest-xdist; whole files per worker, the
# scheduler brownie's plugin sets). Not the default: see README "Tests" for what was measured.
TEST_WORKERS ?= 0

.PHONY: setup demo test test-fast abi

setup:
	scripts/setup.sh

# after editing contracts/: recompile (cached) and rewrite the ABIs the processes load (chain/abi)
abi:
	.venv/bin/python -m chain.abi

demo: setup
	.venv/bin/python scripts/demo.py

test: setup
	.venv/bin/pytest $(if $(filter-out 0,$(TEST_WORKERS)),-n $(TEST_WORKERS)) $(PYTEST_ARGS)

# pure logic only: no chain, database, browser, IPFS node or proof (lanes: tests/lanes.py)
test-fast: setup
	.venv/bin/pytest -m fast $(PYTEST_ARGS)
