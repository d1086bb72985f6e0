# Fairgate: `make demo` (set up, then the end-to-end demo) and `make test` (set up, then pytest).
# scripts/setup.sh is idempotent and takes a second or two when nothing changed.

SHELL := /bin/bash
# py-solc-x and brownie find solc in this checkout (build/solcx), not in a shared ~/.solcx.
export SOLCX_BINARY_PATH := $(CURDIR)/build/solcx

PYTEST_ARGS ?=
# TEST_WORKERS=2 runs make test on two processes (pytest-xdist; whole files per worker, the
# scheduler brownie's plugin sets). Not the default: see README "Tests" for what was measured.
TEST_WORKERS ?= 0
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

# Both nodes (issue 13). Every suite runs on Ganache (the node users named), except ANVIL_ONLY;
# then, with FAIRGATE_NODE=anvil (session chain, brownie's chain, the chain layer's private chains),
# the suites of BOTH_NODES (contract suite core, chain layer, end-to-end story) run again on Anvil,
# with ANVIL_ONLY (stateful fuzzing and the ERC-721 behaviour suite, quicker on Anvil). NODES=ganache (or anvil) runs one leg.
# JUNIT=PREFIX writes PREFIX-ganache.xml and PREFIX-anvil.xml (.ci/run). PYTEST_ARGS go to both legs.
BOTH_NODES ?= tests/chain tests/contracts/test_mint.py tests/contracts/test_market.py \
	tests/contracts/test_orders.py tests/contracts/test_refunds.py \
	tests/contracts/test_reentrancy.py tests/contracts/test_factory_admin.py \
	tests/cli/test_story.py tests/api/test_e2e.py
# stateful fuzzing and the ERC-721 behaviour suite: 25 s on Anvil against 62 s on Ganache (measured
# side by side, load 4-5): run once, on Anvil
ANVIL_ONLY ?= tests/contracts/test_invariants.py tests/contracts/test_erc721_behaviour.py
NODES ?= ganache anvil
JUNIT ?=
PYTEST := .venv/bin/pytest $(if $(filter-out 0,$(TEST_WORKERS)),-n $(TEST_WORKERS))

test: setup
	@rc=0; \
	if [ -n "$(filter ganache,$(NODES))" ]; then \
	  echo "== make test: Ganache =="; \
	  FAIRGATE_NODE=ganache $(PYTEST) $(addprefix --ignore=,$(ANVIL_ONLY)) \
	    $(if $(JUNIT),--junitxml=$(JUNIT)-ganache.xml) $(PYTEST_ARGS) || rc=$$?; \
	fi; \
	if [ -n "$(filter anvil,$(NODES))" ]; then \
	  echo "== make test: Anvil ($(words $(BOTH_NODES) $(ANVIL_ONLY)) suites) =="; \
	  FAIRGATE_NODE=anvil $(PYTEST) $(BOTH_NODES) $(ANVIL_ONLY) \
	    $(if $(JUNIT),--junitxml=$(JUNIT)-anvil.xml) $(PYTEST_ARGS) || rc=$$?; \
	fi; \
	exit $$rc

# pure logic only: no chain, database, browser, IPFS node or proof (lanes: tests/lanes.py)
test-fast: setup
	.venv/bin/pytest -m fast $(PYTEST_ARGS)
