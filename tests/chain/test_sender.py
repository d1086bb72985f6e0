"""TransactionSender on a real Ganache: concurrent nonces, recovery, replacement, reverts, fees."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from chain_helpers import FIXTURES, node_is, rpc, start_node
from web3 import Web3

from chain.errors import Panic, RevertReason, UnknownRevert, error_class, register_abi
from chain.keys import dev_signer
from chain.nodes import dev_node
from chain.sender import (
    Fees,
    NonceConflict,
    NonceManager,
    SendRefused,
    TransactionSender,
    TransactionTimeout,
    suggest_fees,
)
from fairgate.errors import ChainError
from fairgate.settings import Settings

pytestmark = pytest.mark.ganache

TRANSFER_GAS = 21_000


def _transfer(to: str, value: int = 1) -> dict[str, Any]:
    return {"to": to, "value": value}


def test_eight_threads_share_one_account_without_gaps_or_duplicates(
    node_w3: Web3, chain_settings: Settings
) -> None:
    w3 = node_w3
    signer = dev_signer(0)
    # two sender objects for the same account: they must share the process-wide nonce state
    senders = [TransactionSender(w3, signer, settings=chain_settings) for _ in range(2)]
    start = w3.eth.get_transaction_count(signer.address)
    target = dev_signer(1).address

    def work(i: int) -> list[str]:
        sender = senders[i % 2]
        handles = [sender.send(_transfer(target), gas=TRANSFER_GAS) for _ in range(25)]
        return ["0x" + bytes(sender.wait(h)["transactionHash"]).hex() for h in handles]

    with ThreadPoolExecutor(8) as pool:
        hashes = [h for result in pool.map(work, range(8)) for h in result]

    assert len(hashes) == len(set(hashes)) == 200
    nonces = sorted(int(w3.eth.get_transaction(h)["nonce"]) for h in hashes)
    assert nonces == list(range(start, start + 200))  # contiguous, no duplicate
    assert w3.eth.get_transaction_count(signer.address) == start + 200
    assert all(w3.eth.get_transaction_receipt(h)["status"] == 1 for h in hashes)


def test_estimated_gas_has_a_margin(node_w3: Web3, chain_settings: Settings, reverter: Any) -> None:
    w3 = node_w3
    sender = TransactionSender(w3, dev_signer(2), settings=chain_settings, gas_margin=1.5)
    data = reverter.encode_abi("ping", [1, "hello"])
    estimate = w3.eth.estimate_gas({"from": sender.address, "to": reverter.address, "data": data})
    handle = sender.send({"to": reverter.address, "data": data})
    assert handle.tx["gas"] == int(estimate * 1.5 + 0.999)
    receipt = sender.wait(handle)
    assert receipt["status"] == 1 and receipt["gasUsed"] <= estimate


def test_recovers_after_an_external_sender_used_the_account(
    node_w3: Web3, chain_settings: Settings
) -> None:
    w3 = node_w3
    signer = dev_signer(3)
    sender = TransactionSender(w3, signer, settings=chain_settings)
    target = dev_signer(1).address
    for _ in range(3):
        sender.send_and_wait(_transfer(target), gas=TRANSFER_GAS)
    # a wallet outside this process sends two transactions from the same key
    for _ in range(2):
        nonce = w3.eth.get_transaction_count(signer.address)
        raw = signer.sign_transaction(
            {
                "to": target,
                "value": 2,
                "gas": 21_000,
                "nonce": nonce,
                "chainId": 1337,
                "maxFeePerGas": 10 * 10**9,
                "maxPriorityFeePerGas": 10**9,
            }
        ).raw_transaction
        w3.eth.wait_for_transaction_receipt(w3.eth.send_raw_transaction(raw))
    start_external = w3.eth.get_transaction_count(signer.address)
    handle = sender.send(_transfer(target), gas=TRANSFER_GAS)  # stale local nonce: resynced
    assert handle.nonce == start_external
    assert sender.wait(handle)["status"] == 1
    handle = sender.send(_transfer(target), gas=TRANSFER_GAS)
    assert handle.nonce == start_external + 1
    sender.wait(handle)


@pytest.mark.skipif(
    node_is("anvil"),
    reason="Anvil refuses a max fee below the base fee at once, so nothing gets stuck this way; "
    "a dropped transaction is re-sent on Anvil in tests/api/test_anvil_reorgs.py",
)
def test_stuck_transaction_is_replaced_with_bumped_fees(chain_settings: Settings) -> None:
    """A transaction whose max fee is below the base fee is never mined; after
    ``replace_after_s`` the sender re-signs it at the same nonce with fees raised >= 12.5 % and
    at least the current suggestion, and that one is mined.

    Ganache 7.9.2 in interval mining (``--miner.blockTime``) takes such a transaction and then
    silently drops it (a real node keeps it pending): both are "stuck" from the sender's view.
    (With ``miner_stop`` replacement works too, from nonce 1: see the next test.)
    """
    node = start_node(block_time_s=1)
    try:
        w3 = Web3(Web3.HTTPProvider(node.url))
        signer = dev_signer(4)
        sender = TransactionSender(w3, signer, settings=chain_settings, replace_after_s=1.5)
        base = w3.eth.get_block("latest")["baseFeePerGas"]
        too_low = Fees(max_fee_per_gas=base // 2, max_priority_fee_per_gas=base // 4)
        handle = sender.send(_transfer(dev_signer(1).address), gas=TRANSFER_GAS, fees=too_low)
        receipt = sender.wait(handle, timeout=20)
        assert receipt["status"] == 1
        assert handle.replacements >= 1 and len(set(handle.hashes)) == len(handle.hashes)
        mined = "0x" + bytes(receipt["transactionHash"]).hex()
        assert mined in handle.hashes[1:]  # a replacement was mined, not the original
        tx = w3.eth.get_transaction(mined)
        assert tx["nonce"] == handle.nonce
        assert tx["maxFeePerGas"] * 8 >= too_low.max_fee_per_gas * 9  # >= +12.5 %
        assert tx["maxPriorityFeePerGas"] * 8 >= too_low.max_priority_fee_per_gas * 9
        assert w3.eth.get_transaction_count(signer.address) == handle.nonce + 1  # only one
    finally:
        node.stop()


@pytest.mark.skipif(node_is("anvil"), reason="Anvil's pool takes any higher fee as a replacement")
def test_replacement_with_too_small_a_bump_is_refused_by_the_node(
    node_w3: Web3, chain_settings: Settings
) -> None:
    w3 = node_w3
    sender = TransactionSender(w3, dev_signer(5), settings=chain_settings)
    # Ganache 7.9.2 cannot replace a nonce-0 transaction (its nonce 0 reads as null, so the
    # pool keeps both and mines both): start from nonce 1
    sender.send_and_wait(_transfer(dev_signer(1).address), gas=TRANSFER_GAS)
    dev_node(w3).set_automine(False)
    try:
        handle = sender.send(_transfer(dev_signer(1).address), gas=TRANSFER_GAS)
        f = handle.fees
        assert f.max_fee_per_gas and f.max_priority_fee_per_gas
        # Ganache's --miner.priceBump defaults to 10 % (geth's txpool.pricebump too); we use 12.5
        five_percent = Fees(f.max_fee_per_gas * 105 // 100, f.max_priority_fee_per_gas * 105 // 100)
        sender.replace(handle, fees=five_percent)
        assert handle.replacements == 0  # Ganache: "transaction underpriced"
        sender.replace(handle)
        assert handle.replacements == 1
    finally:
        dev_node(w3).set_automine(True)
    receipt = sender.wait(handle, timeout=10)
    assert "0x" + bytes(receipt["transactionHash"]).hex() == handle.hashes[-1]
    assert w3.eth.get_transaction_count(sender.address) == handle.nonce + 1


def test_wait_times_out_with_a_chain_error(node_w3: Web3, chain_settings: Settings) -> None:
    w3 = node_w3
    sender = TransactionSender(w3, dev_signer(6), settings=chain_settings)
    dev_node(w3).set_automine(False)
    try:
        handle = sender.send(_transfer(dev_signer(1).address), gas=TRANSFER_GAS)
        with pytest.raises(TransactionTimeout) as info:
            sender.wait(handle, timeout=0.5)
        assert isinstance(info.value, ChainError)
        assert handle.tx_hash in str(info.value)
    finally:
        dev_node(w3).set_automine(True)
    sender.wait(handle, timeout=10)


def test_confirmations_wait_for_later_blocks(node_w3: Web3, chain_settings: Settings) -> None:
    w3 = node_w3
    sender = TransactionSender(w3, dev_signer(6), settings=chain_settings)
    handle = sender.send(_transfer(dev_signer(1).address), gas=TRANSFER_GAS)
    with pytest.raises(TransactionTimeout):
        sender.wait(handle, confirmations=2, timeout=0.3)
    rpc(w3, "evm_mine")
    rpc(w3, "evm_mine")
    receipt = sender.wait(handle, confirmations=2, timeout=5)
    assert w3.eth.block_number - receipt["blockNumber"] >= 2


def test_reverts_are_raised_decoded(
    node_w3: Web3, chain_settings: Settings, reverter: Any, reverter_artifact: Any
) -> None:
    w3 = node_w3
    register_abi(reverter_artifact.abi)
    sender = TransactionSender(w3, dev_signer(7), settings=chain_settings)
    price_above_cap = error_class("PriceAboveCap")
    nonce_before = w3.eth.get_transaction_count(sender.address)

    # estimation reverts: raised before a nonce is used
    with pytest.raises(price_above_cap) as info:
        sender.send({"to": reverter.address, "data": reverter.encode_abi("setPrice", [5, 3])})
    assert (info.value.price, info.value.cap) == (5, 3)
    assert w3.eth.get_transaction_count(sender.address) == nonce_before

    # mined failures (fixed gas skips estimation): decoded by replaying the call
    handle = sender.send(
        {"to": reverter.address, "data": reverter.encode_abi("setPrice", [7, 2])}, gas=100_000
    )
    with pytest.raises(price_above_cap) as info:
        sender.wait(handle)
    assert info.value.tx_hash == handle.tx_hash and info.value.values == {"price": 7, "cap": 2}
    assert handle.tx_hash in str(info.value)

    cases = [
        ("requireString", [1], RevertReason),
        ("panicDiv", [0], Panic),
        ("bare", [], UnknownRevert),
    ]
    for fn, args, cls in cases:
        handle = sender.send(
            {"to": reverter.address, "data": reverter.encode_abi(fn, args)}, gas=100_000
        )
        with pytest.raises(cls):
            sender.wait(handle)
    # nonces stayed contiguous through all the failures
    assert w3.eth.get_transaction_count(sender.address) == nonce_before + 4


def test_out_of_gas_is_reported(node_w3: Web3, chain_settings: Settings, reverter: Any) -> None:
    w3 = node_w3
    sender = TransactionSender(w3, dev_signer(7), settings=chain_settings)
    handle = sender.send(
        {"to": reverter.address, "data": reverter.encode_abi("pingMany", [50])}, gas=30_000
    )
    with pytest.raises(UnknownRevert, match="out of gas"):
        sender.wait(handle)


def test_refusals_do_not_consume_a_nonce(node_w3: Web3, chain_settings: Settings) -> None:
    w3 = node_w3
    sender = TransactionSender(w3, dev_signer(8), settings=chain_settings)
    before = w3.eth.get_transaction_count(sender.address)
    with pytest.raises(SendRefused, match="intrinsic gas too low"):
        sender.send(_transfer(dev_signer(1).address), gas=20_000)
    with pytest.raises(SendRefused, match=r"(?i)insufficient funds"):
        sender.send(_transfer(dev_signer(1).address, value=10**30), gas=TRANSFER_GAS)
    handle = sender.send(_transfer(dev_signer(1).address), gas=TRANSFER_GAS)
    assert handle.nonce == before
    sender.wait(handle)


def test_fee_suggestion_is_eip1559_on_ganache(node_w3: Web3) -> None:
    w3 = node_w3
    fees = suggest_fees(w3)
    base = w3.eth.get_block("latest")["baseFeePerGas"]
    assert fees.eip1559 and fees.max_priority_fee_per_gas >= 10**9
    assert fees.max_fee_per_gas >= base + fees.max_priority_fee_per_gas
    bumped = fees.bumped()
    assert bumped.max_fee_per_gas * 8 >= fees.max_fee_per_gas * 9


def test_a_cached_tip_reads_only_the_next_base_fee(
    chain_node: Any, chain_settings: Settings
) -> None:
    """Between tip reads a fee refresh is one eth_feeHistory of one block without percentiles
    (the percentiles load every transaction of the blocks: 17 ms of Ganache per call after mint
    batches); the base fee in it is the node's, the tip the one read before."""
    w3 = Web3(Web3.HTTPProvider(chain_node.url, request_kwargs={"timeout": 30}))
    seen: list[tuple[str, Any]] = []
    provider: Any = w3.provider
    inner = provider.make_request

    def recording(method: Any, params: Any) -> Any:  # before web3 caches its request function
        seen.append((str(method), params))
        return inner(method, params)

    provider.make_request = recording
    sender = TransactionSender(w3, dev_signer(3), settings=chain_settings, fee_cache_s=0)
    first = sender.fees()
    sender.send_and_wait(_transfer(dev_signer(1).address), gas=TRANSFER_GAS)  # a new block
    seen.clear()
    second = sender.fees()
    assert [m for m, _ in seen] == ["eth_feeHistory"]
    blocks, newest, percentiles = seen[0][1]
    assert int(str(blocks), 0) == 1 and newest == "latest" and not percentiles
    next_base = int(inner("eth_feeHistory", [1, "latest", []])["result"]["baseFeePerGas"][-1], 16)
    assert second.max_priority_fee_per_gas == first.max_priority_fee_per_gas
    assert second.max_fee_per_gas == 2 * next_base + second.max_priority_fee_per_gas
    sender.tip_cache_s = 0  # the tip is old: read in full again (latest block, percentiles)
    seen.clear()
    sender.fees()
    assert "eth_getBlockByNumber" in [m for m, _ in seen]
    assert any(m == "eth_feeHistory" and list(p)[2] for m, p in seen)


