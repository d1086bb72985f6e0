"""A local Ganache chain for development, tests and the demo.

:class:`GanacheRunner` starts ``ganache`` (npm, 7.9.2) as a child process with deterministic
accounts (the mnemonic from the settings), chain id 1337 and the ``shanghai`` hardfork (the
newest Ganache runs; the contracts are compiled for it), waits until JSON-RPC answers, and stops
it with SIGTERM, then SIGKILL, so no chain outlives its owner. It is a context manager::

    with GanacheRunner(port=free_port()) as chain:
        w3 = Web3(Web3.HTTPProvider(chain.url))

and a command line: ``python -m chain.ganache --port 8545``.

Why these choices:

* Ganache is sunset (2023) but is the only EVM node that installs offline here; nothing else in
  ``chain`` depends on it: the rest of the chain layer talks JSON-RPC to any URL.
* ``vmErrorsOnRPCResponse`` stays off (Ganache's default, unlike brownie's launch), so a reverted
  transaction is mined with ``status 0`` as on a real node, and revert data comes from
  ``eth_call``/``eth_estimateGas`` as it would elsewhere.
* The call gas limit follows the block gas limit so ``eth_estimateGas`` of a large batch mint does
  not fail at Ganache's default of 50M.
* The child's output goes to a log file, never to a pipe nobody reads (a full pipe would block
  Ganache); its tail is quoted when start-up fails. The command line is logged without the
  mnemonic.
* On Linux the child gets ``PR_SET_PDEATHSIG``: if the owning process dies without cleaning up
  (SIGKILL, crash), the kernel sends Ganache SIGTERM. The signal is tied to the *thread* that
  started it, so start runners from a long-lived thread (the main thread in tests and CLIs).

:func:`dev_accounts` derives the same accounts as Ganache (BIP-44 ``m/44'/60'/0'/0/i``) with
eth-account, so tests and the demo sign locally with their keys.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Self

from eth_account import Account
from eth_account.hdaccount import key_from_seed, seed_from_mnemonic
from eth_account.signers.local import LocalAccount

from fairgate.errors import ToolchainError
from fairgate.settings import Settings, get_settings

__all__ = ["GanacheRunner", "dev_accounts", "free_port", "port_is_free"]

log = logging.getLogger(__name__)

HOST = "127.0.0.1"
START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 5.0
HD_PATH = "m/44'/60'/0'/0/{index}"
_PR_SET_PDEATHSIG = 1


def free_port(host: str = HOST) -> int:
    """A TCP port that was free a moment ago (the OS picks it; another process may still race)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def port_is_free(port: int, host: str = HOST) -> bool:
    """Whether nothing listens on ``host:port`` (checked by binding it, as Ganache will).

    With ``SO_REUSEADDR``, as servers (Ganache included) bind: connections of a stopped server
    left in TIME_WAIT do not make its port look taken.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def dev_accounts(count: int | None = None, mnemonic: str | None = None) -> list[LocalAccount]:
    """Ganache's deterministic accounts: keys at ``m/44'/60'/0'/0/i`` of the mnemonic.

    Defaults: ``settings.ganache_accounts`` accounts of ``settings.ganache_mnemonic`` (the
    public development mnemonic: these keys protect nothing and must never hold real value).
    """
    settings = get_settings()
    count = settings.ganache_accounts if count is None else count
    phrase = settings.ganache_mnemonic if mnemonic is None else mnemonic
    seed = seed_from_mnemonic(phrase, passphrase="")
    return [Account.from_key(key_from_seed(seed, HD_PATH.format(index=i))) for i in range(count)]


def _load_prctl() -> Any:
    """libc's ``prctl``, looked up once in the parent (a forked child must not ``dlopen``)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None


_PRCTL = _load_prctl()


def _set_pdeathsig() -> None:
    """In the child before exec: get SIGTERM when the parent thread dies (Linux only)."""
    _PRCTL(_PR_SET_PDEATHSIG, signal.SIGTERM)


