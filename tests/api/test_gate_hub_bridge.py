"""Gate devices sync their check-ins through the bridge, with the bridge's own gate keys.

The hub's behaviour itself (cursors, idempotent pushes, conflicts) is tested in tests/gate; here:
it is mounted in the bridge, migrated with it, and guarded by the bridge's keys per event.
"""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.api.api_helpers import create_event

HEX = "0x" + "ab" * 32


def _gate_key(client: TestClient, organizer_key: str, event: dict[str, Any]) -> str:
    r = client.post(
        f"/organizer/events/{event['id']}/gate-keys", headers={"X-API-Key": organizer_key}
    )
    assert r.status_code == 201, r.text
    return str(r.json()["api_key"])


def _checkin(nullifier: int, at: float) -> dict[str, Any]:
    return {
        "nullifier": "0x" + nullifier.to_bytes(32, "big").hex(),
        "checked_at": at,
        "root": HEX,
        "challenge": HEX,
    }


def test_two_gates_sync_and_the_organizer_sees_conflicts(
    app_client: TestClient, organizer_key: str, other_organizer_key: str
) -> None:
    event = create_event(app_client, organizer_key, supply=10)
    address = event["contract_address"]
    north, south = (_gate_key(app_client, organizer_key, event) for _ in range(2))
    path = f"/gate/events/{address}/checkins"

    pushed = app_client.post(
        path,
        json={"checkins": [_checkin(1, 100.0), _checkin(2, 101.0)]},
        headers={"X-API-Key": north},
    )
    assert pushed.status_code == 200, pushed.text
    assert pushed.json()["accepted"] == 2
    again = app_client.post(
        path, json={"checkins": [_checkin(1, 100.0)]}, headers={"X-API-Key": north}
    )
    assert again.json()["duplicates"] == 1  # a retried push changes nothing

    pulled = app_client.get(path, headers={"X-API-Key": south}).json()
    assert {c["nullifier"][-2:] for c in pulled["checkins"]} == {"01", "02"}

    # the same ticket at the south gate while it was offline: both kept, flagged as a conflict
    clash = app_client.post(
        path, json={"checkins": [_checkin(2, 150.0)]}, headers={"X-API-Key": south}
    )
    assert clash.json()["conflicts"] == ["0x" + (2).to_bytes(32, "big").hex()]
    conflicts = app_client.get(
        f"/gate/events/{address}/conflicts", headers={"X-API-Key": organizer_key}
    )
    assert conflicts.status_code == 200, conflicts.text
    (conflict,) = conflicts.json()["conflicts"]
    assert len(conflict["entries"]) == 2

    # nothing crosses events: another organizer, or no key, is refused
    assert (
        app_client.get(
            f"/gate/events/{address}/conflicts", headers={"X-API-Key": other_organizer_key}
        ).status_code
        == 401
    )
    assert app_client.post(path, json={"checkins": [_checkin(3, 1.0)]}).status_code == 401


def test_a_gate_key_of_another_event_is_refused(app_client: TestClient, organizer_key: str) -> None:
    first = create_event(app_client, organizer_key, supply=5)
    second = create_event(app_client, organizer_key, supply=5)
    key = _gate_key(app_client, organizer_key, first)
    r = app_client.post(
        f"/gate/events/{second['contract_address']}/checkins",
        json={"checkins": [_checkin(9, 1.0)]},
        headers={"X-API-Key": key},
    )
    assert r.status_code == 401


