"""End-to-end fixtures of the command line: ``fairgate`` in this process, or the real executable.

``cli`` runs each command in this process through Typer's runner (the same root group and error
boundary a user meets, :class:`cli.main.FairgateGroup`, without a Python start-up and the imports
of web3 per command, about 1.5 s of CPU each). The tests that are about the process itself run
the installed ``fairgate`` as a subprocess: prompts and Ctrl-C on a terminal (test_prompts.py,
``sales --watch``), an unreachable node (``offline_cli``) and the dev stack
(test_dev_stack_card.py).

Each test module gets its own ``FAIRGATE_HOME`` (wallets, event index, embedded IPFS store,
platform deployment record) on the session's Ganache (``tests/conftest.py``), so modules never see
each other's files. Keystores use a small scrypt cost (``FAIRGATE_KEYSTORE_SCRYPT_N``) so that
unlocking a wallet takes milliseconds, not a second per command.
"""

from __future__ import annotations

import os
import subprocess
import sys
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from chain.ganache import GanacheRunner

FAIRGATE = Path(sys.executable).with_name("fairgate")
PASSWORD = "correct horse battery staple"
# Development accounts of the shared session chain that no other test folder uses (their senders
# cache nonces in-process; a command sending from the same account would make them stale).
ORGANIZER = "dev:16"
FUNDER = "15"


@dataclass
class Result:
    """What one command printed and returned."""

    args: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    def __str__(self) -> str:
        return f"$ fairgate {' '.join(self.args)} -> {self.returncode}\n{self.output}"


class Cli:
    """Runs ``fairgate`` with a fixed environment (chain URL, home, password file): the real
    executable as a subprocess (``real=True``), or in this process with Typer's runner."""

    def __init__(self, env: dict[str, str], home: Path, *, real: bool = True) -> None:
        self.env = env
        self.home = home
        self.real = real
        self.password_file = home / "password.txt"
        self.password_file.write_text(PASSWORD + "\n")

    def __call__(
        self,
        *args: str,
        ok: bool = True,
        stdin: str | bytes | None = None,
        env: dict[str, str] | None = None,
        timeout: float = 180,
    ) -> Result:
        data = stdin.encode() if isinstance(stdin, str) else stdin
        if self.real:
            completed = subprocess.run(
                [str(FAIRGATE), *args],
                input=data,
                capture_output=True,
                env={**self.env, **(env or {})},
                timeout=timeout,
                check=False,
            )
            result = Result(
                tuple(args),
                completed.returncode,
                completed.stdout.decode(errors="replace"),
                completed.stderr.decode(errors="replace"),
            )
        else:
            result = _invoke(tuple(args), data, {**self.env, **(env or {})})
        if ok and result.returncode != 0:
            raise AssertionError(f"command failed:\n{result}")
        if not ok and result.returncode == 0:
            raise AssertionError(f"command should have failed:\n{result}")
        return result

    def as_(self, wallet: str, *args: str, **kwargs: object) -> Result:
        """Run a command as ``wallet`` (unlocked with the shared test password)."""
        extra = ["-w", wallet]
        if not wallet.startswith("dev:"):
            extra += ["--password-file", str(self.password_file)]
        return self(*args, *extra, **kwargs)  # type: ignore[arg-type]


def _invoke(args: tuple[str, ...], stdin: bytes | None, env: dict[str, str]) -> Result:
    """``fairgate *args`` in this process: the command's FAIRGATE_* variables (and no others),
    settings read afresh, what it printed on stdout and stderr, and its exit status. An exception
    that escaped the CLI's error boundary is shown as the real process would show it."""
    from typer.testing import CliRunner

    from cli.main import app
    from cli.output import console, err_console
    from fairgate.settings import get_settings

    environ: dict[str, str | None] = dict.fromkeys(
        (k for k in os.environ if k.startswith("FAIRGATE_")), None
    )
    environ.update(
        {k: v for k, v in env.items() if k.startswith("FAIRGATE_") or k in _TERMINAL_VARS}
    )
    get_settings.cache_clear()
    # rich reads COLUMNS once, when cli.output is imported; a new process would read it anew
    widths = console.width, err_console.width
    if str(env.get("COLUMNS", "")).isdigit():
        console.width = err_console.width = int(env["COLUMNS"])
    try:
        outcome = CliRunner().invoke(app, list(args), input=stdin, env=environ)
    finally:
        get_settings.cache_clear()
        console.width, err_console.width = widths
    stderr = outcome.stderr
    if outcome.exception is not None and not isinstance(outcome.exception, SystemExit):
        stderr += "".join(traceback.format_exception(outcome.exception))
    return Result(args, outcome.exit_code, outcome.stdout, stderr)


_TERMINAL_VARS = ("COLUMNS", "NO_COLOR", "TERM")


def base_env(home: Path, rpc_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FAIRGATE_")}
    env.update(
        FAIRGATE_HOME=str(home),
        FAIRGATE_RPC_URL=rpc_url,
        FAIRGATE_KEYSTORE_SCRYPT_N="1024",
        COLUMNS="200",
        NO_COLOR="1",
        TERM="dumb",
    )
    return env


@pytest.fixture(scope="module")
def cli(ganache: GanacheRunner, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cli]:
    """The ``fairgate`` command against the session's Ganache, with a home of its own."""
    home = tmp_path_factory.mktemp("fairgate-home")
    yield Cli(base_env(home, ganache.url), home, real=False)


@pytest.fixture(scope="module")
def offline_cli(tmp_path_factory: pytest.TempPathFactory) -> Cli:
    """The real ``fairgate`` executable pointed at a port where no node listens."""
    from chain.ganache import free_port

    home = tmp_path_factory.mktemp("fairgate-offline")
    return Cli(base_env(home, f"http://127.0.0.1:{free_port()}"), home)


def write_event_file(folder: Path, body: str, *, image: bool = True) -> Path:
    """An event TOML file (and a PNG poster next to it)."""
    if image:
        import qrcode

        qrcode.make("poster").save(folder / "poster.png")
    path = folder / "event.toml"
    path.write_text(body)
    return path


EVENT_TOML = """
name = "Night One"
symbol = "NIGHT1"
venue = "Warehouse 9"
description = "Doors at 20:00."
start = 2031-12-01T20:00:00+01:00
end = 2031-12-02T02:00:00+01:00
image = "poster.png"

[[tiers]]
name = "General"
price = "0.05"
supply = 100
resale_cap_pct = 110
royalty_pct = 5

[[tiers]]
name = "VIP"
price = 0.2
supply = 10
"""

Runner = Callable[..., Result]
