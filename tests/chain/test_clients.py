"""The typed contract clients and the deployment record.

These tests move the chain's clock (resale windows), so they use the module-scoped chain of
tests/chain/conftest.py rather than the session's shared one.
"""

from __future__ import annotations

import json
import secrets
from pathlib import Path

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from web3 import Web3

from chain.deploy import deploy_platform, ensure_platform, load_deployment
from chain.devchain import increase_time, latest_timestamp
from chain.errors import error_class
from chain.factory import TicketFactoryClient
from chain.ganache import GanacheRunner
from chain.ganache import dev_accounts as derive_dev_accounts
from chain.keys import Signer
from chain.sender import TransactionSender
from chain.ticket_event import TicketEventClient
from chain.types import FIELD_MODULUS, EventParams, MintRun, Tier, commitment_bytes
from fairgate.errors import ConfigError, ContractRevert
from fairgate.settings import Settings

ETH = 10**18


def _c() -> int:
    return secrets.randbelow(FIELD_MODULUS - 1) + 1


@pytest.fixture(scope="module")
def w3(node_w3: Web3) -> Web3:
    return node_w3


@pytest.fixture(scope="module")
def dev_accounts(chain_node: GanacheRunner) -> list[LocalAccount]:
    return derive_dev_accounts(chain_node.accounts)


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory, chain_node: GanacheRunner) -> Settings:
    return Settings(home=tmp_path_factory.mktemp("home"), rpc_url=chain_node.url)


@pytest.fixture(scope="module")
def senders(w3: Web3, dev_accounts: list[LocalAccount]) -> list[TransactionSender]:
    return [
        TransactionSender(w3, Signer.from_account(a, f"dev{i}"))
        for i, a in enumerate(dev_accounts[:6])
    ]


@pytest.fixture(scope="module")
def factory(senders: list[TransactionSender], settings: Settings, w3: Web3) -> TicketFactoryClient:
    return deploy_platform(senders[0], settings).factory_client(w3, senders[1])


