"""``fairgate`` in this process for the plain-error tests: ``tests/cli/conftest.py``'s in-process
:class:`Cli` (Typer's runner, the same error boundary a user meets) with every wallet unlocked by
the shared test password, and :meth:`InProcess.error` to read a refusal's one plain line.
"""

from __future__ import annotations

from pathlib import Path

from tests.cli.conftest import Cli, Result, base_env


class InProcess(Cli):
    """The in-process :class:`Cli` of one home, FAIRGATE_PASSWORD_FILE set for every wallet."""

    def __init__(self, home: Path, rpc_url: str, **extra: str) -> None:
        super().__init__({**base_env(home, rpc_url), **extra}, home, real=False)
        self.env["FAIRGATE_PASSWORD_FILE"] = str(self.password_file)

    def error(self, *args: str) -> str:
        """The error of a failing command, asserting it is plain (no traceback) and exit 1."""
        outcome: Result = self(*args, ok=False)
        assert outcome.returncode == 1, outcome
        lines = outcome.stderr.strip().splitlines()
        assert lines and lines[0].startswith("error: "), outcome
        assert "Traceback" not in outcome.output and "unexpected error" not in outcome.output
        return " ".join(line.strip() for line in lines)
