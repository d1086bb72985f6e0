"""Help texts, and the error paths that need no event: each a plain line and a non-zero exit."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from cli.event_file import EventFileError, load_event_file
from cli.main import app
from tests.cli.conftest import EVENT_TOML, ORGANIZER, Cli, write_event_file


def _commands(group: Any, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    if isinstance(getattr(group, "commands", None), dict):
        found = []
        for name, command in group.commands.items():  # type: ignore[attr-defined]
            found += _commands(command, (*prefix, name))
        return found
    return [prefix]


def test_every_command_has_help_with_an_example() -> None:
    root = typer.main.get_command(app)
    commands = _commands(root)
    assert len(commands) >= 25
    runner = CliRunner()
    for path in commands:
        result = runner.invoke(app, [*path, "--help"], env={"COLUMNS": "200"})
        assert result.exit_code == 0, (path, result.output)
        assert "Example" in result.output, f"fairgate {' '.join(path)} --help has no example"


def test_unreachable_node_is_one_plain_line(offline_cli: Cli) -> None:
    result = offline_cli("organizer", "sales", "NIGHT1", ok=False)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"error: chain node unreachable at {offline_cli.env['FAIRGATE_RPC_URL']}: "
        'start the stack: fairgate dev up (and eval "$(fairgate dev env)")'
    ]
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("name = 'x'\nsymbol = ", "is not valid TOML"),
        (
            EVENT_TOML.replace("supply = 100", "supply = 0"),
            "tiers[0].supply: Input should be greater than or equal to 1",
        ),
        (EVENT_TOML.replace("resale_cap_pct = 110", "resale_cap_pct = 'lots'"), "not a number"),
        (
            EVENT_TOML.replace("resale_cap_pct = 110", "resale_cap_pct = 99"),
            "resale_cap_pct must be between 100 and 200",
        ),
        (
            EVENT_TOML.replace("resale_cap_pct = 110", "resale_cap_pct = 201"),
            "resale_cap_pct must be between 100 and 200",
        ),
        (EVENT_TOML.replace("royalty_pct = 5", "royalty_pct = 101"), "royalty_pct must be"),
        (
            EVENT_TOML.replace("end = 2031-12-02T02:00:00+01:00", "end = 2031-11-02T02:00:00Z"),
            "end must be after start",
        ),
        (EVENT_TOML.replace("+01:00", ""), "need a timezone offset"),
        (EVENT_TOML.replace('symbol = "NIGHT1"', 'symbol = "NIGHT 1"'), "symbol: String should"),
        (EVENT_TOML.replace('price = "0.05"', 'price = "0.0000000000000000001"'), "18 decimals"),
        (EVENT_TOML + "\nfoo = 1\n", "foo: Extra inputs are not permitted"),
    ],
    ids=[
        "toml-syntax",
        "zero-supply",
        "bad-cap",
        "cap-below-face",
        "cap-above-twice-face",
        "royalty-over-100",
        "end-before-start",
        "naive-time",
        "bad-symbol",
        "sub-wei-price",
        "unknown-key",
    ],
)
def test_event_file_validation(tmp_path: Path, body: str, message: str) -> None:
    path = write_event_file(tmp_path, body)
    with pytest.raises(EventFileError) as caught:
        load_event_file(path)
    assert str(caught.value).startswith(f"event file {path}")
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_malformed_event_file_as_a_user_sees_it(cli: Cli, tmp_path: Path) -> None:
    path = write_event_file(tmp_path, EVENT_TOML.replace("supply = 100", "supply = 0"))
    result = cli.as_(ORGANIZER, "organizer", "create", str(path), ok=False)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"error: event file {path}: tiers[0].supply: Input should be greater than or equal to 1"
    ], result


def test_missing_event_file_and_image(cli: Cli, tmp_path: Path) -> None:
    result = cli.as_(ORGANIZER, "organizer", "create", str(tmp_path / "nope.toml"), ok=False)
    assert result.stderr.strip() == f"error: event file {tmp_path / 'nope.toml'} not found"
    path = write_event_file(tmp_path, EVENT_TOML, image=False)
    result = cli.as_(ORGANIZER, "organizer", "create", str(path), ok=False)
    assert result.stderr.strip() == (
        f"error: event file {path}: image: {tmp_path / 'poster.png'} not found "
        "(the poster, relative to this file)"
    )


def test_dev_up_with_replicas_on_sqlite_says_it_needs_postgresql(tmp_path: Path) -> None:
    from tests.cli.inprocess import InProcess

    cli = InProcess(tmp_path, "http://127.0.0.1:9")
    message = cli.error("dev", "up", "--replicas", "2", "--workers", "2")
    assert "need one PostgreSQL database" in message and "FAIRGATE_DATABASE_URL" in message
    assert not (tmp_path / "dev").exists() or not any((tmp_path / "dev").iterdir())
