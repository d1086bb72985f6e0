"""'Show at the gate' in real Chromium: the ticket's path from the bridge (the published root's
tree), the secret derived in the page from the wallet's signature, the Groth16 proof made by
snarkjs in the page's Web Worker with the circuit files the bridge serves by hash, and the QR of
the rotating window challenge, a new one each window. Each code is checked with the gate's
Python verifier (the proof, the event's scope, the published root, the window's challenge, the
holder's nullifier), and the gate device (gate.service) admits it once and then refuses it; the
next code, read off the fan's screen by another gate's scanner page through a fake camera, is
admitted there."""

from __future__ import annotations

import hashlib
import io
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from eth_account.signers.local import LocalAccount
from PIL import Image
from playwright.sync_api import Browser, Page, expect
from web3 import Web3

from api.models import Event
from api.services import fan as fan_service
from chain.ganache import GanacheRunner
from chain.keys import dev_signer
from chain.sender import TransactionSender
from chain.ticket_event import TicketEventClient
from chain.ticket_gate import TicketGateClient
from fairgate.settings import Settings
from gate.service import GateService
from tests.web.browser import assert_accessible, screenshot
from tests.web.fan_stack import (
    Bridge,
    create_event,
    patient_expect,  # noqa: F401 (autouse fixture)
    running_bridge,
    wallet,
    wallet_context,
)
from tests.web.gate_scanner import scan_image
from zk import payload
from zk.cache import sha256_file
from zk.identity import TicketSecret, seed_from_account, time_window, window_challenge
from zk.setup import Artifacts
from zk.tree_sync import tree_from_events
from zk.verifier import GateVerifier


@pytest.fixture(scope="module")
def bridge(
    ganache: GanacheRunner, w3: Web3, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Bridge]:
    with running_bridge(ganache, w3, tmp_path_factory.mktemp("fan-gate")) as b:
        yield b


def _records(bridge: Bridge, event_id: int) -> list[Any]:
    with bridge.sessions() as session:
        row = session.get(Event, event_id)
        assert row is not None
        return fan_service.read_events(bridge.chain, row)


