"""The ``fairgate`` entry point and its one error boundary.

Every command raises :class:`~fairgate.errors.TicketError` (or lets a library error through);
:class:`FairgateGroup` catches them in one place and prints one plain line on stderr with a non-zero
exit status, never a traceback (whose frames could hold a password). ``FAIRGATE_DEBUG=1`` shows
the traceback instead, for developers.

Exit statuses: 1 for a refused or failed operation, 2 for wrong usage (click's), 130 on Ctrl-C.
"""

from __future__ import annotations

import logging
import os
import sys
from typing import Any

import typer
from requests.exceptions import RequestException
from typer._click.core import Context
from typer.core import TyperGroup
from typer.exceptions import TyperException

from cli import dev, fan, gate, organizer
from cli.errors import explain, unreachable
from cli.output import err_console
from fairgate.errors import TicketError

__all__ = ["app", "run"]


class FairgateGroup(TyperGroup):
    """The root command group: every command runs inside the one error boundary.

    The boundary lives in the click group (not around ``app()``), so Typer's in-process test
    runner sees exactly what a user sees: one line on stderr and the exit status.
    """

    def invoke(self, ctx: Context) -> Any:
        try:
            return super().invoke(ctx)
        except (typer.Exit, typer.Abort, TyperException):
            raise
        except TicketError as exc:
            _fail(explain(exc), exc)
        except RequestException as exc:
            _fail(unreachable(f"the chain node did not answer ({type(exc).__name__})"), exc)
        except KeyboardInterrupt:
            err_console.print("interrupted")
            sys.exit(130)
        except Exception as exc:  # the last line of defence: one line, no traceback
            _fail(
                f"{exc} - this is a bug in fairgate ({type(exc).__name__}); "
                "FAIRGATE_DEBUG=1 shows where",
                exc,
            )


def _fail(message: str, exc: BaseException) -> None:
    if os.environ.get("FAIRGATE_DEBUG"):
        raise exc
    err_console.print(f"[bold red]error:[/] {message}", markup=True, highlight=False)
    sys.exit(1)


app = typer.Typer(
    cls=FairgateGroup,
    name="fairgate",
    help="Fairgate: tickets on Ethereum with capped resale and zero-knowledge gate checks.",
    epilog="Example: fairgate fan wallet create; fairgate fan buy NIGHT1 0 -n 2. "
    "Settings come from FAIRGATE_* variables (FAIRGATE_RPC_URL, FAIRGATE_HOME, ...).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(organizer.app, name="organizer")
app.add_typer(fan.app, name="fan")
app.add_typer(gate.app, name="gate")
app.add_typer(dev.app, name="dev")


@app.callback()
def _root(
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Log what happens (no secrets)."),
) -> None:
    """Fairgate: tickets on Ethereum with capped resale and zero-knowledge gate checks."""
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    if not verbose:  # compiler warnings of contract sources are for developers, not users
        logging.getLogger("chain.compiler").setLevel(logging.ERROR)


def run() -> None:
    """``python -m cli.main``."""
    app()


if __name__ == "__main__":
    run()
