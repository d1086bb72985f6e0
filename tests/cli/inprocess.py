"""The ``fairgate`` command run in this process (Typer's runner): fast, and the same error boundary
a user meets (it lives in the root click group, :class:`cli.main.FairgateGroup`).

Use it where a subprocess is not the point; ``tests/cli/conftest.py``'s :class:`Cli` runs the real
executable (prompts on a terminal, signals, the installed entry point).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from typer.testing import CliRunner

from cli.main import app
from cli.output import console, err_console
from fairgate.settings import get_settings
from tests.cli.conftest import PASSWORD, base_env


@dataclass
class Outcome:
    args: tuple[str, ...]
    code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    def __str__(self) -> str:
        return f"$ fairgate {' '.join(self.args)} -> {self.code}\n{self.output}"


class InProcess:
    """``fairgate`` with a fixed environment, invoked in-process."""

    def __init__(self, home: Path, rpc_url: str, **extra: str) -> None:
        self.home = home
        self.env = {k: v for k, v in base_env(home, rpc_url).items() if k.startswith("FAIRGATE_")}
        self.env.update(COLUMNS="200", NO_COLOR="1", TERM="dumb")
        self.env.update(extra)
        self.password_file = home / "password.txt"
        self.password_file.write_text(PASSWORD + "\n")
        self.env["FAIRGATE_PASSWORD_FILE"] = str(self.password_file)  # every wallet's password
        self.runner = CliRunner()

    def __call__(self, *args: str, ok: bool = True, stdin: str | None = None) -> Outcome:
        env: dict[str, str | None] = dict.fromkeys(
            (k for k in os.environ if k.startswith("FAIRGATE_")), None
        )
        env.update(self.env)
        get_settings.cache_clear()
        # rich reads COLUMNS once, when cli.output is imported: a new process would read it anew
        widths = console.width, err_console.width
        console.width = err_console.width = int(self.env["COLUMNS"])
        try:
            result = self.runner.invoke(app, list(args), env=env, input=stdin)
        finally:
            get_settings.cache_clear()
            console.width, err_console.width = widths
        outcome = Outcome(tuple(args), result.exit_code, result.stdout, result.stderr)
        if ok and outcome.code != 0:
            raise AssertionError(f"command failed:\n{outcome}") from result.exception
        if not ok and outcome.code == 0:
            raise AssertionError(f"command should have failed:\n{outcome}")
        return outcome

    def as_(self, wallet: str, *args: str, ok: bool = True) -> Outcome:
        extra = ["-w", wallet]
        if not wallet.startswith("dev:"):
            extra += ["--password-file", str(self.password_file)]
        return self(*args, *extra, ok=ok)

    def error(self, *args: str) -> str:
        """The one error line of a failing command (asserting it is one plain line)."""
        outcome = self(*args, ok=False)
        assert outcome.code == 1, outcome
        lines = outcome.stderr.strip().splitlines()
        assert lines and lines[0].startswith("error: "), outcome
        assert "Traceback" not in outcome.output and "unexpected error" not in outcome.output
        return " ".join(line.strip() for line in lines)
