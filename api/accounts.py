"""The bridge's accounts on the chain, and the typed contract clients it reaches them through.

Accounts: the *operator* deploys events through the factory and is their on-chain organizer until
the organizer's wallet accepts them (so the bridge can cancel and grant roles); each minting
worker signs with its own *minter* key, all granted the minter role when the event is created
(``minter_addresses``); the *custody* account holds tickets of fans without a wallet and releases
them (it is a minter too). Sends of one key are serialized across processes by a PostgreSQL
advisory lock (see :mod:`api.services.minting`), so a key shared by several workers is also safe.

Every contract call goes through the typed clients of ``chain/``
(:class:`chain.ticket_event.TicketEventClient`, :class:`chain.factory.TicketFactoryClient`,
:class:`chain.deploy.EventDeployer`); this module only binds them to the bridge's node, keys and
senders.
"""

from __future__ import annotations

from functools import cached_property
from urllib.parse import urlsplit

from eth_typing import ChecksumAddress
from eth_utils.address import to_checksum_address
from web3 import Web3

from chain.deploy import EventDeployer
from chain.factory import TicketFactoryClient
from chain.keys import Signer, dev_signer, load_keystore, signer_from_key
from chain.rpc import connect
from chain.sender import TransactionSender
from chain.ticket_event import TicketEventClient
from fairgate.errors import ConfigError
from fairgate.settings import Settings

__all__ = ["BridgeAccounts"]


class BridgeAccounts:
    """The bridge's node connection, keys and senders; typed clients bound to them."""

    def __init__(
        self,
        w3: Web3,
        settings: Settings,
        *,
        operator: Signer | None = None,
        minter: Signer | None = None,
        custody: Signer | None = None,
    ) -> None:
        self.w3 = w3
        self.settings = settings
        self._operator = operator
        self._minter = minter
        self._custody = custody
        self._clients: dict[tuple[str, int], TicketEventClient] = {}

    @classmethod
    def from_settings(cls, settings: Settings) -> BridgeAccounts:
        return cls(
            connect(settings, timeout_s=60),
            settings,
            operator=_signer(settings, "operator_key", 0),
            minter=_signer(settings, "minter_key", 1),
            custody=_signer(settings, "custody_key", None),
        )

    def __repr__(self) -> str:
        # a node URL may carry an API key in its path or query: show only where it points
        url = urlsplit(self.settings.rpc_url)
        port = f":{url.port}" if url.port else ""
        return f"BridgeAccounts({url.scheme}://{url.hostname}{port})"

    # -- accounts -------------------------------------------------------------------------------

    @property
    def minter(self) -> Signer:
        if self._minter is None:
            raise ConfigError("FAIRGATE_MINTER_KEY is not set")
        return self._minter

    @property
    def custody(self) -> Signer:
        return self._custody or self.minter

    @property
    def operator(self) -> Signer:
        if self._operator is None:
            raise ConfigError("FAIRGATE_OPERATOR_KEY is not set")
        return self._operator

    @cached_property
    def minter_sender(self) -> TransactionSender:
        return TransactionSender(
            self.w3,
            self.minter,
            settings=self.settings,
            replace_after_s=self.settings.mint_replace_after_s,
        )

    @cached_property
    def custody_sender(self) -> TransactionSender:
        return TransactionSender(
            self.w3,
            self.custody,
            settings=self.settings,
            replace_after_s=self.settings.mint_replace_after_s,
        )

    @cached_property
    def operator_sender(self) -> TransactionSender:
        return TransactionSender(self.w3, self.operator, settings=self.settings)

    def minter_accounts(self) -> list[ChecksumAddress]:
        extra = [a.strip() for a in self.settings.minter_addresses.split(",") if a.strip()]
        accounts = [self.minter.address, self.custody.address, *extra]
        return list(dict.fromkeys(to_checksum_address(a) for a in accounts))

    # -- contracts ------------------------------------------------------------------------------

    def factory(self) -> TicketFactoryClient:
        """The platform's factory, writing as the operator."""
        return self.deployer.factory()

    def factory_at(self, address: str) -> TicketFactoryClient:
        """A factory by address, read-only (an event's own, whatever the settings name now)."""
        return TicketFactoryClient(self.w3, address)

    @cached_property
    def deployer(self) -> EventDeployer:
        """Deploys events as the operator, granting the minter role to :meth:`minter_accounts`."""
        return EventDeployer(
            self.operator_sender, self.settings.factory_address, self.minter_accounts()
        )

    def event(self, address: str, sender: TransactionSender | None = None) -> TicketEventClient:
        """One event's contract, read-only or writing as ``sender`` (clients are kept)."""
        key = (address.lower(), id(sender))
        client = self._clients.get(key)
        if client is None:
            client = TicketEventClient(self.w3, address, sender)
            self._clients[key] = client
        return client


def _signer(settings: Settings, field: str, dev_index: int | None) -> Signer | None:
    """A key from the environment (``FAIRGATE_<ROLE>_KEY``) or a keystore file
    (``FAIRGATE_<ROLE>_KEYSTORE``), or, on a development chain outside prod only, a development
    account (:attr:`fairgate.settings.Settings.dev_accounts_allowed`)."""
    value = getattr(settings, field)
    if value is not None:
        env = f"FAIRGATE_{field.upper()}"
        return signer_from_key(value, f"env:{env}", env)
    keystore = getattr(settings, field.replace("_key", "_keystore"), None)
    if keystore is not None:
        if settings.keystore_password is None:
            raise ConfigError(f"{keystore} needs its password in FAIRGATE_KEYSTORE_PASSWORD")
        return load_keystore(keystore, settings.keystore_password)
    if dev_index is not None and settings.dev_accounts_allowed:
        return dev_signer(dev_index, mnemonic=settings.ganache_mnemonic, env=settings.env)
    return None
