"""Test lanes: each test is sorted by the services its fixtures start, and the fast lane is guarded.

A test is in the lane of every *resource* it needs, found from its fixture closure (the fixtures
it asks for, directly or through other fixtures) and its markers:

* ``ganache``: a local chain (the session's ``ganache``, a module's ``chain_node``, brownie's chain
  behind ``accounts``/``fn_isolation``...);
* ``postgres``: the PostgreSQL server (a schema per module);
* ``redis``: the Redis server;
* ``browser``: Playwright and Chromium;
* ``ipfs``: the js-ipfs node;
* ``zk``: the gate circuit's ceremony, prover and snarkjs (Node, seconds per proof).

A test that needs none of them, and is not marked ``slow``, gets the ``fast`` marker: pure logic,
``make test-fast`` (``pytest -m fast``). Everything runs in ``make test``.

How a test gets its lanes, without anybody listing tests:

1. a fixture named in :data:`RESOURCE_FIXTURES` (the fixtures that start or reach a service) is in
   its closure; or a fixture declared with :func:`uses` (``@pytest.fixture`` over ``@uses("redis")``
   over the function) - new fixtures that start a service say so where they are defined;
2. any fixture of brownie's plugin is in its closure (brownie's chain);
3. it carries one of the resource markers itself (``pytestmark = pytest.mark.ganache``), for a
   test that starts a service in its own body.

The guard: while a ``fast`` test runs (set-up, call and tear-down), starting a chain, a browser,
an IPFS node or a database server, or connecting to PostgreSQL or Redis, raises
:class:`LaneViolation` and fails the test, even if the code under test swallowed the exception.
So a test that slips into the fast lane by mistake fails loudly instead of quietly slowing the
lane down (or passing because a connection error was handled).
"""

from __future__ import annotations

import os
import socket
import subprocess
import threading
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import pytest

RESOURCES = ("ganache", "postgres", "redis", "browser", "ipfs", "zk")
FAST = "fast"

# Fixtures that start a service or connect to one (their dependents inherit them through the
# closure, so only the roots are named here).
RESOURCE_FIXTURES: dict[str, str] = {
    # chains
    "ganache": "ganache",
    "anvil": "ganache",
    "chain_node": "ganache",
    "gate_chain": "ganache",
    "slow_chain": "ganache",
    # databases
    "pg_schema": "postgres",
    "pg_engine": "postgres",
    "database_url": "postgres",
    "redis_url": "redis",
    "redis_client": "redis",
    # browser
    "playwright": "browser",
    "browser": "browser",
    # IPFS
    "jsipfs_node": "ipfs",
    "kubo": "ipfs",
    # zero-knowledge ceremony, prover, snarkjs
    "artifacts": "zk",
    "snarkjs": "zk",
    # brownie's chain (found by the fixtures' module too; named here for runs without its plugin)
    "accounts": "ganache",
    "chain": "ganache",
    "fn_isolation": "ganache",
    "module_isolation": "ganache",
    "history": "ganache",
    "state_machine": "ganache",
}

# TCP ports of the database servers on this machine; a fast test never connects to them.
DATABASE_PORTS = {5432: "PostgreSQL", 6379: "Redis"}
# Executables (a word of the command line) that a fast test never starts.
SERVICE_PROGRAMS = ("ganache", "anvil", "chromium", "jsipfs", "ipfs-node", "redis-server",
                    "postgres", "haproxy", "nginx")  # fmt: skip

F = TypeVar("F", bound=Callable[..., Any])


def uses(*resources: str) -> Callable[[F], F]:
    """Declare the services a fixture starts or connects to: ``@pytest.fixture`` above it.

    Example::

        @pytest.fixture(scope="session")
        @uses("redis")
        def redis_server() -> Iterator[str]: ...
    """
    unknown = set(resources) - set(RESOURCES)
    if unknown:
        raise ValueError(f"unknown resources {sorted(unknown)}; known: {', '.join(RESOURCES)}")

    def mark(func: F) -> F:
        func._fairgate_resources = tuple(resources)  # type: ignore[attr-defined]
        return func

    return mark


class LaneViolation(RuntimeError):
    """A test of the fast lane started a service or reached a database."""


def resources_of(item: pytest.Item) -> set[str]:
    """The resources ``item`` needs (empty: a fast test)."""
    found = {m.name for m in item.iter_markers() if m.name in RESOURCES}
    info = getattr(item, "_fixtureinfo", None)
    if info is None:
        return found
    for name in info.names_closure:
        if name in RESOURCE_FIXTURES:
            found.add(RESOURCE_FIXTURES[name])
        for fixturedef in info.name2fixturedefs.get(name, ()):
            func = getattr(fixturedef, "func", None)
            found.update(getattr(func, "_fairgate_resources", ()))
            if getattr(func, "__module__", "").startswith("brownie"):
                found.add("ganache")  # brownie's fixtures run on its own Ganache
    return found


def uses_brownie(item: pytest.Item) -> bool:
    info = getattr(item, "_fixtureinfo", None)
    if info is None:
        return False
    return any(
        getattr(getattr(d, "func", None), "__module__", "").startswith("brownie")
        for name in info.names_closure
        for d in info.name2fixturedefs.get(name, ())
    )


