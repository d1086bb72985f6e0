"""Issue 9 item 7 in the event file: a tier's resale window closes by the doors (as the contract
requires), so `organizer create` says so before sending anything. Pure parsing: fast."""

from __future__ import annotations

from pathlib import Path

import pytest

from cli.event_file import EventFileError, load_event_file

EVENT = """
name = "Late Resale"
symbol = "LATE1"
venue = "Hall"
start = 2031-03-01T20:00:00+01:00
end = 2031-03-01T23:00:00+01:00
image = "poster.png"

[[tiers]]
name = "GA"
price = "0.01"
supply = 10
{window}
"""


def _load(tmp_path: Path, window: str) -> object:
    (tmp_path / "poster.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    path = tmp_path / "event.toml"
    path.write_text(EVENT.format(window=window))
    return load_event_file(path)


@pytest.mark.parametrize(
    ("window", "problem"),
    [
        ("resale_closes = 2031-03-01T20:00:01+01:00", "resale_closes is after start"),
        ("resale_closes = 2031-03-02T01:00:00+01:00", "resale_closes is after start"),
        ("resale_opens = 2031-03-01T21:00:00+01:00", "resale_opens is after start"),
    ],
    ids=["a-second-after-doors", "during-the-event", "opens-after-doors"],
)
def test_a_window_past_the_doors_is_refused(tmp_path: Path, window: str, problem: str) -> None:
    with pytest.raises(EventFileError, match=problem) as caught:
        _load(tmp_path, window)
    assert "tier 1 (GA)" in str(caught.value)


def test_a_window_closing_at_the_doors_is_accepted(tmp_path: Path) -> None:
    _load(tmp_path, "resale_closes = 2031-03-01T20:00:00+01:00")
    _load(tmp_path, "")  # the default closes at the doors