def test_the_holder_shows_a_rotating_code_that_the_gate_verifier_admits(
    browser: Browser,
    bridge: Bridge,
    ganache: GanacheRunner,
    w3: Web3,
    dev_accounts: list[LocalAccount],
    artifacts: Artifacts,
    verifier: GateVerifier,
    tmp_path: Path,
) -> None:
    gate_account, erin = dev_accounts[2], dev_accounts[-7]
    event = create_event(bridge, gate=gate_account.address, name="Gate Night")
    address = event["contract_address"]
    # Erin bought a ticket with her wallet's counter-0 secret (as the page makes it)
    erin_signer = dev_signer(dev_accounts.index(erin))
    buyer = TicketEventClient(
        w3, address, TransactionSender(w3, erin_signer, settings=bridge.settings)
    )
    scope = buyer.gate_scope()
    secret = TicketSecret.derive(seed_from_account(erin), scope, 0)
    token = buyer.issued_runs(buyer.purchase(0, [secret.commitment()]))[0].token_ids[0]
    # before the list is published the page says so in plain words
    early = bridge.get(f"/events/{event['id']}/tickets/{token}/gate-path")
    assert early.status_code == 409 and "not published" in early.json()["error"]["message"]
    gate = TicketGateClient.for_event(
        buyer, TransactionSender(w3, dev_signer(2), settings=bridge.settings)
    )
    root = tree_from_events(_records(bridge, event["id"])).root
    gate.publish_root(root)

    # the bridge serves exactly the setup whose verification key the gates hold, by hash
    files = bridge.get("/zk/gate-circuit").json()
    assert files["zkey"]["sha256"] == sha256_file(artifacts.zkey)
    assert files["wasm"]["sha256"] == sha256_file(artifacts.circuit.wasm)
    assert files["vkey"]["sha256"] == sha256_file(artifacts.vkey)
    zkey = bridge.get(files["zkey"]["url"])
    assert zkey.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert hashlib.sha256(zkey.content).hexdigest() == files["zkey"]["sha256"]
    assert bridge.get("/zk/files/" + "0" * 64).status_code == 404

    # the gate device (gate.service, online), its roots synced from the chain
    gate_device = GateService.open(
        event=address,
        chain_id=1337,
        client=TicketEventClient(w3, address),
        verifier=verifier,
        settings=Settings(env="test", home=tmp_path, gate_id="gate-1"),
        folder=tmp_path / "gate-1",
    )
    # a second gate whose staff scan codes with the scanner page's camera (gate/app.py)
    gate_2 = GateService.open(
        event=address,
        chain_id=1337,
        client=TicketEventClient(w3, address),
        verifier=verifier,
        settings=Settings(env="test", home=tmp_path, gate_id="gate-2"),
        folder=tmp_path / "gate-2",
    )
    try:
        assert gate_device.roots.sync() and gate_2.roots.sync()

        wallets = [wallet("Erin Wallet", erin.address, ganache)]
        context = wallet_context(browser, wallets, phone=True)
        page = context.new_page()
        page.goto(f"{bridge.url}/me?event={event['id']}")
        page.locator(".pick-wallet").first.click()
        page.locator(f"#my-tickets li[data-token='{token}'] .show-gate").click()
        dialog = page.locator("#gate")
        status = dialog.locator(".gate-status")
        expect(status).to_contain_text("A new code comes in", timeout=180_000)
        first = _shown_code(page)
        # the gate device admits it once, then refuses it (checked at once: the code's window runs)
        verdict = gate_device.check(first[0])
        assert verdict.admitted, verdict.reason
        again = gate_device.check(first[0])
        assert not again.admitted and again.code == "nullifier_used"
        _admitted(first, verifier, scope=scope, root=root, nullifier=secret.nullifier(scope))
        screenshot(page, "fan-gate-code-phone")
        assert_accessible(page)
        # the next window's code replaces it (proved ahead, in the worker)
        expect(dialog).to_have_attribute("data-window", str(first[1] + 1), timeout=60_000)
        second = _shown_code(page)
        assert second[0] != first[0]
        _admitted(second, verifier, scope=scope, root=root, nullifier=secret.nullifier(scope))
        # the fan's screen in front of gate 2's scanner: its camera reads the QR, gate 2 admits
        shown = Image.open(io.BytesIO(dialog.locator("canvas").screenshot()))
        scanned = scan_image(browser.browser_type, gate_2, shown)
        assert (scanned["code"], scanned["shown"]) == ("admitted", "Admitted"), scanned
        # the circuit files are kept in the Cache Storage under their immutable URLs
        cached = page.evaluate(
            """async () => (await (await caches.open("fairgate-circuit-v1")).keys())
                .map((r) => new URL(r.url).pathname).sort()"""
        )
        assert cached == sorted([files["wasm"]["url"], files["zkey"]["url"]])
        context.close()

        # a zkey that does not match its hash is refused: no proof is made with it
        context = wallet_context(browser, wallets, phone=True)
        context.route(
            bridge.url + files["zkey"]["url"],
            lambda route: route.fulfill(body=zkey.content[:-1] + b"\x00"),
        )
        page = context.new_page()
        page.goto(f"{bridge.url}/me?event={event['id']}")
        page.locator(".pick-wallet").first.click()
        page.locator(f"#my-tickets li[data-token='{token}'] .show-gate").click()
        expect(page.locator("#gate .gate-status")).to_contain_text(
            "a circuit file does not match its hash: refusing to prove with it"
        )
        context.close()
    finally:
        gate_device.close()
        gate_2.close()


def _shown_code(page: Page) -> tuple[str, int]:
    text = page.locator("#gate-payload").input_value()
    assert text.startswith("FG1:")
    return text, int(page.locator("#gate").get_attribute("data-window") or 0)


def _admitted(
    code: tuple[str, int], verifier: GateVerifier, *, scope: int, root: int, nullifier: int
) -> None:
    """What a gate checks, with the gate's Python verifier."""
    text, window = code
    proof = payload.decode(text)
    assert verifier.verify(proof)
    assert proof.public.scope == scope and proof.public.root == root
    assert proof.public.challenge == window_challenge(scope, window)
    assert abs(time_window(time.time()) - window) <= 1
    assert proof.public.nullifier == nullifier
