"""Fixtures every test package may use: one local chain per test session.

* ``ganache``: a :class:`chain.ganache.GanacheRunner` on a free port (never 8545, so a running
  demo is never touched), started once per session and stopped at its end;
* ``w3``: a web3.py HTTP client of that chain;
* ``dev_accounts``: its funded accounts as eth-account ``LocalAccount`` (keys derived from the
  development mnemonic, as Ganache derives them).

Tests that change mining (``evm_mine``, ``miner_stop``, snapshots) should start a runner of
their own (module scope) rather than disturb this shared chain.

Brownie's pytest plugin is loaded too (``brownie-config.yaml`` makes this a brownie project): it
starts its own Ganache (``ganache-cli`` network, port 8555) when a session collects any test.
Its launcher runs ``ganache-cli`` by bare name, so ``node_modules/.bin`` is put on ``PATH`` here;
that is early enough, since brownie connects only after collection.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from eth_account.signers.local import LocalAccount
from web3 import Web3

from chain.ganache import GanacheRunner, free_port
from chain.ganache import dev_accounts as derive_dev_accounts
from fairgate.errors import ToolchainError
from fairgate.settings import get_settings

_bin = str(get_settings().node_modules / ".bin")
if _bin not in os.environ.get("PATH", "").split(os.pathsep):
    os.environ["PATH"] = _bin + os.pathsep + os.environ.get("PATH", "")


@pytest.fixture(scope="session")
def ganache() -> Iterator[GanacheRunner]:
    """A Ganache chain for the whole session (chain id 1337, shanghai, dev mnemonic)."""
    runner = None
    for attempt in range(3):  # a free port can be taken between picking and binding it
        try:
            runner = GanacheRunner(free_port()).start()
            break
        except ToolchainError:
            if attempt == 2:
                raise
    assert runner is not None
    yield runner
    runner.stop()


@pytest.fixture(scope="session")
def w3(ganache: GanacheRunner) -> Web3:
    """web3.py over HTTP to the session's Ganache."""
    return Web3(Web3.HTTPProvider(ganache.url, request_kwargs={"timeout": 30}))


@pytest.fixture(scope="session")
def dev_accounts(ganache: GanacheRunner) -> list[LocalAccount]:
    """The session chain's funded accounts with their keys (index 0 is Ganache's first)."""
    return derive_dev_accounts(ganache.accounts)
