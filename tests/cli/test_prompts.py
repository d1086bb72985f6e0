"""Password prompts on a real terminal (a pseudo-terminal): asked twice, never echoed."""

from __future__ import annotations

import fcntl
import os
import pty
import select
import subprocess
import termios
import time

from tests.cli.conftest import FAIRGATE, Cli


def _own_terminal() -> None:
    os.setsid()
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


def _converse(
    cli: Cli, args: list[str], answers: list[str], timeout: float = 60
) -> tuple[int, str]:
    """Run ``fairgate`` on a pty, typing each answer after the next prompt; returns (rc, screen)."""
    main, child = pty.openpty()
    process = subprocess.Popen(
        [str(FAIRGATE), *args],
        stdin=child,
        stdout=child,
        stderr=child,
        env=cli.env,
        close_fds=True,
    )
    os.close(child)
    screen = b""
    pending = list(answers)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([main], [], [], 0.2)
            if ready:
                try:
                    chunk = os.read(main, 4096)
                except OSError:  # the child closed the terminal
                    break
                if not chunk:
                    break
                screen += chunk
                if pending and screen.endswith(b": "):  # getpass has turned echo off
                    os.write(main, (pending.pop(0) + "\n").encode())
            elif process.poll() is not None:
                break
        return process.wait(timeout=10), screen.decode(errors="replace")
    finally:
        os.close(main)
        if process.poll() is None:
            process.kill()


def test_new_wallet_password_is_asked_twice_without_echo(cli: Cli) -> None:
    secret = "tty-password-41"
    code, screen = _converse(cli, ["fan", "wallet", "create", "-w", "tty"], [secret, secret])
    assert code == 0, screen
    assert "New password for wallet tty (at least 8 characters):" in screen
    assert "Repeat for confirmation:" in screen
    assert "created wallet tty: 0x" in screen
    assert secret not in screen

    code, screen = _converse(cli, ["fan", "commitment", "NOSUCH", "-w", "tty"], ["wrong-one"])
    assert code == 1
    assert "Password for wallet tty:" in screen and "wrong-one" not in screen


def test_a_short_or_empty_new_password_is_refused_with_the_reason(cli: Cli) -> None:
    code, screen = _converse(
        cli, ["fan", "wallet", "create", "-w", "weak"], ["short", "short", "", "", "abc", "abc"]
    )
    assert code == 1, screen
    assert screen.count("too short: a wallet password needs at least 8 characters") == 3
    assert "error: no wallet created" in screen
    assert not (cli.home / "wallets" / "weak.json").exists()
