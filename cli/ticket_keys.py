"""Ticket secrets of a fan, derived from the wallet so they can be recovered on any device.

``seed = wallet_seed(signature of SEED_MESSAGE)`` and ``secret = TicketSecret.derive(seed, scope,
n)`` (see :mod:`zk.identity`). This module keeps, per wallet and event, the next unused counter
``n`` in ``<home>/tickets/<address>.json``: a counter alone reveals nothing (the seed needs the
wallet's key). Counters are reserved and saved *before* their commitments leave the device, so a
crash can skip a number but never reuse one (a reused secret would make two tickets share one
nullifier: only one of them could enter).

Secrets never leave this process: they are not printed, logged nor written to disk.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from chain.keys import Signer
from fairgate.errors import ProofError
from fairgate.settings import Settings
from zk.identity import TicketSecret, seed_message, wallet_seed

__all__ = ["TicketKeys"]

RECOVERY_MARGIN = 64  # counters scanned past the recorded one (another device may have used them)


class TicketKeys:
    """The wallet's ticket secrets for one chain."""

    def __init__(self, settings: Settings, signer: Signer, chain_id: int) -> None:
        self._seed = wallet_seed(
            bytes(signer.sign_message(seed_message()).signature), signer.address
        )
        self.path: Path = settings.home / "tickets" / f"{signer.address}.json"
        self.chain_id = chain_id

    def __repr__(self) -> str:
        return f"TicketKeys({self.path}, seed=<redacted>)"

    def _load(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def _key(self, event: str) -> str:
        return f"{self.chain_id}:{event}"

    def next_counter(self, event: str) -> int:
        return int(self._load().get(self._key(event), {}).get("next", 0))

    def reserve(self, event: str, scope: int, count: int) -> list[TicketSecret]:
        """``count`` fresh secrets for ``event`` (their counters are saved first)."""
        data = self._load()
        entry = data.setdefault(self._key(event), {})
        first = int(entry.get("next", 0))
        entry["next"] = first + count
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, indent=2, sort_keys=True), encoding="utf-8")
        tmp.replace(self.path)
        return [TicketSecret.derive(self._seed, scope, first + i) for i in range(count)]

    def commitments(self, event: str, scope: int, count: int) -> list[int]:
        """Reserve ``count`` secrets and return only their (public) commitments."""
        return [s.commitment() for s in self.reserve(event, scope, count)]

    def secret_for(self, event: str, scope: int, commitment: int) -> TicketSecret:
        """The secret behind ``commitment`` (scanning this wallet's counters of the event)."""
        limit = self.next_counter(event) + RECOVERY_MARGIN
        for counter in range(limit):
            secret = TicketSecret.derive(self._seed, scope, counter)
            if secret.commitment() == commitment:
                return secret
        raise ProofError(
            "this wallet did not make the ticket's current secret (bought on another wallet, "
            "or before a resale)"
        )