# ----------------------------------------------------------------------------- guard


class _Guard:
    """Refuses services while a fast test runs; remembers refusals the test may have swallowed."""

    def __init__(self) -> None:
        self.active = False
        self.thread = 0
        self.violations: list[str] = []
        self._installed = False

    def watching(self) -> bool:
        # Only the thread that runs the test: a heavy fixture of an earlier test may still have a
        # background thread (a server, a pool) talking to its service.
        return self.active and threading.get_ident() == self.thread

    def refuse(self, what: str) -> None:
        message = (
            f"fast-lane test {what}: give it the resource (a fixture listed in tests/lanes.py, "
            "a fixture declared with @uses(...), or a pytest.mark.<resource> marker)"
        )
        self.violations.append(message)
        raise LaneViolation(message)

    @staticmethod
    def _is_local(host: object) -> bool:
        return isinstance(host, str) and host in {"127.0.0.1", "localhost", "::1", "0.0.0.0", ""}

    def install(self) -> None:
        if self._installed:
            return
        self._installed = True
        guard = self

        real_connect = socket.socket.connect
        real_connect_ex = socket.socket.connect_ex

        def check_address(address: object) -> None:
            if (
                guard.watching()
                and isinstance(address, tuple)
                and len(address) >= 2
                and address[1] in DATABASE_PORTS
                and guard._is_local(address[0])
            ):
                guard.refuse(f"connected to {DATABASE_PORTS[address[1]]} at {address[0]}")

        def connect(self: socket.socket, address: Any) -> None:
            check_address(address)
            return real_connect(self, address)

        def connect_ex(self: socket.socket, address: Any) -> int:
            check_address(address)
            return real_connect_ex(self, address)

        socket.socket.connect = connect  # type: ignore[method-assign]
        socket.socket.connect_ex = connect_ex  # type: ignore[method-assign]

        real_popen_init = subprocess.Popen.__init__

        def popen_init(self: subprocess.Popen[Any], args: Any, *a: Any, **kw: Any) -> None:
            if guard.watching():
                if isinstance(args, (str, bytes, os.PathLike)):
                    words = os.fsdecode(args).split()[:2]
                else:
                    words = [os.fsdecode(w) for w in list(args)[:2]]
                # the program, and the script an interpreter (node) runs; not option values
                for program in SERVICE_PROGRAMS:
                    if any(program in w for w in words):
                        guard.refuse(f"started {program} ({' '.join(words)[:160]})")
            real_popen_init(self, args, *a, **kw)

        subprocess.Popen.__init__ = popen_init  # type: ignore[method-assign]

        # psycopg connects through libpq (C), not Python sockets
        try:
            import psycopg
        except ImportError:  # pragma: no cover - installed with the project
            psycopg = None  # type: ignore[assignment]
        if psycopg is not None:
            real_pg_connect = psycopg.Connection.connect.__func__  # type: ignore[attr-defined]

            def pg_connect(cls: Any, *a: Any, **kw: Any) -> Any:
                if guard.watching():
                    guard.refuse("connected to PostgreSQL (psycopg)")
                return real_pg_connect(cls, *a, **kw)

            psycopg.Connection.connect = classmethod(pg_connect)  # type: ignore[method-assign,assignment]
            psycopg.connect = psycopg.Connection.connect  # the module's alias, bound at import

        # Playwright starts Chromium from its own driver process, not through Popen here
        try:
            from playwright.sync_api import BrowserType
        except ImportError:  # pragma: no cover
            BrowserType = None  # type: ignore[assignment,misc]
        if BrowserType is not None:
            real_launch = BrowserType.launch

            def launch(self: Any, *a: Any, **kw: Any) -> Any:
                if guard.watching():
                    guard.refuse("launched a browser (Playwright)")
                return real_launch(self, *a, **kw)

            BrowserType.launch = launch  # type: ignore[method-assign]


GUARD = _Guard()


# ----------------------------------------------------------------------------- hooks
# tests/conftest.py imports these into its namespace, which is how pytest finds them.


def pytest_configure(config: pytest.Config) -> None:
    for name in RESOURCES:
        config.addinivalue_line("markers", f"{name}: needs {name} (lane, see tests/lanes.py)")
    config.addinivalue_line(
        "markers", "fast: needs no service (set automatically; make test-fast runs -m fast)"
    )
    GUARD.install()


@pytest.hookimpl(tryfirst=True)  # before -m deselects by the markers given here
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        found = resources_of(item)
        for name in sorted(found):
            if not any(m.name == name for m in item.iter_markers()):
                item.add_marker(name)
        if not found and item.get_closest_marker("slow") is None:
            item.add_marker(FAST)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[object]:
    GUARD.active = item.get_closest_marker(FAST) is not None
    GUARD.thread = threading.get_ident()
    GUARD.violations = []
    try:
        return (yield)
    finally:
        GUARD.active = False


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[Any]:
    report = yield
    if GUARD.violations:
        if not report.failed:  # the code under test swallowed the LaneViolation
            report.outcome = "failed"
            report.longrepr = "LaneViolation: " + "; ".join(dict.fromkeys(GUARD.violations))
        GUARD.violations = []
    return report
