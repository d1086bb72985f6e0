"""Secrets never reach the logs: a whole run on Ganache and PostgreSQL (organizer signs in with a
wallet and enrols TOTP, creates an event and a gate key; a fan orders, pays through the signed
webhook; the worker mints and indexes) with every logger at DEBUG in the JSON format, then every
line is searched for each secret the run used. The same lines show the order's request id
following it from the request to its webhook and its mint."""

from __future__ import annotations

import io
import json
import logging

import pytest
from api_helpers import ADMIN_KEY, create_event, order_body, pay
from dashboard_helpers import PUBLIC_URL, enrol_totp, new_wallet, sign_in
from eth_account import Account
from fastapi.testclient import TestClient

from api.app import create_app
from api.services.locks import WorkerLocks
from api.worker import Worker
from fairgate.logs import configure
from fairgate.settings import DEV_MNEMONIC

pytestmark = [pytest.mark.postgres, pytest.mark.ganache]


def dev_key(index: int) -> str:
    Account.enable_unaudited_hdwallet_features()
    account = Account.from_mnemonic(DEV_MNEMONIC, account_path=f"m/44'/60'/0'/0/{index}")
    return account.key.hex().removeprefix("0x")


def test_a_whole_run_logs_every_step_and_no_secret(
    settings, engine, db, bridge_chain, provider, fans
) -> None:
    stream = io.StringIO()
    handler = configure("debug", stream=stream)
    try:
        app = create_app(settings, engine=engine, provider=provider, chain=bridge_chain)
        with TestClient(app, base_url=PUBLIC_URL) as web:
            wallet = new_wallet()
            created = web.post(
                "/admin/organizers",
                json={"name": "Quiet Hall", "payout_address": wallet.address},
                headers={"X-API-Key": ADMIN_KEY},
            )
            assert created.status_code == 201, created.text
            organizer_key = created.json()["api_key"]
            signed_in = sign_in(web, wallet)
            totp_secret, recovery_codes = enrol_totp(web, signed_in["csrf"])
            session_cookies = [c.value for c in web.cookies.jar if c.value]
            event = create_event(web, organizer_key, supply=10)
            gate = web.post(
                f"/organizer/events/{event['id']}/gate-keys",
                headers={"X-API-Key": organizer_key},
            )
            assert gate.status_code == 201, gate.text
            made = web.post(
                "/orders",
                json=order_body(event, 2, fans[0].address),
                headers={"X-Request-Id": "run-order-0001"},
            )
            assert made.status_code == 201, made.text
            order = made.json()
            assert pay(web, order)["outcome"] == "paid"
            worker = Worker(settings, db, bridge_chain, provider, WorkerLocks(engine))
            worker.run(until_idle=True)
            view = web.get(
                f"/orders/{order['id']}", headers={"X-Order-Token": order["order_token"]}
            )
            assert view.json()["state"] == "minted"
    finally:
        logging.getLogger().removeHandler(handler)
        logging.getLogger().setLevel(logging.WARNING)

    text = stream.getvalue()
    lines = [json.loads(line) for line in text.splitlines() if line.strip()]
    assert len(lines) > 20  # DEBUG of every logger: a real haystack
    steps = [line["msg"] for line in lines if line.get("request_id") == "run-order-0001"]
    assert {"order reserved", "webhook applied", "order minted"} <= set(steps)

    secrets = {
        "webhook secret": settings.webhook_secret.get_secret_value(),
        "admin key": ADMIN_KEY,
        "organizer key": organizer_key,
        "gate key": gate.json()["api_key"],
        "order token": order["order_token"],
        "TOTP secret": totp_secret,
        "operator key": dev_key(0),
        "minter key": dev_key(1),
        **{f"recovery code {i}": code for i, code in enumerate(recovery_codes)},
        **{f"session cookie {i}": value for i, value in enumerate(session_cookies)},
    }
    assert len(session_cookies) >= 1 and len(recovery_codes) >= 1
    lowered = text.lower()
    leaked = [name for name, secret in secrets.items() if secret.lower() in lowered]
    assert leaked == []
