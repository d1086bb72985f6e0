"""Rich output helpers: one console for results (stdout), one for errors (stderr).

The CLI prints through these; library code logs. Nothing printed here may be a secret: callers
pass public values only (addresses, token ids, commitments, CIDs, proofs).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from decimal import Decimal, InvalidOperation

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from chain.types import ETH, Currency
from fairgate.errors import TicketError

__all__ = [
    "WEI_PER_ETH",
    "console",
    "err_console",
    "format_amount",
    "format_eth",
    "parse_amount",
    "parse_eth",
    "progress",
    "setup_progress",
    "spinner",
    "steps_progress",
    "table",
    "use_currency",
]

WEI_PER_ETH = 10**18
console = Console(highlight=False, soft_wrap=True)
err_console = Console(stderr=True, highlight=False, soft_wrap=True)


class BadAmount(TicketError, ValueError):
    """An amount of ETH could not be read."""

    code = "bad_amount"


def parse_eth(text: str) -> int:
    """``"0.055"``, ``"0.055 ETH"`` or ``"55000000000000000wei"`` -> wei (exact, no floats)."""
    raw = text.strip().lower().replace(" ", "")
    try:
        if raw.endswith("wei") and not raw.endswith("gwei"):
            return _whole(Decimal(raw[:-3]), text)
        if raw.endswith("gwei"):
            return _whole(Decimal(raw[:-4]) * 10**9, text)
        value = Decimal(raw.removesuffix("eth"))
    except InvalidOperation:
        raise BadAmount(f"{text!r} is not an amount of ETH (e.g. 0.05)") from None
    return _whole(value * WEI_PER_ETH, text)


def _whole(wei: Decimal, text: str) -> int:
    if not wei.is_finite() or wei < 0:
        raise BadAmount(f"{text!r} is not a non-negative amount")
    if wei != wei.to_integral_value():
        raise BadAmount(f"{text!r} has more decimals than wei allow (18)")
    return int(wei)


#: The currency of the event a command works on (ETH until it says otherwise): prices in the
#: contract's errors are shown in it (cli.errors), since a revert does not name its currency.
_currency: ContextVar[Currency] = ContextVar("fairgate_currency", default=ETH)


def use_currency(currency: Currency) -> None:
    """Show this command's prices (and the prices in contract errors) in ``currency``."""
    _currency.set(currency)


def format_amount(amount: int, currency: Currency | None = None) -> str:
    """An amount of ``currency`` (default: this command's) with its own decimals: ``12.5 FUSD``."""
    return (currency or _currency.get()).format(int(amount))


def parse_amount(text: str, currency: Currency) -> int:
    """``"12.5"`` or ``"12.5 FUSD"`` -> the smallest units of ``currency`` (exact, no floats)."""
    if currency.is_eth:
        return parse_eth(text)
    raw = text.strip()
    if raw.lower().endswith(currency.symbol.lower()):
        raw = raw[: -len(currency.symbol)]
    try:
        return currency.parse(raw)
    except ValueError as exc:
        raise BadAmount(f"{exc} (e.g. 12.50)") from None


def format_eth(wei: int) -> str:
    """Wei as ETH without trailing zeros: ``55000000000000000`` -> ``"0.055 ETH"``."""
    value = Decimal(wei) / WEI_PER_ETH
    text = format(value.normalize(), "f") if value else "0"
    return f"{text} ETH"


def table(title: str | None, columns: Sequence[str], rows: Iterable[Sequence[object]]) -> Table:
    """A simple table; numbers right-aligned when the column name starts with '#'."""
    out = Table(title=title, title_justify="left")
    for name in columns:
        numeric = name.startswith("#")
        out.add_column(name.lstrip("#"), justify="right" if numeric else "left", overflow="fold")
    for row in rows:
        out.add_row(*(str(cell) for cell in row))
    return out


@contextmanager
def steps_progress(title: str, total: int) -> Iterator[Callable[[str], None]]:
    """Numbered steps of a long command on stderr (``[2/3] deploying... 4 s``), then the total.

    Plain lines, not a live display: a step may itself show a spinner or a progress bar.
    """
    started = time.monotonic()
    done = 0

    def step(text: str) -> None:
        nonlocal done
        done += 1
        elapsed = time.monotonic() - started
        err_console.print(f"[{done}/{total}] {text} ({elapsed:.0f} s)", markup=False)

    yield step
    err_console.print(f"{title}: done in {time.monotonic() - started:.1f} s", markup=False)


@contextmanager
def setup_progress() -> Iterator[None]:
    """Show the gate circuit's trusted set-up when it runs (the first time on a machine: minutes
    of work): its phase and an estimated percentage, a line every few seconds on stderr."""
    from zk.setup import SetupProgress, on_progress

    last: dict[str, float | str] = {"phase": "", "at": 0.0}

    def show(p: SetupProgress) -> None:
        now = time.monotonic()
        if p.phase == last["phase"] and now - float(last["at"]) < 5 and p.phase_fraction < 1:
            return
        if not last["phase"]:
            err_console.print(
                "first use on this machine: the gate circuit's trusted set-up runs once "
                "(a few minutes; cached after)",
                markup=False,
            )
        last.update(phase=p.phase, at=now)
        err_console.print(
            f"trusted set-up {p.overall:4.0%}  phase {p.number}/{p.total} {p.phase} "
            f"({p.phase_fraction:.0%} of it, {p.elapsed_s:.0f} s)",
            markup=False,
        )

    with on_progress(show):
        yield


@contextmanager
def spinner(text: str) -> Iterator[None]:
    """A spinner on stderr while slow work runs (nothing when stderr is not a terminal)."""
    with err_console.status(text, spinner="dots"):
        yield


def progress() -> Progress:
    """A progress bar on stderr (hidden when stderr is not a terminal)."""
    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
    )
