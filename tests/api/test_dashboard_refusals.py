"""Refusals by reason on the dashboard: what gate devices push through the bridge's hub (with
the bridge's gate keys) is what stats.json, the live stream's numbers and refusals.csv show."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from api_helpers import create_event
from dashboard_helpers import PUBLIC_URL, new_wallet, sign_in
from fastapi.testclient import TestClient

from api.app import create_app
from api.services.auth import create_organizer

pytestmark = [pytest.mark.postgres, pytest.mark.ganache]
MINUTE = 29_000_000  # unix minute of the pushed buckets


@pytest.fixture()
def signed_in(settings, engine, db, bridge_chain, provider) -> Iterator[dict[str, Any]]:
    wallet = new_wallet()
    with db() as session:
        _, key = create_organizer(session, "Refusals", wallet.address)
        session.commit()
    app = create_app(settings, engine=engine, provider=provider, chain=bridge_chain)
    with TestClient(app, base_url=PUBLIC_URL) as client:
        event = create_event(client, key, supply=3)
        gates = [
            client.post(
                f"/organizer/events/{event['id']}/gate-keys", headers={"X-API-Key": key}
            ).json()["api_key"]
            for _ in range(2)
        ]
        sign_in(client, wallet)
        yield {"client": client, "event": event, "gates": gates}


def _push(client: TestClient, address: str, gate: str, counts: list[tuple[str, int, int]]) -> Any:
    return client.post(
        f"/gate/events/{address}/refusals",
        json={"refusals": [{"reason": r, "minute": m, "count": n} for r, m, n in counts]},
        headers={"Authorization": f"Bearer {gate}"},  # as gate.sync.HubClient sends it
    )


def test_pushed_refusals_are_the_dashboards_numbers(signed_in: dict[str, Any]) -> None:
    client, event, (north, south) = signed_in["client"], signed_in["event"], signed_in["gates"]
    address, e = event["contract_address"], event["id"]
    before = client.get(f"/dashboard/events/{e}/stats.json").json()
    assert before["refusals"] == {"total": 0, "reasons": [], "rows": []}

    north_counts = [("nullifier_used", MINUTE, 4), ("code_expired", MINUTE, 1)]
    for _ in range(2):  # a retried push (its answer lost) is not counted twice
        assert _push(client, address, north, north_counts).json() == {"stored": 2}
    assert _push(client, address, south, [("nullifier_used", MINUTE + 1, 2)]).status_code == 200
    assert _push(client, address, north, [("bogus", MINUTE, 1)]).status_code == 422
    assert _push(client, address, "fg_nope_nope", north_counts).status_code == 401
    assert client.post(f"/gate/events/{address}/refusals", json={"refusals": []}).status_code == 401

    data = client.get(f"/dashboard/events/{e}/stats.json").json()
    assert data["version"] != before["version"]  # the live stream sends the new numbers
    refusals = data["refusals"]
    assert refusals["total"] == 7
    assert refusals["reasons"] == [
        {"reason": "nullifier_used", "count": 6},
        {"reason": "code_expired", "count": 1},
    ]
    exported = client.get(f"/dashboard/events/{e}/export/refusals.csv")
    assert exported.status_code == 200 and exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    at = datetime.fromtimestamp(MINUTE * 60, UTC).isoformat()
    later = datetime.fromtimestamp((MINUTE + 1) * 60, UTC).isoformat()
    north_gate = rows[0]["gate"]
    assert rows == [
        {"minute": at, "gate": north_gate, "reason": "code_expired", "refusals": "1"},
        {"minute": at, "gate": north_gate, "reason": "nullifier_used", "refusals": "4"},
        {"minute": later, "gate": rows[2]["gate"], "reason": "nullifier_used", "refusals": "2"},
    ]
    assert rows[2]["gate"] != north_gate  # each gate key is its own gate
    page = client.get(f"/dashboard/events/{e}")
    assert 'id="refusals"' in page.text and "/export/refusals.csv" in page.text
