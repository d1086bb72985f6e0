"""Issue 9 item 7 in the bridge: EventCreate refuses a tier whose resale window closes after
doors (the contract would revert the deployment). Pure schema validation: fast."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from api.schemas import EventCreate

STARTS = datetime(2031, 3, 1, 20, 0, tzinfo=UTC)


def _body(opens: int, closes: int) -> dict[str, Any]:
    return {
        "name": "Show",
        "symbol": "SHOW",
        "starts_at": STARTS.isoformat(),
        "ends_at": (STARTS + timedelta(hours=3)).isoformat(),
        "tiers": [
            {"name": "GA", "price_cents": 100, "face_value_wei": 10**15, "supply": 5},
            {
                "name": "Late",
                "price_cents": 100,
                "face_value_wei": 10**15,
                "supply": 5,
                "resale_opens_at": opens,
                "resale_closes_at": closes,
            },
        ],
    }


@pytest.mark.parametrize(
    ("opens", "closes", "problem"),
    [
        (0, int(STARTS.timestamp()) + 1, "tier 1: the resale window must close by starts_at"),
        (0, int(STARTS.timestamp()) + 3600, "tier 1: the resale window must close by starts_at"),
        (int(STARTS.timestamp()), int(STARTS.timestamp()) - 1, "tier 1: resale_opens_at is after"),
    ],
    ids=["a-second-after-doors", "during-the-event", "opens-after-closes"],
)
def test_a_window_past_the_doors_is_refused(opens: int, closes: int, problem: str) -> None:
    with pytest.raises(ValidationError, match=problem):
        EventCreate.model_validate(_body(opens, closes))


def test_a_window_closing_at_the_doors_is_accepted() -> None:
    event = EventCreate.model_validate(_body(0, int(STARTS.timestamp())))
    assert event.tiers[1].resale_closes_at == int(STARTS.timestamp())
