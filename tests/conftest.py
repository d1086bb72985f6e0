"""Fixtures every test package may use: one local chain per test session.

* ``ganache``: a :class:`chain.ganache.GanacheRunner` on a free port (never 8545, so a running
  demo is never touched), started once per session and stopped at its end;
* ``w3``: a web3.py HTTP client of that chain;
* ``dev_accounts``: its funded accounts as eth-account ``LocalAccount`` (keys derived from the
  development mnemonic, as Ganache derives them).

Tests that change mining (``evm_mine``, ``miner_stop``, snapshots) should start a runner of
their own (module scope) rather than disturb this shared chain.

Brownie's pytest plugin is loaded too (``brownie-config.yaml`` makes this a brownie project): it
compiles ``contracts/`` before this file is imported, and would start its own Ganache once
collection is done, whenever a session collects any test. This file, imported in between,
prepares that chain (:func:`_prepare_brownie`): ``node_modules/.bin`` on ``PATH`` (brownie runs
``ganache-cli`` by bare name), ``ganache-cli`` as the default network (brownie's config loader
cannot take ``networks: default:``; a ``--network`` in addopts would break
``pytest -p no:pytest-brownie``), and a free port per session, so two test runs on one machine
never attach to each other's chain nor to a demo's. The chain is started only before the first
test that uses a brownie fixture, by our runner, and brownie attaches to it
(:func:`_connect_brownie`).
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest
from eth_account.signers.local import LocalAccount
from web3 import Web3

from chain.anvil import AnvilRunner
from chain.ganache import GanacheRunner, free_port
from chain.ganache import dev_accounts as derive_dev_accounts
from chain.nodes import node_runner
from fairgate.errors import ToolchainError
from fairgate.settings import get_settings
from metadata.jsipfs import JsIpfsNode
from tests.lanes import uses_brownie
from zk.prover import GateProver
from zk.setup import Artifacts, local_setup
from zk.verifier import GateVerifier

if TYPE_CHECKING:
    from playwright.sync_api import Playwright

BROWNIE_NETWORK = "ganache-cli"
# test lanes (fast / ganache / postgres / ...) and the fast lane's guard: see tests/lanes.py
pytest_plugins = ["tests.lanes"]
logger = logging.getLogger(__name__)


def _prepare_brownie() -> None:
    """Set up brownie's Ganache launch, if brownie's plugin loaded a project in this session."""
    node_bin = str(get_settings().node_modules / ".bin")
    if node_bin not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = node_bin + os.pathsep + os.environ.get("PATH", "")
    brownie = sys.modules.get("brownie")
    if brownie is None or not brownie.project.get_loaded_projects():
        return  # plugin disabled (-p no:pytest-brownie): nothing to prepare
    from brownie._config import CONFIG

    CONFIG.settings._unlock()
    CONFIG.settings["networks"]["default"] = BROWNIE_NETWORK  # --network still overrides it
    CONFIG.settings._lock()
    CONFIG.networks[BROWNIE_NETWORK]["cmd_settings"]["port"] = free_port()


def _quiet_brownie_xdist_master() -> None:
    """Under pytest-xdist (``make test``'s Anvil leg), brownie's plugin in the controlling process
    merges the workers' ``build/tests-N.json`` into ``build/tests.json`` when the session ends
    (bookkeeping for ``brownie test --update`` and its coverage report, neither used here), and
    asserts that every worker saw the same contract build: a worker that loaded the build while
    another checkout step rewrote it failed the whole session after every test had passed. Drop
    the workers' files instead."""
    try:
        from brownie.test.managers.master import PytestBrownieMaster
    except ImportError:  # pragma: no cover - installed with the project
        return

    def pytest_sessionfinish(self: PytestBrownieMaster, session: pytest.Session) -> None:
        for path in self.project._build_path.glob("tests-*.json"):
            path.unlink(missing_ok=True)

    PytestBrownieMaster.pytest_sessionfinish = pytest_sessionfinish  # type: ignore[method-assign]


_prepare_brownie()
_quiet_brownie_xdist_master()
_brownie_chain: GanacheRunner | None = None


def _brownie_loaded(config: pytest.Config) -> bool:
    brownie = sys.modules.get("brownie")
    return (
        brownie is not None
        and config.pluginmanager.has_plugin("pytest-brownie")
        and bool(brownie.project.get_loaded_projects())
    )


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_collection_finish(session: pytest.Session) -> Iterator[None]:
    """Keep brownie's plugin from connecting when collection ends: it would launch its Ganache
    whichever tests were selected (the fast lane, one folder, each xdist worker), and give it
    only about 10 s to answer, which a loaded 2-core machine exceeds. The first test that uses a
    brownie fixture connects instead (:func:`pytest_runtest_setup`)."""
    if not _brownie_loaded(session.config):
        return (yield)
    import brownie

    real = brownie.network.is_connected
    brownie.network.is_connected = lambda: True  # its hook connects only when not connected
    try:
        return (yield)
    finally:
        brownie.network.is_connected = real


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    if _brownie_loaded(item.config) and uses_brownie(item):
        _connect_brownie()


def _connect_brownie() -> None:
    """Start brownie's Ganache with our runner (its own start-up timeout, a new port if the free
    one was taken meanwhile), with the settings brownie would launch it with; brownie then
    attaches to it (``network.connect`` finds a node on its port)."""
    global _brownie_chain
    import brownie
    from brownie._config import CONFIG

    if brownie.network.is_connected():
        return
    network = CONFIG.argv.get("network") or CONFIG.settings["networks"]["default"]
    anvil = get_settings().node == "anvil"  # FAIRGATE_NODE: brownie attaches to Anvil instead
    if network == BROWNIE_NETWORK:
        cmd = CONFIG.networks[network]["cmd_settings"]
        for attempt in range(3):
            runner = node_runner(
                "anvil" if anvil else "ganache",
                int(cmd["port"]),
                accounts=int(cmd["accounts"]),
                balance_eth=int(cmd["default_balance"]),
                block_gas_limit=int(cmd["gas_limit"]),
                chain_id=int(cmd["chain_id"]),
                # Anvil: settings.anvil_hardfork (cancun), which the cancun build needs
                hardfork=None if anvil else str(cmd["evm_version"]),
                mnemonic=str(cmd["mnemonic"]),
                extra_args=() if anvil else ("--chain.vmErrorsOnRPCResponse", "true"),
            )
            try:
                _brownie_chain = runner.start()
                break
            except ToolchainError:
                if attempt == 2:
                    raise
                cmd["port"] = free_port()
    brownie.network.connect(network)
    if anvil:  # brownie recognises an attached Anvil as Ganache; its Anvil backend knows better
        from brownie.network.rpc import Rpc
        from brownie.network.rpc import anvil as anvil_backend

        Rpc().backend = anvil_backend
    _check_brownie_build()


def _check_brownie_build() -> None:
    """Refuse a brownie build the attached node cannot run (FAIRGATE_EVM_VERSION=cancun with
    Ganache), with the setting to change, rather than fail every deployment with an invalid
    opcode. chain/brownie_build.py chose the build from FAIRGATE_NODE before the chain ran."""
    import brownie

    from chain.brownie_build import compiled_evm_version
    from chain.evm import node_evm_version, resolve_evm_version

    compiled = compiled_evm_version()
    if compiled is not None:
        resolve_evm_version(compiled, node_evm_version(brownie.web3))


def pytest_unconfigure(config: pytest.Config) -> None:
    if _brownie_chain is not None:
        _brownie_chain.stop()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[object]:
    """Hide the session's Playwright event loop from the tests that do not use it.

    Playwright's sync API runs its loop in a greenlet that is suspended between calls, and leaves
    that loop marked as running in this thread for as long as the session's ``playwright`` lives:
    ``asyncio.run()`` in any later test of the same process then fails ("cannot be called from a
    running event loop"). Which tests come after a browser test depends on the order the files
    run in (pytest-xdist hands whole files to whichever worker is free). The session's last test
    keeps it: its tear-down stops Playwright, which needs its loop."""
    import asyncio.events

    loop = asyncio.events._get_running_loop()
    if loop is None or nextitem is None or "playwright" in getattr(item, "fixturenames", ()):
        return (yield)
    asyncio.events._set_running_loop(None)
    try:
        return (yield)
    finally:
        if asyncio.events._get_running_loop() is None and not loop.is_closed():
            asyncio.events._set_running_loop(loop)


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    """The session's one Playwright: its sync API runs an event loop in this thread, so a second
    ``sync_playwright()`` in the same session fails; every browser test starts from this one."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        yield pw


@pytest.fixture(scope="session")
def ganache() -> Iterator[GanacheRunner]:
    """The session's chain (chain id 1337, dev mnemonic): Ganache (shanghai), or Anvil (cancun)
    when ``FAIRGATE_NODE=anvil`` (``make test`` runs the both-nodes suites that way too)."""
    runner = None
    for attempt in range(3):  # a free port can be taken between picking and binding it
        try:
            runner = node_runner(None, free_port()).start()
            break
        except ToolchainError:
            if attempt == 2:
                raise
    assert runner is not None
    yield runner
    runner.stop()


@pytest.fixture(scope="session")
def anvil() -> Iterator[AnvilRunner]:
    """An Anvil chain for the whole session (same accounts and chain id as ``ganache``); modules
    that change its mining or reorganise it snapshot it first and revert it after them."""
    runner = None
    for attempt in range(3):
        try:
            runner = AnvilRunner(free_port()).start()
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


@pytest.fixture(scope="session")
def jsipfs_node() -> Iterator[JsIpfsNode]:
    # generous: a cold npm ci (~1-3 min) may run first, and a loaded 2-core machine slows start-up
    node = JsIpfsNode().start(timeout_s=180)
    logger.info("js-ipfs node up in %.1f s at %s", node.startup_s or 0, node.api_url)
    try:
        yield node
    finally:
        node.stop()


# the gate circuit's cached development set-up, and one warm prover and verifier per session
@pytest.fixture(scope="session")
def artifacts() -> Artifacts:
    return local_setup()


@pytest.fixture(scope="session")
def prover(artifacts: Artifacts) -> GateProver:
    return GateProver(artifacts)


@pytest.fixture(scope="session")
def verifier(artifacts: Artifacts) -> Iterator[GateVerifier]:
    v = GateVerifier(artifacts.vkey)
    yield v
    v.close()


REDIS_URL = "redis://127.0.0.1:6379/0"


@pytest.fixture(scope="session")
def redis_url() -> str:
    """The machine's Redis (127.0.0.1:6379). Tests share its database 0 with other people's
    runs: each test keeps to the key prefix of :func:`redis_prefix`."""
    import redis

    redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    return REDIS_URL


@pytest.fixture()
def redis_prefix(redis_url: str) -> Iterator[str]:
    """A key prefix of this test alone (``FAIRGATE_REDIS_PREFIX``); its keys are deleted after."""
    import secrets

    import redis

    prefix = f"fgtest-{os.getpid()}-{secrets.token_hex(4)}:"
    yield prefix
    client = redis.Redis.from_url(redis_url)
    keys = list(client.scan_iter(match=prefix + "*", count=1000))
    if keys:
        client.delete(*keys)
    client.close()