def test_legacy_fees_on_a_node_without_base_fee(chain_settings: Settings) -> None:
    node = start_node(hardfork="berlin")
    try:
        w3 = Web3(Web3.HTTPProvider(node.url))
        assert not suggest_fees(w3).eip1559
        sender = TransactionSender(w3, dev_signer(0), settings=chain_settings)
        receipt = sender.send_and_wait(_transfer(dev_signer(1).address))
        assert w3.eth.get_transaction(receipt["transactionHash"])["type"] == 0
    finally:
        node.stop()


def test_unreachable_node_is_a_chain_error(chain_settings: Settings) -> None:
    w3 = Web3(Web3.HTTPProvider("http://127.0.0.1:9", request_kwargs={"timeout": 2}))
    with pytest.raises(ChainError, match="cannot reach the node"):
        TransactionSender(w3, dev_signer(0), settings=chain_settings)


def test_reset_forces_a_resync(node_w3: Web3, chain_settings: Settings) -> None:
    w3 = node_w3
    sender = TransactionSender(w3, dev_signer(8), settings=chain_settings)
    sender.send_and_wait(_transfer(dev_signer(1).address), gas=TRANSFER_GAS)
    NonceManager.account(sender.chain, sender.address).next_nonce = 10_000  # corrupt it
    NonceManager.reset(sender.chain, sender.address)
    expected = w3.eth.get_transaction_count(sender.address)
    handle = sender.send(_transfer(dev_signer(1).address), gas=TRANSFER_GAS)
    assert handle.nonce == expected
    sender.wait(handle)


