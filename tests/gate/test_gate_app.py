"""The gate device's HTTP service (gate/app.py) over real proofs: staff-only, hostile input
refused with a reason and nothing recorded, offline admissions synced to the hub afterwards.

The browser side (camera, page) is in tests/web/test_scanner_page.py; these are the same
rules at the HTTP level, where each case costs milliseconds.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from gate.app import MAX_CODE, create_gate_app, pairing_link, staff_key
from gate.service import GateService
from zk import payload
from zk.field import P
from zk.identity import time_window, window_challenge
from zk.proof import Q

EventWorld = Any  # tests/gate/conftest.py's EventWorld
OpenGate = Callable[..., GateService]
KEY = "fgs_" + "k" * 40
EVENT = "0x5FbDB2315678afecb367f032d93F642f64180aa3"


@pytest.fixture(scope="module")
def world(new_world: type[EventWorld]) -> EventWorld:
    w = new_world(600)
    w.mint("alice", 3)
    w.publish()
    return w


@pytest.fixture(scope="module")
def window_codes(world: EventWorld) -> Iterator[Callable[[int], str]]:
    """``code(token)``: the token's rotating code for the current window (one proof per token
    and window)."""
    made: dict[tuple[int, int], str] = {}

    def code(token: int) -> str:
        window = time_window(time.time())
        if (token, window) not in made:
            made[token, window] = world.prove(token, window_challenge(world.scope, window))
        return made[token, window]

    yield code


def client_for(gate: GateService, **kwargs: Any) -> TestClient:
    app = create_gate_app(gate, staff_key=KEY, name="Gate test", sync_every_s=None, **kwargs)
    return TestClient(app, headers={"Authorization": f"Bearer {KEY}"})


def test_only_staff_with_the_gate_key_get_anything(world: EventWorld, open_gate: OpenGate) -> None:
    gate = open_gate(world, "gate-1")
    staff = client_for(gate)
    fan = TestClient(staff.app)
    page = fan.get("/scanner")
    assert page.status_code == 200 and "scanner.js" in page.text
    assert world.address.lower() not in page.text.lower()  # the shell holds no event data
    assert page.headers["referrer-policy"] == "no-referrer"
    for method, path in (("GET", "/api/status"), ("POST", "/api/scan"), ("POST", "/api/sync")):
        assert fan.request(method, path, json={"code": "x"}).status_code == 401
        wrong = {"Authorization": "Bearer " + "k" * 44}
        assert fan.request(method, path, json={"code": "x"}, headers=wrong).status_code == 401
    status = staff.get("/api/status").json()
    assert (status["gate"], status["event"], status["entries"]) == ("gate-1", gate.event, 0)
    assert pairing_link("http://10.0.0.5:8700/", KEY) == f"http://10.0.0.5:8700/scanner#key={KEY}"


def test_the_staff_key_is_made_once_and_kept_private(tmp_path: Any) -> None:
    from fairgate.settings import Settings

    settings = Settings(env="test", home=tmp_path, gate_id="door-2")
    first = staff_key(settings)
    assert first.startswith("fgs_") and len(first) > 40
    assert staff_key(settings) == first
    assert ((tmp_path / "gate" / "door-2.staff-key").stat().st_mode & 0o777) == 0o600


def test_a_scan_is_admitted_once_and_counted(
    world: EventWorld, open_gate: OpenGate, window_codes: Callable[[int], str]
) -> None:
    gate = open_gate(world, "gate-1")
    staff = client_for(gate)
    code = window_codes(0)
    first = staff.post("/api/scan", json={"code": code}).json()
    assert (first["admitted"], first["title"]) == (True, "Admitted")
    again = staff.post("/api/scan", json={"code": code}).json()
    assert (again["admitted"], again["code"], again["title"]) == (
        False,
        "nullifier_used",
        "Already used",
    )
    assert again["reason"].startswith("already used at this gate at ")
    status = staff.get("/api/status").json()
    assert status["counters"]["admitted"] == 1 and status["counters"]["already_used"] == 1
    assert status["entries"] == 1
    assert [v["code"] for v in status["recent"]] == ["nullifier_used", "admitted"]


def test_metrics_count_scans_by_verdict_and_reason_and_name_no_code(
    world: EventWorld, open_gate: OpenGate, window_codes: Callable[[int], str]
) -> None:
    from prometheus_client.parser import text_string_to_metric_families

    def scans(client: TestClient) -> dict[tuple[str, str], float]:
        text = client.get("/metrics").text
        return {
            (s.labels["verdict"], s.labels["reason"]): s.value
            for f in text_string_to_metric_families(text)
            for s in f.samples
            if s.name == "fairgate_gate_scans_total"
        }

    gate = open_gate(world, "gate-1")
    staff = client_for(gate)
    before = scans(TestClient(staff.app))  # scraped without the staff key: counts only
    code = window_codes(1)
    for _ in range(2):
        staff.post("/api/scan", json={"code": code})
    staff.post("/api/scan", json={"code": "FG1:" + "A" * (MAX_CODE + 1)})
    after = scans(staff)
    for key, delta in {
        ("admitted", "admitted"): 1,
        ("refused", "nullifier_used"): 1,
        ("refused", "malformed"): 1,
    }.items():
        assert after.get(key, 0) - before.get(key, 0) == delta, key
    text = staff.get("/metrics").text
    assert code[:40] not in text and KEY not in text
    assert 'route="/api/scan"' in text


def _hostile_codes(valid: str) -> dict[str, tuple[str, str]]:
    """name -> (code, expected reason fragment)."""
    proof = payload.decode(valid)
    body = proof.proof + b"".join(x.to_bytes(32, "big") for x in proof.public.as_list())
    nullifier_at_p = bytearray(body)
    nullifier_at_p[256:288] = (P + 7).to_bytes(32, "big")  # a field element out of the modulus
    coordinate_at_q = bytearray(body)
    coordinate_at_q[0:32] = Q.to_bytes(32, "big")
    return {
        "random text": ("https://example.com/win-a-prize?id=42", "not a Fairgate v1 gate payload"),
        "random bytes": (secrets.token_hex(40), "not a Fairgate v1 gate payload"),
        "truncated": (valid[:-30], "wrong size"),
        "bad base45": ("FG1:" + "a" * 576, "character outside base45"),
        "too long for a payload": (valid + "00" * 300, "wrong size"),
        "too long for a QR code": ("FG1:" + "0" * MAX_CODE, "too long for a QR code"),
        "nullifier >= p": (
            "FG1:" + payload.b45encode(bytes(nullifier_at_p)),
            "nullifier",
        ),
        "coordinate >= q": (
            "FG1:" + payload.b45encode(bytes(coordinate_at_q)),
            "outside the base field",
        ),
    }


def test_hostile_input_is_refused_with_a_reason_and_nothing_recorded(
    world: EventWorld, open_gate: OpenGate, window_codes: Callable[[int], str]
) -> None:
    gate = open_gate(world, "gate-1")
    staff = client_for(gate)
    for name, (code, reason) in _hostile_codes(window_codes(1)).items():
        verdict = staff.post("/api/scan", json={"code": code}).json()
        assert verdict["admitted"] is False, name
        assert verdict["title"] == "Not a ticket code", (name, verdict)
        assert reason in verdict["reason"], (name, verdict)
    huge = staff.post("/api/scan", content=b'{"code": "' + b"A" * 20_000 + b'"}')
    assert huge.status_code == 413 and "too large" in huge.json()["detail"]

    def chunks() -> Iterator[bytes]:  # no Content-Length: refused when the limit is passed
        yield b'{"code": "'
        for _ in range(40):
            yield b"B" * 1_000
        yield b'"}'

    chunked = staff.post("/api/scan", content=chunks())
    assert chunked.status_code == 413
    assert staff.post("/api/scan", json={"code": 5}).status_code == 422
    status = staff.get("/api/status").json()
    assert status["entries"] == 0 and gate.store.count(world.address) == 0  # nothing recorded
    assert status["counters"]["unreadable"] == len(_hostile_codes(window_codes(1)))
    refused = gate.store.refusal_counts(world.address)  # for the hub: reason counts only
    assert {reason for _, reason in refused} == {"malformed"}
    assert sum(n for n, _ in refused.values()) == len(_hostile_codes(window_codes(1)))
    assert staff.post("/api/scan", json={"code": window_codes(1)}).json()["admitted"]


def test_the_gate_admits_with_the_hub_down_and_syncs_after(
    world: EventWorld, open_gate: OpenGate, window_codes: Callable[[int], str], hub: Any
) -> None:
    key = hub.register(world.address, "gate-1")
    gate = open_gate(world, "gate-1", hub_url=hub.url, api_key=key)
    staff = client_for(gate)
    assert staff.post("/api/sync").json()["hub"]["online"] is True
    hub.stop()
    assert staff.post("/api/scan", json={"code": window_codes(2)}).json()["admitted"]
    down = staff.post("/api/sync").json()
    assert (down["online"], down["hub"]["online"], down["hub"]["waiting"]) == (False, False, 1)
    assert down["hub"]["last_error"].startswith("hub unreachable")
    hub.start()
    up = staff.post("/api/sync").json()
    assert (up["online"], up["hub"]["waiting"]) == (True, 0)
    assert up["hub"]["last_sync"] is not None


@pytest.mark.parametrize("command", [["cli.main", "gate", "serve", EVENT], ["gate", "serve"]])
def test_gate_serve_pairs_by_link_and_serves_offline(tmp_path: Any, command: list[str]) -> None:
    """The commands a venue runs (``fairgate gate serve EVENT``, ``python -m gate serve``): no
    chain reachable, an event address, a pairing link."""
    import os
    import subprocess
    import sys

    import httpx

    from chain.ganache import free_port

    port = free_port()
    env = {
        **os.environ,
        "FAIRGATE_HOME": str(tmp_path),
        "FAIRGATE_RPC_URL": "http://127.0.0.1:9",
        "FAIRGATE_GATE_ID": "door-1",
        "FAIRGATE_GATE_EVENT": EVENT,
    }
    cmd = [sys.executable, "-m", *command, "--port", str(port)]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        link = proc.stdout.readline().strip()
        base, key = link.split("/scanner#key=")
        assert base == f"http://127.0.0.1:{port}"
        assert key == (tmp_path / "gate" / "door-1.staff-key").read_text().strip()
        deadline = time.monotonic() + 60
        while True:
            try:
                status = httpx.get(f"{base}/api/status", headers={"Authorization": f"Bearer {key}"})
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline and proc.poll() is None, proc.stderr
                time.sleep(0.2)
        assert status.status_code == 200
        body = status.json()
        assert body["gate"] == "door-1"
        assert body["chain"]["online"] is not True  # it keeps trying at each sync
        assert httpx.get(f"{base}/api/status").status_code == 401
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def test_one_ticket_admitted_at_two_offline_gates_shows_as_the_hubs_conflict(
    world: EventWorld, open_gate: OpenGate, window_codes: Callable[[int], str], hub: Any
) -> None:
    gates = [
        open_gate(world, gate_id, hub_url=hub.url, api_key=hub.register(world.address, gate_id))
        for gate_id in ("1", "2")
    ]
    staff = [client_for(g) for g in gates]
    code = window_codes(0)
    for client in staff:  # neither has synced: both admit the same ticket
        assert client.post("/api/scan", json={"code": code}).json()["admitted"]
    for client in (*staff, staff[0]):
        client.post("/api/sync")
    for client in staff:
        (conflict,) = client.get("/api/status").json()["conflicts"]
        assert [u["gate"] for u in conflict["uses"]] in (["gate 1", "gate 2"], ["gate 2", "gate 1"])


def test_every_refusal_has_a_headline_in_plain_words() -> None:
    from gate.app import COUNTERS, Verdict
    from gate.checker import CheckResult

    reasons = {
        "wrong_event": ("ticket not valid for this event", "Not a ticket of this event"),
        "root_expired": ("ticket list out of date (...)", "List out of date"),
        "root_unknown": ("ticket list not recognised here (...)", "List out of date"),
        "code_expired": ("code expired (its time window ended at 19:02:40)", "Code expired"),
        "challenge_expired": ("challenge expired", "Code expired"),
        "nullifier_used": ("already used at gate 3 at 19:02", "Already used"),
        "proof_invalid": ("proof invalid", "Not a valid ticket"),
        "challenge_unknown": ("challenge not issued by this gate", "Not for this gate"),
    }
    for code, (reason, title) in reasons.items():
        verdict = Verdict.of(CheckResult(False, code, reason), 0.0)
        assert (verdict.title, verdict.admitted) == (title, False)
        assert verdict.counter in COUNTERS
    assert Verdict.of(CheckResult(False, "wrong_event", "x"), 0).reason == (
        "not a ticket of this event"
    )
    assert Verdict.of(CheckResult(False, "root_expired", "x"), 0).reason == (
        "list out of date: x; ask the holder to refresh the ticket"
    )
    assert Verdict.of(CheckResult(False, "root_unknown", "x"), 0).reason == (
        "list out of date: x; sync this gate, then ask for a fresh code"
    )


def test_a_gate_started_without_the_chain_picks_it_up_at_a_later_sync(
    world: EventWorld, open_gate: OpenGate, window_codes: Callable[[int], str]
) -> None:
    from fairgate.errors import ChainError

    gate = open_gate(world, "gate-1", online=False)  # no chain, no cached lists
    node_up = False

    def connect() -> Any:
        if not node_up:
            raise ChainError("chain node unreachable")
        return world.as_role("gate")

    app = create_gate_app(gate, staff_key=KEY, sync_every_s=None, connect=connect)
    staff = TestClient(app, headers={"Authorization": f"Bearer {KEY}"})
    code = window_codes(2)
    early = staff.post("/api/scan", json={"code": code}).json()
    assert (early["title"], early["code"]) == ("List out of date", "root_unknown")
    down = staff.post("/api/sync").json()
    assert down["chain"] == {"configured": True, "online": None}  # not reached yet
    node_up = True
    up = staff.post("/api/sync").json()
    assert up["chain"]["online"] is True and "1 ticket list(s) accepted" in up["lists"]
    assert staff.post("/api/scan", json={"code": code}).json()["admitted"]
