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
