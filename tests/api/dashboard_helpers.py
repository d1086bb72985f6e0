"""Helpers of the dashboard tests: a TestClient on the bridge's public URL (sign-in messages
name that domain), organizers with wallets, and Sign-In with Ethereum done as a wallet would."""

from __future__ import annotations

from typing import Any

from eth_account import Account
from eth_account.messages import encode_defunct
from eth_account.signers.local import LocalAccount
from fastapi.testclient import TestClient

PUBLIC_URL = "http://127.0.0.1:8000"  # Settings' default public_url


def sign(account: LocalAccount, message: str) -> str:
    signed = account.sign_message(encode_defunct(text=message))
    return "0x" + signed.signature.hex().removeprefix("0x")


def siwe_message(client: TestClient, address: str) -> str:
    r = client.post("/dashboard/siwe/message", json={"address": address})
    assert r.status_code == 200, r.text
    message: str = r.json()["message"]
    return message


def sign_in(client: TestClient, account: LocalAccount) -> dict[str, Any]:
    """Sign in as ``account``; the client keeps the session cookie. Returns the session's CSRF
    token too (read from the events page, as the browser does)."""
    message = siwe_message(client, account.address)
    r = client.post(
        "/dashboard/siwe/verify", json={"message": message, "signature": sign(account, message)}
    )
    assert r.status_code == 200, r.text
    page = client.get("/dashboard")
    assert page.status_code == 200, page.text
    csrf = page.text.split('name="csrf-token" content="', 1)[1].split('"', 1)[0]
    return {**r.json(), "csrf": csrf}


def new_wallet() -> LocalAccount:
    account: LocalAccount = Account.create()
    return account


def between(text: str, start: str, end: str) -> str:
    return text.split(start, 1)[1].split(end, 1)[0]


def enrol_totp(client: TestClient, csrf: str) -> tuple[str, list[str]]:
    """Set up the signed-in organizer's authenticator: ``(secret, recovery codes)``."""
    import pyotp

    page = client.post("/dashboard/security/totp", data={"csrf_token": csrf})
    assert page.status_code == 200, page.text
    secret = between(page.text, 'id="totp-secret">', "<")
    done = client.post(
        "/dashboard/security/totp/confirm",
        data={"csrf_token": csrf, "code": pyotp.TOTP(secret).now()},
    )
    assert done.status_code == 200, done.text
    codes = [
        line.strip().removeprefix("<li>").removesuffix("</li>")
        for line in between(done.text, 'id="recovery-codes" class="mono">', "</ul>").split("</li>")
        if line.strip()
    ]
    return secret, [c.removeprefix("<li>") for c in codes]


def next_code(secret: str, used: set[int]) -> str:
    """A code of a step not used yet, within the one-step drift the bridge allows."""
    import time

    import pyotp

    totp = pyotp.TOTP(secret)
    now = int(time.time()) // 30
    for step in (now - 1, now, now + 1):
        if step not in used and step > max(used, default=-1):
            used.add(step)
            return totp.generate_otp(step)
    raise AssertionError("no fresh step left: wait for the next one")
