"""chain.ganache: start, answer, stop without orphans, clear errors."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from chain.ganache import GanacheRunner, dev_accounts, free_port, port_is_free
from fairgate.errors import ToolchainError
from fairgate.settings import DEV_MNEMONIC, Settings

ROOT = Path(__file__).resolve().parents[2]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie is dead for our purposes
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split()[2]
    except OSError:
        return False
    return state != "Z"


def _wait_dead(pid: int, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _alive(pid):
            return True
        time.sleep(0.05)
    return False


def test_dev_accounts_are_ganaches_deterministic_accounts() -> None:
    first = dev_accounts(2, DEV_MNEMONIC)
    # the well-known first accounts of "test test ... junk" (Hardhat, Anvil and Ganache agree)
    assert first[0].address == "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
    assert first[1].address == "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"


@pytest.mark.ganache  # starts a Ganache of its own
def test_start_stop_leaves_no_process() -> None:
    runner = GanacheRunner(free_port(), accounts=2)
    with runner:
        pid = runner.pid
        assert pid is not None and runner.running
        assert not port_is_free(runner.port)
        assert "<GanacheRunner http://127.0.0.1:" in repr(runner)
    assert not runner.running
    assert _wait_dead(pid)
    assert port_is_free(runner.port)
    runner.stop()  # idempotent


@pytest.mark.ganache  # starts a Ganache of its own
def test_port_taken_is_a_clear_error() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        with pytest.raises(ToolchainError, match=f"port {port} is already in use"):
            GanacheRunner(port).start()


def test_missing_ganache_is_a_clear_error(tmp_path: Path) -> None:
    runner = GanacheRunner(free_port(), settings=Settings(node_modules=tmp_path))
    with pytest.raises(ToolchainError, match="ganache is not installed"):
        runner.start()


@pytest.mark.ganache  # starts a Ganache of its own
def test_missing_node_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(ToolchainError, match="node is not on PATH"):
        GanacheRunner(free_port()).start()


@pytest.mark.ganache  # starts a Ganache of its own
def test_start_failure_quotes_ganache_without_the_mnemonic() -> None:
    runner = GanacheRunner(free_port(), hardfork="no-such-fork", mnemonic=DEV_MNEMONIC)
    with pytest.raises(ToolchainError) as info:
        runner.start()
    message = str(info.value)
    assert "exited with code" in message and "no-such-fork" in message
    assert DEV_MNEMONIC not in message
    assert not runner.running


@pytest.mark.ganache  # starts a Ganache of its own
def test_cli_runs_until_sigterm_and_leaves_no_orphan() -> None:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "chain.ganache", "--port", str(port), "--accounts", "2"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert f"Ganache listening on http://127.0.0.1:{port}" in line, proc.stderr.read()
        child = _ganache_pid(port)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(15) == 0
        assert _wait_dead(child)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


@pytest.mark.ganache  # starts a Ganache of its own
def test_sigkilled_owner_takes_ganache_with_it() -> None:
    """PR_SET_PDEATHSIG: even a SIGKILLed owner leaves no chain behind."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "chain.ganache", "--port", str(port), "--accounts", "2"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stdout is not None
    assert "listening" in proc.stdout.readline()
    child = _ganache_pid(port)
    proc.kill()
    proc.wait()
    assert _wait_dead(child)


def _ganache_pid(port: int) -> int:
    """The pid of the node process serving ``port`` (found through /proc)."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"--server.port" in cmdline and str(port).encode() in cmdline:
            return int(entry.name)
    raise AssertionError(f"no Ganache process for port {port}")