def test_a_gate_device_syncs_with_a_bridge_key_as_its_bearer_token(
    app_client: TestClient, organizer_key: str
) -> None:
    """``gate sync`` sends its key as ``Authorization: Bearer``: a bridge gate key (the one
    ``fairgate organizer gate-key`` prints, ``fg_...``) must work there too, not answer 401."""
    from gate.sync import HubClient

    event = create_event(app_client, organizer_key, supply=5)
    key = _gate_key(app_client, organizer_key, event)
    path = f"/gate/events/{event['contract_address']}/checkins"
    pushed = app_client.post(
        path, json={"checkins": [_checkin(7, 1.0)]}, headers={"Authorization": f"Bearer {key}"}
    )
    assert pushed.status_code == 200, pushed.text
    assert pushed.json()["accepted"] == 1
    hub = HubClient("http://testserver", key, transport=app_client._transport)
    try:
        assert "checkins" in hub.pull(event["contract_address"], 0, 10)  # no 401
    finally:
        hub.close()
    bad = app_client.get(path, headers={"Authorization": "Bearer fg_nope_nope"})
    assert bad.status_code == 401


def test_the_organizer_reads_each_gates_entries(
    app_client: TestClient, organizer_key: str, other_organizer_key: str
) -> None:
    """What ``fairgate organizer sales`` shows as admitted at the gate, not yet anchored."""
    event = create_event(app_client, organizer_key, supply=5)
    address = event["contract_address"]
    north = _gate_key(app_client, organizer_key, event)
    app_client.post(
        f"/gate/events/{address}/checkins",
        json={"checkins": [_checkin(11, 1.0), _checkin(12, 2.0)]},
        headers={"X-API-Key": north},
    )
    path = f"/gate/events/{address}/entries"
    seen = app_client.get(path, headers={"X-API-Key": organizer_key})
    assert seen.status_code == 200, seen.text
    ((gate,),) = [seen.json()["gates"]]
    assert [n[-2:] for n in gate["nullifiers"]] == ["0b", "0c"]
    assert app_client.get(path, headers={"X-API-Key": other_organizer_key}).status_code == 401
    assert app_client.get(path).status_code == 401


def test_gate_keys_name_their_gate_and_devices_of_one_gate_are_told_apart(
    app_client: TestClient, organizer_key: str
) -> None:
    """Two devices at the north gate (two keys named ``north``): their rows carry the gate's
    name, each pulls the other's admissions (not its own, whichever header carries its key), and
    the same ticket admitted by both is a conflict within one gate."""
    event = create_event(app_client, organizer_key, supply=5)
    address = event["contract_address"]
    url = f"/organizer/events/{event['id']}/gate-keys"
    made = [
        app_client.post(url, json={"gate_name": "north"}, headers={"X-API-Key": organizer_key})
        for _ in range(2)
    ]
    assert [r.status_code for r in made] == [201, 201], made[0].text
    assert {r.json()["gate_name"] for r in made} == {"north"}
    first, second = (str(r.json()["api_key"]) for r in made)
    plain = app_client.post(url, headers={"X-API-Key": organizer_key}).json()
    assert plain["gate_name"] == f"gate-{plain['api_key'].split('_')[1]}"  # a gate of its own
    for bad in ("", "north gate", "x" * 65, "nörd"):
        refused = app_client.post(
            url, json={"gate_name": bad}, headers={"X-API-Key": organizer_key}
        )
        assert refused.status_code == 422, (bad, refused.text)

    path = f"/gate/events/{address}/checkins"
    app_client.post(path, json={"checkins": [_checkin(1, 10.0)]}, headers={"X-API-Key": first})
    # the same key as a bearer token is the same device: its own row is not sent back
    own = app_client.get(path, headers={"Authorization": f"Bearer {first}"}).json()
    assert own["checkins"] == []
    seen = app_client.get(path, headers={"X-API-Key": second}).json()["checkins"]
    assert [(c["gate_id"], c["nullifier"][-2:]) for c in seen] == [("north", "01")]
    clash = app_client.post(
        path, json={"checkins": [_checkin(1, 20.0)]}, headers={"X-API-Key": second}
    ).json()
    assert clash["conflicts"] == ["0x" + (1).to_bytes(32, "big").hex()]
    entries = app_client.get(
        f"/gate/events/{address}/entries", headers={"X-API-Key": organizer_key}
    ).json()
    assert [(g["gate_id"], len(g["nullifiers"])) for g in entries["gates"]] == [("north", 2)]
