"""EventReader on a real Ganache: chunks, resume from a cursor, confirmations, reorgs."""

from __future__ import annotations

import json
from typing import Any

import pytest
from chain_helpers import rpc
from web3 import Web3

from chain.events import Cursor, EventReader
from chain.keys import dev_signer
from chain.sender import TransactionSender
from fairgate.settings import Settings

pytestmark = pytest.mark.ganache


def _ping(sender: TransactionSender, reverter: Any, seq: int, note: str = "n") -> None:
    sender.send_and_wait(
        {"to": reverter.address, "data": reverter.encode_abi("ping", [seq, note])}, gas=80_000
    )


@pytest.fixture(scope="module")
def sender(node_w3: Web3, chain_settings: Settings) -> TransactionSender:
    return TransactionSender(node_w3, dev_signer(0), settings=chain_settings)


@pytest.fixture(scope="module")
def emitted(node_w3: Web3, sender: TransactionSender, reverter: Any) -> dict[str, int]:
    """23 Ping (one block each), then pingMany(4): 4 Ping + 1 Bumped in one block."""
    first = node_w3.eth.block_number + 1
    for i in range(23):
        _ping(sender, reverter, i)
    sender.send_and_wait(
        {"to": reverter.address, "data": reverter.encode_abi("pingMany", [4])}, gas=200_000
    )
    return {"first": first, "last": node_w3.eth.block_number}


def _reader(w3: Web3, reverter: Any, start: int, **kw: Any) -> EventReader:
    kw.setdefault("confirmations", 0)
    return EventReader(w3, reverter.abi, reverter.address, start_block=start, **kw)


def test_reads_every_event_in_chain_order_across_chunks(
    node_w3: Web3, reverter: Any, emitted: dict[str, int]
) -> None:
    reader = _reader(node_w3, reverter, emitted["first"], chunk_size=5)
    batches = list(reader.batches(None))
    assert len(batches) == -(-(emitted["last"] - emitted["first"] + 1) // 5)  # ceil
    assert all(b.to_block - b.from_block < 5 for b in batches)
    events = [e for b in batches for e in b.events]
    assert [e["event"] for e in events] == ["Ping"] * 27 + ["Bumped"]
    assert [e["args"]["seq"] for e in events[:23]] == list(range(23))
    assert [e["args"]["seq"] for e in events[23:27]] == [0, 1, 2, 3]
    assert events[-1]["args"] == {"value": 4}
    order = [(e["block_number"], e["log_index"]) for e in events]
    assert order == sorted(order) and len(set(order)) == len(order)
    first = events[0]
    assert set(first) == {
        "event", "args", "block_number", "block_hash", "tx_hash", "log_index", "address",
    }  # fmt: skip
    assert first["address"] == reverter.address
    assert first["args"]["sender"] == dev_signer(0).address and first["args"]["note"] == "n"
    receipt = node_w3.eth.get_transaction_receipt(first["tx_hash"])
    assert receipt["blockNumber"] == first["block_number"]
    json.dumps(events)  # plain data
    assert batches[-1].cursor == Cursor(emitted["last"], batches[-1].cursor.block_hash)  # type: ignore[union-attr]
    assert reader.next_batch(batches[-1].cursor) is None  # caught up


def test_resumes_from_a_persisted_cursor(
    node_w3: Web3, reverter: Any, emitted: dict[str, int]
) -> None:
    everything, _ = _reader(node_w3, reverter, emitted["first"], chunk_size=1000).read_all()
    reader = _reader(node_w3, reverter, emitted["first"], chunk_size=4)
    seen = []
    cursor = None
    for batch in reader.batches(None):  # a first process reads two chunks, then stops
        seen.extend(batch.events)
        cursor = batch.cursor
        if len(seen) >= 5:
            break
    stored = json.dumps(cursor.to_json())  # type: ignore[union-attr]
    restarted = _reader(node_w3, reverter, emitted["first"], chunk_size=7)
    rest, _ = restarted.read_all(Cursor.from_json(json.loads(stored)))
    assert seen + rest == everything


def test_event_name_filter_and_unknown_names(
    node_w3: Web3, reverter: Any, emitted: dict[str, int]
) -> None:
    events, _ = _reader(node_w3, reverter, emitted["first"], event_names=["Bumped"]).read_all()
    assert [e["event"] for e in events] == ["Bumped"]
    with pytest.raises(ValueError, match="Nope"):
        _reader(node_w3, reverter, 0, event_names=["Nope"])


def test_confirmations_hold_back_recent_blocks(
    node_w3: Web3, sender: TransactionSender, reverter: Any, emitted: dict[str, int]
) -> None:
    reader = _reader(node_w3, reverter, emitted["first"], confirmations=3)
    _, cursor = reader.read_all()
    assert cursor is not None and cursor.block_number == node_w3.eth.block_number - 3
    _ping(sender, reverter, 100)
    held_back, cursor = reader.read_all(cursor)
    assert 100 not in [e["args"].get("seq") for e in held_back]  # mined, not 3 blocks deep
    for _ in range(3):
        rpc(node_w3, "evm_mine")
    batch = reader.next_batch(cursor)
    assert batch is not None and batch.events[-1]["args"].get("seq") == 100
    assert batch.cursor.block_number == node_w3.eth.block_number - 3  # type: ignore[union-attr]


def test_reorg_is_detected_and_rewound(
    node_w3: Web3, sender: TransactionSender, reverter: Any, emitted: dict[str, int]
) -> None:
    w3 = node_w3
    reader = _reader(w3, reverter, emitted["first"], chunk_size=50, reorg_depth=4)
    indexed, cursor = reader.read_all()
    fork_point = w3.eth.block_number
    snapshot = rpc(w3, "evm_snapshot")
    for i in range(3):
        _ping(sender, reverter, 200 + i, "old")
    indexed_old, cursor = reader.read_all(cursor)
    assert [e["args"]["note"] for e in indexed_old] == ["old"] * 3
    indexed += indexed_old

    # the old branch disappears; a longer new branch with other events replaces it
    assert rpc(w3, "evm_revert", snapshot) is True
    from chain.sender import NonceManager

    NonceManager.reset(sender.chain, sender.address)  # the reverted chain forgot our nonces
    for i in range(5):
        _ping(sender, reverter, 300 + i, "new")
    assert (
        cursor is not None
        and w3.eth.get_block(cursor.block_number)["hash"].hex() != cursor.block_hash
    )

    rewind = reader.next_batch(cursor)
    assert rewind is not None and rewind.rewound_to == cursor.block_number - 4
    assert rewind.events == [] and rewind.cursor is not None
    assert rewind.rewound_to <= fork_point
    # the caller drops what it derived above rewound_to, then reads on
    indexed = [e for e in indexed if e["block_number"] <= rewind.rewound_to]
    more, _ = reader.read_all(rewind.cursor)
    indexed += more
    fresh, _ = _reader(w3, reverter, emitted["first"], chunk_size=1000).read_all()
    assert indexed == fresh
    assert [e["args"]["note"] for e in fresh[-5:]] == ["new"] * 5
    assert "old" not in {e["args"].get("note") for e in fresh}


def test_rewind_before_the_start_block_starts_over(
    node_w3: Web3, reverter: Any, emitted: dict[str, int]
) -> None:
    reader = _reader(node_w3, reverter, emitted["last"] - 1, reorg_depth=10)
    forged = Cursor(emitted["last"], "0x" + "00" * 32)
    batch = reader.next_batch(forged)
    assert batch is not None and batch.cursor is None and batch.rewound_to == emitted["last"] - 2
