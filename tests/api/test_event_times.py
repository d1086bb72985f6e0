"""Event times come back with the offset they were sent with (issue 10): stored as UTC plus the
offset, the same on PostgreSQL and SQLite."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from fastapi.testclient import TestClient

from tests.api.api_helpers import event_body


def test_a_start_time_sent_with_an_offset_comes_back_with_it(
    app_client: TestClient, organizer_key: str
) -> None:
    cet = timezone(timedelta(hours=1))
    start = (datetime.now(cet) + timedelta(days=40)).replace(
        hour=20, minute=0, second=0, microsecond=0
    )
    body = event_body(10)
    body["starts_at"] = start.isoformat()  # ...T20:00:00+01:00
    body["ends_at"] = (start + timedelta(hours=6)).astimezone(timezone(-timedelta(hours=5)))
    body["ends_at"] = body["ends_at"].isoformat()  # another offset, kept as well
    created = app_client.post("/organizer/events", json=body, headers={"X-API-Key": organizer_key})
    assert created.status_code == 201, created.text
    shown = app_client.get(f"/events/{created.json()['id']}").json()
    assert shown["starts_at"] == start.isoformat()
    assert shown["starts_at"].endswith("T20:00:00+01:00")
    assert shown["ends_at"].endswith("-05:00")
    assert datetime.fromisoformat(shown["ends_at"]) == start + timedelta(hours=6)
