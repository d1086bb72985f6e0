"""The organizer's account at the bridge: sign-up, events created through it, gate keys.

One catalog: an event made with ``fairgate organizer create`` while this device holds an
organizer key is created BY the bridge (``POST /organizer/events``), which deploys it through
the platform factory and hands it to the organizer's own wallet. It is then the bridge's event
(``/events``, sold by card with ``fan buy-card``) and this machine's (``events.json``, named by
symbol in every command) at once.

The organizer key (``fg_...``) is kept in ``<home>/organizer-key.json`` (mode 0600), one per
bridge URL; ``FAIRGATE_ORGANIZER_API_KEY`` overrides it. ``signup`` needs the platform admin key:
``FAIRGATE_ADMIN_API_KEY``, or on the dev stack the one ``dev up`` wrote (``<home>/dev/admin-key``).
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chain.types import ETH, Currency
from cli.bridge_client import BridgeClient, BridgeError
from cli.event_file import EventFile, EventFileError
from fairgate.errors import ConfigError, NotFound
from fairgate.settings import Settings

__all__ = [
    "GATE_NAME",
    "IssuedGateKey",
    "admin_key",
    "create_through_bridge",
    "find_my_event",
    "organizer_key",
    "save_organizer_key",
    "tier_body",
]

KEY_FILE = "organizer-key.json"


def _key_path(settings: Settings) -> Path:
    return settings.home / KEY_FILE


def organizer_key(settings: Settings) -> str | None:
    """This device's organizer key for ``settings.public_url``, if any."""
    env = os.environ.get("FAIRGATE_ORGANIZER_API_KEY")
    if env:
        return env
    try:
        data = json.loads(_key_path(settings).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    key = data.get(settings.public_url.rstrip("/")) if isinstance(data, dict) else None
    return str(key) if key else None


def save_organizer_key(settings: Settings, key: str) -> Path:
    path = _key_path(settings)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        data = {}
    data[settings.public_url.rstrip("/")] = key
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(data, fh, indent=2)
    return path


def admin_key(settings: Settings) -> str:
    """The platform admin key: the setting, else the dev stack's."""
    if settings.admin_api_key is not None:
        return settings.admin_api_key.get_secret_value()
    path = settings.home / "dev" / "admin-key"
    if path.is_file():
        return path.read_text(encoding="utf-8").strip()
    raise ConfigError(
        "signing up needs the platform's admin key: set FAIRGATE_ADMIN_API_KEY "
        "(on the dev stack, `fairgate dev up` keeps it under FAIRGATE_HOME/dev)"
    )


def signup(settings: Settings, bridge: BridgeClient, name: str, payout: str | None) -> str:
    body: dict[str, Any] = {"name": name}
    if payout:
        body["payout_address"] = payout
    created = bridge.create_organizer(admin_key(settings), body)
    return str(created["api_key"])


def tier_body(spec: EventFile, index: int, now: int) -> dict[str, Any]:
    tier = spec.tiers[index]
    if tier.price_cents is None:
        raise EventFileError(
            f"tiers[{index}] ({tier.name}) has no card_price: the bridge sells every tier by "
            "card too (give card_price, or create without the bridge: --no-bridge)"
        )
    start = int(spec.start.timestamp())
    return {
        "name": tier.name,
        "price_cents": tier.price_cents,
        # exact decimal text in the event's currency; the bridge converts it with the decimals
        # it reads from the token
        "face_value": format(tier.price.normalize(), "f"),
        "supply": tier.supply,
        "resale_cap_bps": tier.resale_cap_bps,
        "royalty_bps": tier.royalty_bps,
        "resale_opens_at": int(tier.resale_opens.timestamp()) if tier.resale_opens else now,
        "resale_closes_at": int(tier.resale_closes.timestamp()) if tier.resale_closes else start,
    }


def create_through_bridge(
    bridge: BridgeClient,
    key: str,
    spec: EventFile,
    *,
    organizer: str,
    base_uri: str,
    now: int,
    gate: str | None = None,
    currency: Currency = ETH,
) -> dict[str, Any]:
    """Ask the bridge to create the event for ``organizer``'s wallet, settling in ``currency``
    (ETH or a token); the bridge's EventOut."""
    body: dict[str, Any] = {
        "name": spec.name,
        "symbol": spec.symbol,
        "venue": spec.venue,
        "starts_at": spec.start.isoformat(),
        "ends_at": spec.end.isoformat(),
        "tiers": [tier_body(spec, i, now) for i in range(len(spec.tiers))],
        "organizer_address": organizer,
        "base_uri": base_uri,
        "chain_currency": "ETH" if currency.is_eth else currency.address,
    }
    if gate:
        body["gate_address"] = gate
    return bridge.create_event(key, body)


def find_my_event(bridge: BridgeClient, key: str, address: str) -> dict[str, Any]:
    """The organizer's bridge event whose contract is ``address``."""
    try:
        mine = bridge.my_events(key)
    except BridgeError as exc:
        if "(401)" in exc.message:
            raise ConfigError(
                "the bridge does not know this device's organizer key (a new bridge database?): "
                "sign up again with `fairgate organizer signup NAME`"
            ) from None
        raise
    for event in mine:
        if str(event.get("contract_address") or "").lower() == address.lower():
            return event
    raise NotFound(
        "this event is not one of your events at the bridge (it was created without it): "
        "gate keys and card sales exist only for events created through the bridge"
    )


#: A gate's name, as the bridge takes it (``GateKeyCreate.gate_name``) and as a gate device's
#: ``FAIRGATE_GATE_ID``.
GATE_NAME = re.compile(r"[A-Za-z0-9_.-]{1,64}")


@dataclass(frozen=True)
class IssuedGateKey:
    api_key: str  # shown once
    gate_name: str


def gate_key(
    bridge: BridgeClient, key: str, bridge_event_id: int, gate_name: str | None = None
) -> IssuedGateKey:
    """A new gate key of the organizer's bridge event, for a device at gate ``gate_name``."""
    created = bridge.create_gate_key(key, bridge_event_id, gate_name)
    return IssuedGateKey(str(created["api_key"]), str(created["gate_name"]))