def test_nonce_taken_by_another_transaction_is_a_conflict(
    node_w3: Web3, chain_settings: Settings
) -> None:
    w3 = node_w3
    signer = dev_signer(8)
    sender = TransactionSender(w3, signer, settings=chain_settings)
    sender.send_and_wait(_transfer(dev_signer(1).address), gas=TRANSFER_GAS)  # nonce >= 1
    dev_node(w3).set_automine(False)
    try:
        handle = sender.send(_transfer(dev_signer(1).address), gas=TRANSFER_GAS)
        # another wallet replaces it (same nonce, higher fees): our hash will never be mined
        other = signer.sign_transaction(
            {**handle.tx, **handle.fees.bumped().bumped().tx_fields(), "nonce": handle.nonce,
             "value": 99}
        )  # fmt: skip
        w3.eth.send_raw_transaction(other.raw_transaction)
    finally:
        dev_node(w3).set_automine(True)
    with pytest.raises(NonceConflict, match=f"nonce {handle.nonce}"):
        sender.wait(handle, timeout=10)


def test_node_failures_are_chain_errors(chain_settings: Settings) -> None:
    node = start_node()
    w3 = Web3(Web3.HTTPProvider(node.url, request_kwargs={"timeout": 2}))
    sender = TransactionSender(w3, dev_signer(0), settings=chain_settings)
    handle = sender.send(_transfer(dev_signer(1).address), gas=TRANSFER_GAS)
    node.stop()
    with pytest.raises(TransactionTimeout, match="last node error"):
        sender.wait(handle, timeout=1)
    fees = Fees(max_fee_per_gas=10**10, max_priority_fee_per_gas=10**9)
    with pytest.raises(ChainError, match="could not tell") as info:
        sender.send(_transfer(dev_signer(1).address), gas=TRANSFER_GAS, fees=fees)
    assert not isinstance(info.value, SendRefused)
    with pytest.raises(ChainError):
        sender.send(_transfer(dev_signer(1).address))  # estimation needs the node too


def test_failed_deployment_is_decoded(node_w3: Web3, chain_settings: Settings) -> None:

    from chain.compiler import compile_contracts

    artifact = compile_contracts(FIXTURES / "reverter")["BadDeploy"]
    register_abi(artifact.abi)
    no_deploy = error_class("NoDeploy")
    sender = TransactionSender(node_w3, dev_signer(7), settings=chain_settings)
    with pytest.raises(no_deploy) as info:  # found by the estimation
        sender.send({"data": artifact.bytecode})
    assert info.value.values == {"code": 7}
    handle = sender.send({"data": artifact.bytecode}, gas=300_000)  # mined, then replayed
    with pytest.raises(no_deploy) as info:
        sender.wait(handle)
    assert info.value.tx_hash == handle.tx_hash
