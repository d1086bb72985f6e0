"""The tree-changing log reader (chain.tree_logs) and the eth_abi event decoder (chain.logs).

One event gets mints, resales, a rotation and burns. The reader must ask the node for burns only
among transfers (not one ``Transfer`` per minted ticket), keep chain order across its queries
and chunk sizes, and rebuild the same tree as every log of the contract decoded by web3's
generic decoder. The decoder must give exactly web3's values for every log the contract emitted.
"""

from __future__ import annotations

from typing import Any

import pytest
from eth_utils.abi import event_abi_to_log_topic
from web3._utils.events import get_event_data

from chain.events import EventReader
from chain.logs import EventDecoder
from chain.tree_logs import BURNS_ONLY, TREE_EVENTS, read_tree_logs, tree_log_reader
from zk.identity import TicketSecret
from zk.tree_sync import tree_from_events

pytestmark = pytest.mark.ganache


@pytest.fixture(scope="module")
def history(new_world: Any) -> Any:
    world = new_world()
    first = world.mint("alice", 6)
    world.mint("bob", 3)
    world.resell(first[0], "alice", "carol")
    world.as_role("alice").rotate_commitment(first[1], TicketSecret.generate().commitment())
    world.as_role("bridge").revoke([first[2], first[3]])
    world.mint("dave", 2)
    world.publish()
    return world


def _all_logs(world: Any) -> list[Any]:
    w3 = world.platform.w3
    return list(w3.eth.get_logs({"address": world.address, "fromBlock": 0, "toBlock": "latest"}))


def _plain(value: Any) -> Any:
    if isinstance(value, bytes | bytearray):
        return bytes(value)
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def test_the_decoder_gives_web3s_values_for_every_log(history: Any) -> None:
    abi = history.client.artifact.abi
    decoder = EventDecoder(history.platform.w3, abi)
    by_topic = {
        bytes(event_abi_to_log_topic(e)): e
        for e in abi
        if e.get("type") == "event" and not e.get("anonymous")
    }
    logs = _all_logs(history)
    names = set()
    for entry in logs:
        ours = decoder.decode(entry)
        theirs = get_event_data(
            history.platform.w3.codec, by_topic[bytes(entry["topics"][0])], entry
        )
        assert ours is not None and ours.name == theirs["event"]
        assert ours.args == {k: _plain(v) for k, v in dict(theirs["args"]).items()}
        assert (ours.block_number, ours.log_index) == (theirs["blockNumber"], theirs["logIndex"])
        assert ours.tx_hash == "0x" + bytes(theirs["transactionHash"]).hex()
        names.add(ours.name)
    assert {"TicketsIssued", "Resold", "CommitmentRotated", "Transfer"} <= names


def test_only_burns_are_read_among_transfers_and_the_tree_is_the_same(history: Any) -> None:
    w3, abi = history.platform.w3, history.client.artifact.abi
    records, cursor = read_tree_logs(w3, abi, history.address)
    transfers = [r for r in records if r["event"] == "Transfer"]
    assert len(transfers) == 2 and all(int(r["args"]["to"], 16) == 0 for r in transfers)
    assert {r["event"] for r in records} == set(TREE_EVENTS)
    every = EventDecoder(w3, abi).decode_all(_all_logs(history))
    assert sum(e.name == "Transfer" for e in every) > 11  # a Transfer per minted ticket
    everything = [{"event": e.name, "args": e.args} for e in every]
    assert tree_from_events(records).root == tree_from_events(everything).root
    assert tree_from_events(records).root == history.gate_as("gate").current_root()
    assert cursor is not None and cursor.block_number == int(w3.eth.block_number)


def test_chain_order_holds_across_queries_and_chunk_sizes(history: Any) -> None:
    w3, abi = history.platform.w3, history.client.artifact.abi
    gate = history.gate_as("gate")  # RootPublished comes from the platform's TicketGate
    whole, _ = read_tree_logs(w3, abi, history.address, extra_events=("RootPublished",), gate=gate)
    positions = [(r["block_number"], r["log_index"]) for r in whole]
    assert positions == sorted(positions) and len(set(positions)) == len(positions)
    assert whole[-1]["event"] == "RootPublished"
    # the gate is shared: only this event's roots are asked for
    assert {r["args"]["ticketEvent"] for r in whole if r["event"] == "RootPublished"} == {
        history.address
    }
    small, _ = tree_log_reader(
        w3,
        abi,
        history.address,
        chunk_size=1,
        confirmations=0,
        extra_events=("RootPublished",),
        gate=gate,
    ).read_all()
    assert small == whole


def test_a_filter_on_an_event_not_read_is_refused(history: Any) -> None:
    with pytest.raises(ValueError, match="not decoded here"):
        EventReader(
            history.platform.w3,
            history.client.artifact.abi,
            history.address,
            event_names=["Resold"],
            where=BURNS_ONLY,
        )
    with pytest.raises(ValueError, match="at most 3"):
        EventReader(
            history.platform.w3,
            history.client.artifact.abi,
            history.address,
            where={"Transfer": [None, None, None, None]},
        )