class GanacheRunner:
    """One Ganache child process on ``127.0.0.1:port``.

    Options default to the settings (``ganache_*``, ``chain_id``). ``start()`` returns once the
    node answers ``eth_chainId``; ``stop()`` is idempotent and also runs at interpreter exit.
    Subclasses for other nodes (:class:`chain.anvil.AnvilRunner`) override :meth:`command` and
    :attr:`node_name`; the process handling is shared.
    """

    node_name = "Ganache"
    stop_signal = signal.SIGTERM  # the first, polite signal of stop()

    def __init__(
        self,
        port: int | None = None,
        *,
        settings: Settings | None = None,
        accounts: int | None = None,
        balance_eth: int | None = None,
        block_gas_limit: int | None = None,
        chain_id: int | None = None,
        hardfork: str | None = None,
        mnemonic: str | None = None,
        extra_args: tuple[str, ...] = (),
        start_timeout_s: float = START_TIMEOUT_S,
    ) -> None:
        s = settings or get_settings()
        self.port = s.ganache_port if port is None else port
        self.accounts = s.ganache_accounts if accounts is None else accounts
        self.balance_eth = s.ganache_balance_eth if balance_eth is None else balance_eth
        self.block_gas_limit = block_gas_limit or s.ganache_block_gas_limit
        self.chain_id = s.chain_id if chain_id is None else chain_id
        self.hardfork = s.ganache_hardfork if hardfork is None else hardfork
        self._mnemonic = s.ganache_mnemonic if mnemonic is None else mnemonic
        self.extra_args = extra_args
        self.start_timeout_s = start_timeout_s
        self._cli = s.node_modules / "ganache" / "dist" / "node" / "cli.js"
        self._process: subprocess.Popen[bytes] | None = None
        self._log_file: IO[bytes] | None = None
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        """The JSON-RPC endpoint, ``http://127.0.0.1:<port>``."""
        return f"http://{HOST}:{self.port}"

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def accounts_with_keys(self) -> list[LocalAccount]:
        """The chain's funded accounts, with their keys (see :func:`dev_accounts`)."""
        return dev_accounts(self.accounts, self._mnemonic)

    def command(self) -> list[str]:
        """The command line (it contains the mnemonic: do not log it as is)."""
        node = shutil.which("node")
        if node is None:
            raise ToolchainError("node is not on PATH: install Node.js 18+ (scripts/setup.sh)")
        if not self._cli.is_file():
            raise ToolchainError(f"ganache is not installed at {self._cli}: run scripts/setup.sh")
        return [
            node,
            str(self._cli),
            "--server.host", HOST,
            "--server.port", str(self.port),
            "--chain.chainId", str(self.chain_id),
            "--chain.hardfork", self.hardfork,
            "--wallet.mnemonic", self._mnemonic,
            "--wallet.totalAccounts", str(self.accounts),
            "--wallet.defaultBalance", str(self.balance_eth),
            "--miner.blockGasLimit", hex(self.block_gas_limit),
            "--miner.callGasLimit", hex(self.block_gas_limit),
            "--logging.quiet", "true",
            *self.extra_args,
        ]  # fmt: skip

    def start(self) -> Self:
        """Start Ganache and wait until it answers; ToolchainError if it cannot."""
        with self._lock:
            if self.running:
                return self
            if not port_is_free(self.port):
                raise ToolchainError(
                    f"port {self.port} is already in use: cannot start {self.node_name} there "
                    "(stop the other process or choose another port)"
                )
            command = self.command()
            redacted = [("<mnemonic>" if arg == self._mnemonic else arg) for arg in command]
            log.info("starting %s on %s: %s", self.node_name, self.url, " ".join(redacted))
            self._log_file = tempfile.TemporaryFile(prefix=f"{self.node_name.lower()}-")  # noqa: SIM115
            started = time.monotonic()
            self._process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=self._log_file,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: stop() reaches any child
                preexec_fn=_set_pdeathsig if _PRCTL is not None else None,
            )
        try:
            self._wait_ready(started)
        except BaseException:
            self.stop()
            raise
        elapsed = time.monotonic() - started
        log.info("%s ready on %s in %.1f s (pid %s)", self.node_name, self.url, elapsed, self.pid)
        return self

    def _wait_ready(self, started: float) -> None:
        deadline = started + self.start_timeout_s
        while True:
            process = self._process
            if process is None:
                raise ToolchainError(f"{self.node_name} was stopped while starting")
            code = process.poll()
            if code is not None:
                raise ToolchainError(
                    f"{self.node_name} exited with code {code} while starting on port "
                    f"{self.port}:\n"
                    f"{self._log_tail()}"
                )
            if self._chain_id() == self.chain_id:
                return
            if time.monotonic() > deadline:
                raise ToolchainError(
                    f"{self.node_name} did not answer on {self.url} within "
                    f"{self.start_timeout_s:.0f} s:\n"
                    f"{self._log_tail()}"
                )
            time.sleep(0.05)

    def _chain_id(self) -> int | None:
        body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []})
        request = urllib.request.Request(  # noqa: S310 - our own http://127.0.0.1 URL
            self.url, data=body.encode(), headers={"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=1.0) as response:  # noqa: S310
                answer: dict[str, Any] = json.loads(response.read())
        except (OSError, ValueError):
            return None
        result = answer.get("result")
        return int(result, 16) if isinstance(result, str) else None

    def _log_tail(self, limit: int = 2000) -> str:
        if self._log_file is None:
            return ""
        self._log_file.seek(0)
        text = self._log_file.read().decode("utf-8", "replace")
        return text.replace(self._mnemonic, "<mnemonic>")[-limit:].strip()

    def stop(self) -> None:
        """``stop_signal`` to the process group, SIGKILL after a grace period; idempotent."""
        with self._lock:
            process, self._process = self._process, None
            log_file, self._log_file = self._log_file, None
        if process is not None:
            if process.poll() is None:
                self._signal_group(process, self.stop_signal)
                try:
                    process.wait(STOP_TIMEOUT_S)
                except subprocess.TimeoutExpired:
                    log.warning(
                        "%s (pid %d) ignored %s: killing it",
                        self.node_name,
                        process.pid,
                        self.stop_signal.name,
                    )
                    self._signal_group(process, signal.SIGKILL)
                    process.wait(STOP_TIMEOUT_S)
            # the group may hold children of Ganache's: make sure none survives
            self._signal_group(process, signal.SIGKILL)
            log.info("%s on port %d stopped", self.node_name, self.port)
        if log_file is not None:
            log_file.close()

    @staticmethod
    def _signal_group(process: subprocess.Popen[bytes], sig: signal.Signals) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, sig)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __del__(self) -> None:
        # a forgotten runner must not leave a chain behind
        with contextlib.suppress(Exception):
            self.stop()

    def __repr__(self) -> str:
        state = f"pid {self.pid}" if self.running else "stopped"
        return f"<{type(self).__name__} {self.url} chain {self.chain_id} {state}>"


def serve_until_stopped(runner: GanacheRunner, name: str) -> int:
    """Run a dev node in the foreground (``python -m chain.ganache`` / ``chain.anvil``): print its
    URL and first accounts, then wait for Ctrl-C or SIGTERM; 1 when the node exits on its own."""
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    try:
        with runner:
            out = sys.stdout
            out.write(f"{name} listening on {runner.url} (chain id {runner.chain_id})\n")
            for i, account in enumerate(runner.accounts_with_keys()[:5]):
                out.write(f"  account {i}: {account.address}\n")
            out.write("Keys: chain.ganache.dev_accounts() (development mnemonic). Ctrl-C stops.\n")
            out.flush()
            while not stop.wait(0.5):
                if not runner.running:
                    log.error("%s exited unexpectedly", name)
                    return 1
    except ToolchainError as exc:
        log.error("%s", exc)
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    """``python -m chain.ganache [--port N] [--accounts N]``: run until Ctrl-C or SIGTERM."""
    settings = get_settings()
    parser = argparse.ArgumentParser(prog="python -m chain.ganache", description="local chain")
    parser.add_argument("--port", type=int, default=settings.ganache_port)
    parser.add_argument("--accounts", type=int, default=settings.ganache_accounts)
    parser.add_argument("--block-gas-limit", type=int, default=settings.ganache_block_gas_limit)
    parser.add_argument(
        "--db",
        type=Path,
        default=None,
        help="Keep the chain's state in this folder across restarts (Ganache's database.dbPath).",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    extra: tuple[str, ...] = ()
    if args.db is not None:
        args.db.mkdir(parents=True, exist_ok=True)
        extra = ("--database.dbPath", str(args.db))
    runner = GanacheRunner(
        args.port,
        accounts=args.accounts,
        block_gas_limit=args.block_gas_limit,
        extra_args=extra,
    )
    return serve_until_stopped(runner, "Ganache")


if __name__ == "__main__":
    raise SystemExit(main())
