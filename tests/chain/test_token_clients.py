"""The typed clients with an event that settles in the test stablecoin: the one road the CLI, the
demo and the benchmarks take (chain.ticket_event pays through an allowance, or signs an EIP-2612
permit that travels in the same transaction), the currency read back with its decimals, and the
development stablecoin's deployment record."""

from __future__ import annotations

import secrets

import pytest
from eth_account.signers.local import LocalAccount
from web3 import Web3

from chain.deploy import TEST_STABLECOIN, ensure_test_stablecoin, load_deployment
from chain.devchain import latest_timestamp
from chain.erc20 import Erc20Client
from chain.ganache import GanacheRunner
from chain.ganache import dev_accounts as derive_dev_accounts
from chain.keys import Signer
from chain.sender import TransactionSender
from chain.ticket_event import TicketEventClient
from chain.types import FIELD_MODULUS, EventParams, Tier
from fairgate.errors import ConfigError
from fairgate.settings import Settings

USD = 10**6


def _c() -> int:
    return secrets.randbelow(FIELD_MODULUS - 1) + 1


@pytest.fixture(scope="module")
def senders(node_w3: Web3, chain_node: GanacheRunner) -> list[TransactionSender]:
    accounts: list[LocalAccount] = derive_dev_accounts(chain_node.accounts)
    return [
        TransactionSender(node_w3, Signer.from_account(a, f"dev{i}"))
        for i, a in enumerate(accounts[:5])
    ]


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory, chain_node: GanacheRunner) -> Settings:
    return Settings(home=tmp_path_factory.mktemp("home"), rpc_url=chain_node.url)


@pytest.fixture(scope="module")
def coin(senders: list[TransactionSender], settings: Settings, node_w3: Web3) -> Erc20Client:
    address = ensure_test_stablecoin(senders[0], settings)
    return Erc20Client(node_w3, address, senders[0])


@pytest.fixture(scope="module")
def event(
    coin: Erc20Client, senders: list[TransactionSender], settings: Settings, node_w3: Web3
) -> TicketEventClient:
    deployment = load_deployment(node_w3, settings)
    assert deployment is not None
    now = latest_timestamp(node_w3)
    tier = Tier(50 * USD, 100, 11_000, 500, now, now + 86_400)
    client, _ = deployment.factory_client(node_w3, senders[1]).create_event(
        EventParams(
            name="Token test",
            symbol="TT",
            organizer=senders[1].address,
            starts_at=now + 2 * 86_400,
            ends_at=now + 3 * 86_400,
            tiers=(tier,),
            currency=coin.address,
        )
    )
    for sender in senders[2:]:
        coin.mint(sender.address, 1_000 * USD)
    return client


def _as(event: TicketEventClient, sender: TransactionSender) -> TicketEventClient:
    other = event.with_sender(sender)
    assert isinstance(other, TicketEventClient)
    return other


def test_the_stablecoin_is_recorded_once_and_refused_in_prod(
    coin: Erc20Client, senders: list[TransactionSender], settings: Settings, node_w3: Web3
) -> None:
    assert ensure_test_stablecoin(senders[0], settings) == coin.address
    deployment = load_deployment(node_w3, settings)
    assert deployment is not None and deployment.stablecoin == coin.address
    currency = coin.currency()
    assert (currency.symbol, currency.decimals) == TEST_STABLECOIN[1:]
    with pytest.raises(ConfigError, match="development chains only"):
        ensure_test_stablecoin(senders[0], settings.model_copy(update={"env": "prod"}))


def test_the_event_reads_back_its_currency(event: TicketEventClient, coin: Erc20Client) -> None:
    currency = event.currency()
    assert currency.address == coin.address and currency.format(55 * USD) == "55 FUSD"
    assert event.token() is not None


def test_a_fan_buys_in_one_transaction_with_a_permit(
    event: TicketEventClient, coin: Erc20Client, senders: list[TransactionSender]
) -> None:
    fan = _as(event, senders[2])
    assert coin.allowance(senders[2].address, event.address) == 0
    before = coin.balance_of(senders[2].address)
    result = fan.purchase(0, [_c(), _c()])  # no approval: the client signs a permit
    assert [r.holder for r in TicketEventClient.issued_runs(result)] == [senders[2].address]
    assert coin.balance_of(senders[2].address) == before - 100 * USD
    assert coin.allowance(senders[2].address, event.address) == 0
    assert event.escrow_balance() == coin.balance_of(event.address) == 100 * USD


def test_an_existing_allowance_is_used_without_a_permit(
    event: TicketEventClient, coin: Erc20Client, senders: list[TransactionSender], node_w3: Web3
) -> None:
    Erc20Client(node_w3, coin.address, senders[3]).approve(event.address, 50 * USD)
    result = _as(event, senders[3]).purchase(0, [_c()])
    assert not [e for e in result.events if e.name == "Approval"]  # no permit went with it
    assert coin.allowance(senders[3].address, event.address) == 0


def test_resale_signed_order_and_refund_in_the_token(
    event: TicketEventClient, coin: Erc20Client, senders: list[TransactionSender], node_w3: Web3
) -> None:
    seller, buyer, other = (_as(event, s) for s in senders[2:5])
    (first, second) = TicketEventClient.issued_runs(seller.purchase(0, [_c(), _c()]))[0].token_ids
    cap = event.resale_cap(0)
    seller.list(first, cap)
    before = coin.balance_of(senders[2].address)
    sold = buyer.buy(first, _c())
    assert sold.first("Resold").args["price"] == cap
    royalty = cap * 500 // 10_000
    assert coin.balance_of(senders[2].address) == before + cap - royalty
    assert event.royalty_balance() == royalty
    assert seller.signer_address() if False else True
    deadline = latest_timestamp(node_w3) + 3600
    signed = seller.sign_order(senders[2].signer, second, cap, deadline=deadline)
    other.buy_with_order(signed, _c())
    assert event.owner_of(second) == senders[4].address
    _as(event, senders[1]).cancel()
    refunded = other.claim_refund([second])
    assert refunded.first("RefundClaimed").args["amount"] == 50 * USD
