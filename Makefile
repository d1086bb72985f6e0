# Fairgate: `make demo` (set up, then the end-to-end demo) and `make test` (set up, then pytest).
# scripts/setup.sh is idempotent and takes a second or two when nothing changed.

SHELL := /bin/bash
# py-solc-x and brownie find solc in this checkout (build/solcx), not in a shared ~/.solcx.
export SOLCX_BINARY_PATH := $(CURDIR)/build/solcx

PYTEST_ARGS ?=
# pytest-xdist workers of make test's Anvil leg (whole files per worker: the scheduler brownie's
# plugin sets); 0 runs that leg in one process. See README "Tests" for what was measured.
TEST_WORKERS ?= 2
# pytest caches each test module's assertion rewrite in __pycache__ (gitignored); with
# PYTHONDONTWRITEBYTECODE set it rewrites all of them again in every process: 28 s of CPU
# against 7 s to collect the suite, paid by each leg and each xdist worker.
unexport PYTHONDONTWRITEBYTECODE

.PHONY: setup demo test test-fast abi

setup:
	scripts/setup.sh

# after editing contracts/: recompile (cached) and rewrite the ABIs the processes load (chain/abi)
abi:
	.venv/bin/python -m chain.abi

demo: setup
	.venv/bin/python scripts/demo.py

# Both nodes (issue 13): CI runs the contract suite's core, the chain layer and the end-to-end
# story on both nodes (BOTH_NODES); every other suite runs once: on Anvil, the faster node, except
# GANACHE_ONLY. The two legs run at the same time: the Anvil leg (every suite but GANACHE_ONLY,
# FAIRGATE_NODE=anvil: the session chain, brownie's chain, the gate's chain and the chain layer's
# private chains follow it) on TEST_WORKERS xdist workers; the Ganache leg (BOTH_NODES and
# GANACHE_ONLY, FAIRGATE_NODE=ganache) in one more process, its output kept in GANACHE_LOG and
# printed when both are done. Tests that start a Ganache of their own (the dev stack's default
# node, slow blocks in test_stuck_tx) start it in either leg.
# NODES=ganache (or anvil) runs one leg. JUNIT=PREFIX writes PREFIX-ganache.xml and
# PREFIX-anvil.xml (.ci/run). PYTEST_ARGS go to both legs.
BOTH_NODES ?= tests/chain tests/contracts/test_mint.py tests/contracts/test_market.py \
	tests/contracts/test_orders.py tests/contracts/test_refunds.py \
	tests/contracts/test_reentrancy.py tests/contracts/test_factory_admin.py \
	tests/cli/test_story.py tests/api/test_e2e.py
# the gas snapshot's figures are Ganache's (its fixture measures the shanghai build on the
# session's Ganache and the cancun build on a second, Anvil, chain): Ganache leg only
GANACHE_ONLY ?= tests/gas
NODES ?= ganache anvil
JUNIT ?=
GANACHE_LOG ?= reports/make-test-ganache.log
PYTEST := .venv/bin/pytest

test: setup
	@rc=0; gpid=; \
	if [ -n "$(filter ganache,$(NODES))" ]; then \
	  mkdir -p $(dir $(GANACHE_LOG)); \
	  echo "== make test: Ganache leg ($(words $(BOTH_NODES) $(GANACHE_ONLY)) suites) in the background: $(GANACHE_LOG) =="; \
	  FAIRGATE_NODE=ganache $(PYTEST) $(BOTH_NODES) $(GANACHE_ONLY) \
	    $(if $(JUNIT),--junitxml=$(JUNIT)-ganache.xml) $(PYTEST_ARGS) > $(GANACHE_LOG) 2>&1 & gpid=$$!; \
	fi; \
	if [ -n "$(filter anvil,$(NODES))" ]; then \
	  echo "== make test: Anvil leg (every suite but GANACHE_ONLY, $(TEST_WORKERS) workers) =="; \
	  FAIRGATE_NODE=anvil $(PYTEST) $(if $(filter-out 0,$(TEST_WORKERS)),-n $(TEST_WORKERS)) \
	    $(addprefix --ignore=,$(GANACHE_ONLY)) \
	    $(if $(JUNIT),--junitxml=$(JUNIT)-anvil.xml) $(PYTEST_ARGS) || rc=$$?; \
	fi; \
	if [ -n "$$gpid" ]; then \
	  grc=0; wait $$gpid || grc=$$?; \
	  echo "== make test: Ganache leg ($(GANACHE_LOG)), exit $$grc =="; cat $(GANACHE_LOG); \
	  [ $$grc -eq 0 ] || rc=$$grc; \
	fi; \
	exit $$rc

# pure logic only: no chain, database, browser, IPFS node or proof (lanes: tests/lanes.py)
test-fast: setup
	.venv/bin/pytest -m fast $(PYTEST_ARGS)
