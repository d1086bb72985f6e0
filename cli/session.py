"""What most commands need: settings, a checked chain connection, and events found by name.

An event is named on the command line by its contract address, or by its symbol (or name) when
this machine created it (``<home>/events.json``, written by ``fairgate organizer create``) or the
platform factory of this chain lists it. Unknown names fail with one plain line.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from eth_utils.address import is_address, to_checksum_address
from requests.exceptions import RequestException
from web3 import Web3
from web3.exceptions import Web3Exception

from chain.deploy import load_deployment
from chain.erc20 import Erc20Client, settlement_currency
from chain.keys import Signer
from chain.rpc import check_chain, connect
from chain.sender import TransactionSender
from chain.ticket_event import TicketEventClient
from chain.types import ETH, Currency
from fairgate.errors import ChainError, NotFound
from fairgate.settings import Settings, get_settings

__all__ = ["Session", "event_index", "open_session"]

log = logging.getLogger(__name__)

_NODE_ERRORS = (Web3Exception, RequestException, OSError, ValueError)


@dataclass
class Session:
    """A connection to the configured chain node."""

    settings: Settings
    w3: Web3
    chain_id: int

    def sender(self, signer: Signer) -> TransactionSender:
        return TransactionSender(self.w3, signer, settings=self.settings)

    def event(self, ref: str, signer: Signer | None = None) -> TicketEventClient:
        """The event named ``ref`` (address, symbol or name), writing as ``signer`` if given."""
        address = self.resolve_event(ref)
        sender = self.sender(signer) if signer is not None else None
        return TicketEventClient(self.w3, address, sender)

    def currency_named(self, name: str) -> Currency:
        """A settlement currency by name: ``ETH``, an ERC-20 token's address (6 or 18 decimals),
        or the symbol of this development chain's test stablecoin (``FUSD``, deployed by
        ``fairgate dev up``)."""
        text = name.strip()
        if text.upper() == "ETH":
            return ETH
        if is_address(text):
            # the bridge's check too: a contract with decimals() of 6 or 18, else plain words
            currency: Currency = self._call(lambda: settlement_currency(self.w3, text))
            return currency
        deployment = load_deployment(self.w3, self.settings)
        if deployment is not None and deployment.stablecoin:
            coin = Erc20Client(self.w3, deployment.stablecoin).currency()
            if coin.symbol.lower() == text.lower():
                return coin
        raise NotFound(
            f"unknown currency {name!r}: give ETH, a token's address, or the symbol of the dev "
            "chain's test stablecoin (FUSD, deployed by `fairgate dev up`)"
        )

    # ------------------------------------------------------------------ event index

    @property
    def index_path(self) -> Path:
        return self.settings.home / "events.json"

    def _index(self) -> dict[str, Any]:
        try:
            data = json.loads(self.index_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def known_events(self) -> dict[str, dict[str, Any]]:
        """Events recorded on this machine for this chain: address -> record."""
        return event_index(self.settings, self.chain_id)

    def remember_event(self, address: str, record: dict[str, Any]) -> None:
        data = self._index()
        data.setdefault(str(self.chain_id), {})[to_checksum_address(address)] = record
        self.index_path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.index_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, indent=2, sort_keys=True), encoding="utf-8")
        tmp.replace(self.index_path)

    def symbol_taken(self, symbol: str) -> str | None:
        """The address of an event this machine created with ``symbol`` on this chain, if any."""
        for address, record in self.known_events().items():
            if str(record.get("symbol", "")).lower() == symbol.lower():
                return address
        return None

    def event_record(self, address: str) -> dict[str, Any]:
        return self.known_events().get(to_checksum_address(address), {})

    def tier_name(self, address: str, tier_id: int) -> str:
        names = self.event_record(address).get("tiers") or self._bridge_tier_names(address)
        return str(names[tier_id]) if tier_id < len(names) else f"tier {tier_id}"

    def bridge_events(self) -> list[dict[str, Any]]:
        """The bridge's catalog (``FAIRGATE_PUBLIC_URL``/events), read once per command; empty
        when no bridge answers. The catalog names events on a device that did not create them."""
        cached = self.__dict__.get("_bridge_events")
        if cached is None:
            cached = []
            try:
                answer = httpx.get(f"{self.settings.public_url.rstrip('/')}/events", timeout=3)
                if answer.status_code == 200 and isinstance(answer.json(), list):
                    cached = [e for e in answer.json() if e.get("contract_address")]
            except (httpx.HTTPError, ValueError):
                log.info("no catalog from the bridge at %s", self.settings.public_url)
            self.__dict__["_bridge_events"] = cached
        return list(cached)

    def _bridge_tier_names(self, address: str) -> list[str]:
        """Tier names from the bridge's catalog (the same names as ``buy-card``)."""
        for event in self.bridge_events():
            if str(event["contract_address"]).lower() == address.lower():
                tiers = sorted(event.get("tiers", []), key=lambda t: int(t["tier_index"]))
                return [str(t["name"]) for t in tiers]
        return []

    def resolve_event(self, ref: str) -> str:
        """The contract address of event ``ref``; NotFound with a plain message otherwise."""
        ref = ref.strip()
        if is_address(ref):
            address = to_checksum_address(ref)
            if not self._call(lambda: self.w3.eth.get_code(address)):
                raise NotFound(f"unknown event {ref}: no contract at that address on this chain")
            return address
        wanted = ref.lower()
        matches = [
            known
            for known, record in self.known_events().items()
            if wanted
            in (str(record.get("symbol", "")).lower(), str(record.get("name", "")).lower())
        ]
        if len(matches) > 1:
            raise NotFound(f"{ref!r} names several events here: give the contract address")
        if matches:
            return matches[0]
        found = self._from_factory(wanted)
        if found:
            return found
        for event in self.bridge_events():
            if wanted in (str(event.get("symbol", "")).lower(), str(event.get("name", "")).lower()):
                address = to_checksum_address(str(event["contract_address"]))
                if self._call(lambda a=address: self.w3.eth.get_code(a)):
                    return address
        raise NotFound(f"unknown event {ref!r}: give its contract address or its symbol")

    def _from_factory(self, wanted: str) -> str | None:
        deployment = load_deployment(self.w3, self.settings)
        if deployment is None:
            return None
        factory = deployment.factory_client(self.w3)
        for index in reversed(range(factory.event_count())):
            address = factory.event_at(index)
            event = TicketEventClient(self.w3, address)
            if wanted in (event.symbol().lower(), event.name().lower()):
                return address
        return None

    def _call(self, fn: Any) -> Any:
        try:
            return fn()
        except _NODE_ERRORS as exc:
            raise ChainError(f"chain node at {self.settings.rpc_url} failed: {exc}") from None


def event_index(settings: Settings, chain_id: int) -> dict[str, dict[str, Any]]:
    """Events recorded on this machine (``<home>/events.json``) for a chain: address -> record."""
    try:
        data = json.loads((settings.home / "events.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    entries = data.get(str(chain_id), {}) if isinstance(data, dict) else {}
    return entries if isinstance(entries, dict) else {}


def open_session(settings: Settings | None = None) -> Session:
    """Connect to ``settings.rpc_url``; ChainError "node unreachable" when it does not answer."""
    settings = settings or get_settings()
    w3 = connect(settings, timeout_s=30)
    try:
        chain_id = int(w3.eth.chain_id)
    except _NODE_ERRORS:
        raise ChainError(f"chain node unreachable at {settings.rpc_url}") from None  # cli.errors
    check_chain(chain_id, settings)  # a dev configuration never drives a public chain
    return Session(settings, w3, chain_id)