@pytest.fixture()
def event(
    factory: TicketFactoryClient, senders: list[TransactionSender], w3: Web3
) -> TicketEventClient:
    now = latest_timestamp(w3)
    tier = Tier(ETH // 10, 50, 12_000, 1_000, now, now + 86_400)
    client, _ = factory.create_event(
        EventParams(
            name="Client test",
            symbol="CT",
            organizer=senders[1].address,
            starts_at=now + 2 * 86_400,
            ends_at=now + 3 * 86_400,
            tiers=(tier,),
            minter=senders[2].address,
            base_uri="ipfs://bafytest/",
        )
    )
    return client


def _as(event: TicketEventClient, sender: TransactionSender) -> TicketEventClient:
    other = event.with_sender(sender)
    assert isinstance(other, TicketEventClient)
    return other


def test_deployment_is_recorded_and_reused(
    senders: list[TransactionSender], settings: Settings, w3: Web3
) -> None:
    first = deploy_platform(senders[0], settings)
    record = json.loads((settings.home / "deployments" / "1337.json").read_text())
    assert record["factory"] == first.factory
    assert load_deployment(w3, settings) == first
    assert ensure_platform(senders[0], settings) == first
    assert TicketFactoryClient(w3, first.factory).implementation() == first.implementation


def test_stale_deployment_record_is_ignored(w3: Web3, settings: Settings, tmp_path: Path) -> None:
    stale = Settings(home=tmp_path, rpc_url=settings.rpc_url)
    (tmp_path / "deployments").mkdir()
    (tmp_path / "deployments" / "1337.json").write_text(
        json.dumps(
            {
                "chain_id": 1337,
                "factory": Account.create().address,
                "implementation": Account.create().address,
                "block_number": 1,
            }
        )
    )
    assert load_deployment(w3, stale) is None
    (tmp_path / "deployments" / "1337.json").write_text("not json")
    assert load_deployment(w3, stale) is None


def test_create_event_reads_back_its_configuration(
    event: TicketEventClient, senders: list[TransactionSender]
) -> None:
    assert event.organizer() == senders[1].address
    assert event.name() == "Client test"
    assert event.tier_count() == 1
    tier = event.tier(0)
    assert (tier.face_value, tier.supply, tier.minted) == (ETH // 10, 50, 0)
    assert event.resale_cap(0) == tier.resale_cap == ETH * 12 // 100
    assert event.roles_of(senders[2].address) == 1


def test_mint_batch_reports_issued_runs_and_skips_fulfilled_orders(
    event: TicketEventClient, senders: list[TransactionSender]
) -> None:
    bridge = _as(event, senders[2])
    runs = [
        MintRun(senders[3].address, (_c(), _c()), (1).to_bytes(32, "big")),
        MintRun(senders[4].address, (_c(),), (2).to_bytes(32, "big")),
    ]
    result = bridge.mint_batch(0, runs)
    issued = TicketEventClient.issued_runs(result)
    assert [r.token_ids for r in issued] == [(0, 1), (2,)]
    assert [r.commitments for r in issued] == [runs[0].commitments, runs[1].commitments]
    assert event.order_fulfilled((1).to_bytes(32, "big"))
    again = bridge.mint_batch(0, runs)
    assert len(again.named("OrderAlreadyFulfilled")) == 2
    assert not again.named("TicketsIssued")
    assert event.next_token_id() == 3
    assert event.owner_of(1) == senders[3].address
    assert event.token_uri(2) == "ipfs://bafytest/0"  # one metadata file per tier


def test_reverts_arrive_as_contract_error_classes(
    event: TicketEventClient, senders: list[TransactionSender]
) -> None:
    fan = _as(event, senders[3])
    fan.purchase(0, [_c()])
    with pytest.raises(error_class("PriceAboveCap")) as refused:
        fan.list(0, ETH)
    assert refused.value.values["cap"] == event.resale_cap(0)
    assert isinstance(refused.value, ContractRevert)
    with pytest.raises(error_class("MissingRole")):
        fan.mint_batch(0, [MintRun(senders[3].address, (_c(),))])
    with pytest.raises(error_class("NonexistentTicket")):
        event.owner_of(999)


def test_signed_order_digest_matches_the_contract(
    event: TicketEventClient, senders: list[TransactionSender], dev_accounts: list[LocalAccount]
) -> None:
    seller = _as(event, senders[3])
    token = TicketEventClient.issued_runs(seller.purchase(0, [_c()]))[0].token_ids[0]
    signed = seller.sign_order(
        Signer.from_account(dev_accounts[3]),
        token,
        ETH // 10,
        deadline=latest_timestamp(event.w3) + 600,
    )
    digest = event.call("orderDigest", signed.order.as_abi())
    assert Account._recover_hash(digest, signature=signed.signature) == senders[3].address
    buyer = _as(event, senders[5])
    result = buyer.buy_with_order(signed, _c())
    assert result.first("Resold").args["price"] == ETH // 10
    assert event.owner_of(token) == senders[5].address
    with pytest.raises(error_class("InvalidOrder")):  # the ticket moved: the order is dead
        _as(event, senders[4]).buy_with_order(signed, _c())


def test_listing_view_and_time_travel_close_the_window(
    event: TicketEventClient, senders: list[TransactionSender], w3: Web3
) -> None:
    fan = _as(event, senders[4])
    token = TicketEventClient.issued_runs(fan.purchase(0, [_c()]))[0].token_ids[0]
    fan.gift(token, senders[5].address)
    listing = event.listing(token)
    assert listing is not None and listing.is_gift and listing.reserved_for == senders[5].address
    fan.cancel_listing(token)
    assert event.listing(token) is None
    increase_time(w3, 86_400 + 10)
    assert event.locked(token)
    with pytest.raises(error_class("ResaleClosed")):
        fan.list(token, 1)


def test_read_only_client_refuses_to_send(event: TicketEventClient, w3: Web3) -> None:
    reader = TicketEventClient(w3, event.address)
    with pytest.raises(ConfigError):
        reader.cancel()


@pytest.mark.parametrize("bad", [0, FIELD_MODULUS, FIELD_MODULUS + 1, 2**256 - 1])
def test_commitments_outside_the_field_are_refused_before_sending(bad: int) -> None:
    with pytest.raises(ValueError):
        commitment_bytes(bad)


def test_event_index_past_the_last_is_a_named_error(factory: TicketFactoryClient) -> None:
    count = factory.event_count()
    with pytest.raises(error_class("NoEventAt")) as raised:
        factory.event_at(count)
    assert raised.value.values == {"index": count, "count": count}
