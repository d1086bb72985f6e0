"""The worker's fast paths give exactly what the general ones do: ``encode_mint_batch`` the bytes
of web3's ABI encoder, ``fetch_receipt`` the receipt of ``w3.eth.get_transaction_receipt``,
``issued_from_logs`` web3's TicketsIssued events, ``checksum_address`` EIP-55's checksum."""

from __future__ import annotations

import secrets

import pytest
from eth_account import Account
from web3 import Web3
from web3.exceptions import TransactionNotFound

from chain.compiler import load_artifact
from chain.deploy import deploy_platform
from chain.devchain import latest_timestamp
from chain.ganache import GanacheRunner
from chain.ganache import dev_accounts as derive_dev_accounts
from chain.keys import Signer
from chain.receipts import fetch_receipt
from chain.sender import TransactionSender
from chain.ticket_event import TICKETS_ISSUED, TicketEventClient, issued_from_logs
from chain.types import FIELD_MODULUS, EventParams, MintRun, Tier, encode_mint_batch
from fairgate.settings import Settings


def _c() -> int:
    return secrets.randbelow(FIELD_MODULUS - 1) + 1


def _runs(shape: list[int]) -> list[MintRun]:
    return [
        MintRun(Account.create().address, tuple(_c() for _ in range(n)), secrets.token_bytes(32))
        for n in shape
    ]


@pytest.fixture(scope="module")
def minted(chain_node: GanacheRunner, node_w3: Web3, tmp_path_factory) -> tuple[Web3, list[str]]:
    """A platform, an event and two mint batches: their transaction hashes (with the deploys')."""
    settings = Settings(home=tmp_path_factory.mktemp("home"), rpc_url=chain_node.url)
    accounts = derive_dev_accounts(chain_node.accounts)
    platform, organizer, minter = (
        TransactionSender(node_w3, Signer.from_account(a, f"dev{i}"))
        for i, a in enumerate(accounts[:3])
    )
    factory = deploy_platform(platform, settings).factory_client(node_w3, organizer)
    now = latest_timestamp(node_w3)
    event, created = factory.create_event(
        EventParams(
            name="Fast paths",
            symbol="FP",
            organizer=organizer.address,
            starts_at=now + 2 * 86_400,
            ends_at=now + 3 * 86_400,
            tiers=(Tier(10**15, 100, 11_000, 500, now, now + 86_400),),
            minter=minter.address,
        )
    )
    mint = event.with_sender(minter)
    assert isinstance(mint, TicketEventClient)
    hashes = [created.tx_hash]
    for shape in ([1, 3, 2], [5]):
        hashes.append(mint.mint_batch(0, _runs(shape)).tx_hash)
    return node_w3, hashes


@pytest.mark.parametrize("shape", [[], [1], [3, 1, 2], [7] * 20])
def test_mint_batch_calldata_is_web3s(shape: list[int]) -> None:
    contract = Web3().eth.contract(abi=load_artifact("TicketEvent").abi)
    runs = _runs(shape)
    expected = contract.encode_abi("mintBatch", [4, [r.as_abi() for r in runs]])
    assert "0x" + encode_mint_batch(4, runs).hex() == expected


def test_mint_batch_calldata_refuses_what_web3_would() -> None:
    holder = Account.create().address
    with pytest.raises(ValueError):
        encode_mint_batch(0, [MintRun(holder, (FIELD_MODULUS,), bytes(32))])
    with pytest.raises(ValueError):
        encode_mint_batch(0, [MintRun(holder, (0,), bytes(32))])
    with pytest.raises(ValueError):
        encode_mint_batch(0, [MintRun(holder, (1,), bytes(31))])
    with pytest.raises(ValueError):
        encode_mint_batch(0, [MintRun("0x1234", (1,), bytes(32))])


def test_receipts_are_web3s(minted: tuple[Web3, list[str]]) -> None:
    w3, hashes = minted
    for tx_hash in hashes:  # a contract creation, batches with many logs
        ours = fetch_receipt(w3, tx_hash)
        theirs = w3.eth.get_transaction_receipt(tx_hash)
        assert dict(ours) == dict(theirs)
        assert [dict(log) for log in ours["logs"]] == [dict(log) for log in theirs["logs"]]
        assert {k: type(v) for k, v in ours.items()} == {k: type(v) for k, v in theirs.items()}
    assert len(fetch_receipt(w3, hashes[-2])["logs"]) == 6 + 3


def test_a_receipt_can_keep_one_event_only(minted: tuple[Web3, list[str]]) -> None:
    """The minting worker reads only TicketsIssued from its receipts: the same logs, the same
    decoded tickets, nothing else."""
    w3, hashes = minted
    full = fetch_receipt(w3, hashes[-2])
    issued = fetch_receipt(w3, hashes[-2], frozenset({"0x" + TICKETS_ISSUED.hex()}))
    wanted = [log for log in full["logs"] if bytes(log["topics"][0]) == TICKETS_ISSUED]
    assert len(wanted) == 3 < len(full["logs"])
    assert [dict(log) for log in issued["logs"]] == [dict(log) for log in wanted]
    assert {k: v for k, v in issued.items() if k != "logs"} == {
        k: v for k, v in full.items() if k != "logs"
    }
    address = full["logs"][0]["address"]
    assert issued_from_logs(address, issued["logs"]) == issued_from_logs(address, full["logs"])


def test_unknown_transaction_is_not_found(minted: tuple[Web3, list[str]]) -> None:
    w3, _ = minted
    with pytest.raises(TransactionNotFound):
        fetch_receipt(w3, "0x" + "ab" * 32)


def test_tickets_issued_decoding_is_web3s(minted: tuple[Web3, list[str]]) -> None:
    from chain.compiler import load_artifact as artifact

    w3, hashes = minted
    batch = fetch_receipt(w3, hashes[-2])
    address = batch["logs"][0]["address"]
    contract = w3.eth.contract(address=address, abi=artifact("TicketEvent").abi)
    theirs = contract.events.TicketsIssued().process_receipt(batch)
    ours = issued_from_logs(address, batch["logs"])
    assert len(ours) == len(theirs) == 3
    for mine, web3s in zip(ours, theirs, strict=True):
        args = web3s["args"]
        assert mine.holder == args["holder"]
        assert mine.first_token_id == args["firstTokenId"]
        assert mine.commitments == tuple("0x" + bytes(c).hex() for c in args["commitments"])
        assert mine.order_ref == "0x" + bytes(args["orderRef"]).hex()
    assert issued_from_logs("0x" + "00" * 20, batch["logs"]) == []


def test_checksum_address_is_eip55() -> None:
    from eth_utils.address import to_checksum_address

    from chain.receipts import checksum_address

    for _ in range(50):
        address = "0x" + secrets.token_hex(20)
        for form in (address, "0x" + address[2:].upper(), to_checksum_address(address)):
            assert checksum_address(form) == to_checksum_address(address)
