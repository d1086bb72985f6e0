"""An httpx client of the fiat bridge's HTTP API (``api/``) and this device's order records.

The bridge lives at ``FAIRGATE_PUBLIC_URL``. Its errors come back as
``{"error": {"code", "message"}}`` and become :class:`BridgeError` with the bridge's message.
An order's token (a bearer credential for reading the order) is kept on this device in
``<home>/orders/<id>.json`` (mode 0600) and never printed.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import httpx
from eth_account.messages import encode_defunct

from chain.keys import Signer
from fairgate.errors import NotFound, TicketError
from fairgate.settings import Settings, get_settings

__all__ = ["BridgeClient", "BridgeError", "client_from_settings"]

FINAL_STATES = {"minted", "declined", "expired", "cancelled", "refunded", "revoked", "failed"}


class BridgeError(TicketError, RuntimeError):
    """The bridge refused a request or could not be reached."""

    code = "bridge_error"


class BridgeClient:
    """The bridge's HTTP API as the command line uses it: the fan's endpoints, and the
    organizer's (each call takes the organizer or admin key it acts with)."""

    def __init__(self, base_url: str, *, timeout_s: float = 30.0) -> None:
        self.base_url = base_url.rstrip("/")
        self._http = httpx.Client(base_url=self.base_url, timeout=timeout_s)

    def close(self) -> None:
        self._http.close()

    def _request(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise BridgeError(
                f"bridge unreachable at {self.base_url} ({type(exc).__name__})"
            ) from None
        if response.status_code >= 400:
            raise BridgeError(f"bridge refused: {_message(response)}")
        return response.json()

    def events(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self._request("GET", "/events")
        return result

    def event(self, event_id: int) -> dict[str, Any]:
        result: dict[str, Any] = self._request("GET", f"/events/{event_id}")
        return result

    def create_order(self, body: dict[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = self._request("POST", "/orders", json=body)
        return result

    def order(self, order_id: str, token: str) -> dict[str, Any]:
        result: dict[str, Any] = self._request(
            "GET", f"/orders/{order_id}", headers={"X-Order-Token": token}
        )
        return result

    def pay_checkout(self, payment_id: str, card_number: str) -> dict[str, Any]:
        """Pay the local provider's checkout with a test card (the dev stack only)."""
        result: dict[str, Any] = self._request(
            "POST", f"/checkout/{payment_id}", json={"card_number": card_number}
        )
        return result

    def claim(self, order_id: str, token: str, signer: Signer) -> dict[str, Any]:
        headers = {"X-Order-Token": token}
        message = self._request(
            "GET",
            f"/orders/{order_id}/claim-message",
            params={"wallet": signer.address},
            headers=headers,
        )["message"]
        signature = signer.sign_message(encode_defunct(text=str(message))).signature
        result: dict[str, Any] = self._request(
            "POST",
            f"/orders/{order_id}/claims",
            json={"wallet": signer.address, "signature": "0x" + bytes(signature).hex()},
            headers=headers,
        )
        return result

    # ------------------------------------------------------------------ organizer

    def create_organizer(self, admin_key: str, body: dict[str, Any]) -> dict[str, Any]:
        """``POST /admin/organizers``: the organizer and its key (shown once)."""
        return self._keyed("POST", "/admin/organizers", admin_key, json=body)

    def create_event(self, key: str, body: dict[str, Any]) -> dict[str, Any]:
        """``POST /organizer/events``: the bridge deploys it; its EventOut."""
        return self._keyed("POST", "/organizer/events", key, json=body)

    def my_events(self, key: str) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self._request(
            "GET", "/organizer/events", headers={"X-API-Key": key}
        )
        return result

    def create_gate_key(
        self, key: str, event_id: int, gate_name: str | None = None
    ) -> dict[str, Any]:
        """A gate device's key for the organizer's event, named for its gate."""
        body = {"gate_name": gate_name} if gate_name else {}
        return self._keyed("POST", f"/organizer/events/{event_id}/gate-keys", key, json=body)

    def gate_entries(self, key: str, address: str) -> dict[str, Any]:
        """Each gate's check-ins of the event at ``address``, as the hub knows them."""
        return self._keyed("GET", f"/gate/events/{address}/entries", key)

    def _keyed(self, method: str, path: str, key: str, **kwargs: Any) -> dict[str, Any]:
        result: dict[str, Any] = self._request(method, path, headers={"X-API-Key": key}, **kwargs)
        return result


def _message(response: httpx.Response) -> str:
    try:
        body = response.json()
        error = body.get("error", {}) if isinstance(body, dict) else {}
        text = error.get("message") or body.get("detail")
        return f"{text} ({response.status_code})" if text else f"HTTP {response.status_code}"
    except ValueError:
        return f"HTTP {response.status_code}"


# ------------------------------------------------------------------ local order records


def _orders_dir(settings: Settings) -> Path:
    return settings.home / "orders"


def save_order(settings: Settings, order: dict[str, Any], extra: dict[str, Any]) -> None:
    folder = _orders_dir(settings)
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    record = {"id": order["id"], "order_token": order["order_token"], **extra}
    fd = os.open(folder / f"{order['id']}.json", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(record, fh)


def load_order(settings: Settings, order_id: str) -> dict[str, Any]:
    path = _orders_dir(settings) / f"{order_id}.json"
    if not order_id.isalnum() or not path.is_file():
        raise NotFound(f"unknown order {order_id!r}: no order of that id was made on this device")
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def last_order(settings: Settings) -> dict[str, Any]:
    """The order made last on this device."""
    folder = _orders_dir(settings)
    files = (
        sorted(folder.glob("*.json"), key=lambda p: p.stat().st_mtime) if folder.is_dir() else []
    )
    if not files:
        raise NotFound("no card order was made on this device: `fairgate fan buy-card` first")
    data: dict[str, Any] = json.loads(files[-1].read_text(encoding="utf-8"))
    return data


def wait_for(client: BridgeClient, order_id: str, token: str, timeout_s: float) -> dict[str, Any]:
    """Poll the order until a final state or the timeout."""
    deadline = time.monotonic() + timeout_s
    order = client.order(order_id, token)
    while order["state"] not in FINAL_STATES and time.monotonic() < deadline:
        time.sleep(1.0)
        order = client.order(order_id, token)
    return order


def client_from_settings(settings: Settings | None = None) -> BridgeClient:
    return BridgeClient((settings or get_settings()).public_url)
