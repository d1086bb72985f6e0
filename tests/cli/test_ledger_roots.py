"""What publish-root reports about the previous root: whether holders changed after it was published
(the TicketGate contract then refuses it when replaced; nothing needs retiring)."""

from __future__ import annotations

from typing import Any

from cli.ledger import History

ZERO = "0x" + "00" * 20
ALICE = "0x" + "11" * 20


def _record(block: int, event: str, **args: Any) -> Any:
    return {
        "event": event,
        "args": args,
        "block_number": block,
        "block_hash": "0x",
        "tx_hash": "0x",
        "log_index": 0,
        "address": ALICE,
    }


def _root(value: int) -> str:
    return "0x" + value.to_bytes(32, "big").hex()


def _history(*records: Any) -> History:
    return History(list(records), last_block=100)


def test_resale_rotation_or_burn_after_the_root_retire_it() -> None:
    published = _record(10, "RootPublished", root=_root(7), previous=_root(0))
    assert _history(published, _record(11, "Resold", tokenId=1)).holders_changed_since_root(7)
    assert _history(
        published, _record(12, "CommitmentRotated", tokenId=1)
    ).holders_changed_since_root(7)
    assert _history(
        published, _record(13, "Transfer", to=ZERO, tokenId=1)
    ).holders_changed_since_root(7)


def test_mints_or_older_changes_keep_the_grace() -> None:
    published = _record(10, "RootPublished", root=_root(7), previous=_root(0))
    mint = _record(11, "Transfer", to=ALICE, tokenId=2)
    older = _record(9, "Resold", tokenId=1)
    assert not _history(older, published, mint).holders_changed_since_root(7)
    assert not _history(published).holders_changed_since_root(8)  # never published: nothing to do
