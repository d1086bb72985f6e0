"""The lanes of tests/lanes.py: sorting by fixtures and markers, and the fast lane's guard."""

from __future__ import annotations

import socket
import subprocess

import pytest

from fairgate.settings import PROJECT_ROOT
from tests.lanes import GUARD, LaneViolation

pytest_plugins = ["pytester"]

INNER = """
import socket
import pytest
from tests.lanes import uses

@pytest.fixture(scope="session")
def ganache():
    return "a chain"  # named like the session chain: its dependents need a chain

@pytest.fixture
def world(ganache):
    return ganache

@pytest.fixture
@uses("redis")
def cache():
    return {}

def lanes(request):
    return {m.name for m in request.node.iter_markers()} - {"parametrize"}

def test_pure(request):
    assert lanes(request) == {"fast"}

def test_on_chain(world, request):
    assert lanes(request) == {"ganache"}

def test_with_redis(cache, request):
    assert lanes(request) == {"redis"}

@pytest.mark.postgres
def test_marked(request):
    assert lanes(request) == {"postgres"}

@pytest.mark.slow
def test_slow_but_pure(request):
    assert lanes(request) == {"slow"}

def test_sneaks_into_the_database():
    try:  # the code under test swallows the refusal: the test must fail all the same
        socket.create_connection(("127.0.0.1", 5432), timeout=1).close()
    except Exception:
        pass
"""


def test_lanes_follow_fixtures_and_markers(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makeconftest('pytest_plugins = ["tests.lanes"]\n')
    pytester.makepyfile(test_inner=INNER)
    monkeypatch.setenv("PYTHONPATH", str(PROJECT_ROOT))  # the inner run finds tests.lanes
    result = pytester.runpytest_subprocess("-p", "no:pytest-brownie", "-v", "-W", "ignore")
    result.assert_outcomes(passed=5, failed=1)
    result.stdout.fnmatch_lines(["*test_sneaks_into_the_database FAILED*", "*LaneViolation*"])


def test_this_test_is_in_the_fast_lane(request: pytest.FixtureRequest) -> None:
    assert request.node.get_closest_marker("fast") is not None


@pytest.mark.parametrize("port", [5432, 6379])
def test_a_fast_test_cannot_reach_a_database(port: int) -> None:
    with pytest.raises(LaneViolation, match="connected to"):
        socket.create_connection(("127.0.0.1", port), timeout=1)
    GUARD.violations.clear()  # seen: this test expects it


def test_a_fast_test_cannot_open_postgresql() -> None:
    import psycopg

    with pytest.raises(LaneViolation, match="PostgreSQL"):
        psycopg.connect("postgresql://postgres@127.0.0.1:5432/test", connect_timeout=2)
    GUARD.violations.clear()


def test_a_fast_test_cannot_start_a_chain() -> None:
    cli = PROJECT_ROOT / "node_modules" / "ganache" / "dist" / "node" / "cli.js"
    with pytest.raises(LaneViolation, match="started ganache"):
        subprocess.Popen(["node", str(cli), "--server.port", "1"])  # refused before it starts
    GUARD.violations.clear()
