"""Revert decoding: generated classes, Error(string), Panic, unknown data; Ganache's shapes."""

from __future__ import annotations

from typing import Any

import pytest
from chain_helpers import node_is
from eth_abi.abi import encode
from web3 import Web3
from web3.exceptions import ContractCustomError, ContractLogicError, Web3RPCError

from chain.errors import (
    CustomError,
    ErrorRegistry,
    Panic,
    RevertReason,
    UnknownRevert,
    decode_revert,
    decoded_reverts,
    error_class,
    register_abi,
    revert_data,
    revert_from_exception,
)
from chain.keys import dev_signer
from fairgate.errors import ChainError, ContractRevert, TicketError

ABI: list[dict[str, Any]] = [
    {"type": "error", "name": "PriceAboveCap", "inputs": [
        {"name": "price", "type": "uint256"}, {"name": "cap", "type": "uint256"}]},
    {"type": "error", "name": "Unauthorized", "inputs": [{"name": "who", "type": "address"}]},
    {"type": "error", "name": "Clash", "inputs": [
        {"name": "args", "type": "uint8"}, {"name": "", "type": "bytes32"}]},
    {"type": "error", "name": "Nested", "inputs": [
        {"name": "order", "type": "tuple", "components": [
            {"name": "id", "type": "uint256"}, {"name": "buyers", "type": "address[]"}]},
        {"name": "ok", "type": "bool"}]},
    {"type": "function", "name": "f", "inputs": [], "outputs": []},
]  # fmt: skip


def _data(signature: str, types: list[str], values: list[Any]) -> bytes:
    return Web3.keccak(text=signature)[:4] + encode(types, values)


def test_one_class_per_error_with_attributes_and_readable_message() -> None:
    registry = ErrorRegistry()
    classes = registry.register_abi(ABI)
    assert [c.__name__ for c in classes] == ["PriceAboveCap", "Unauthorized", "Clash", "Nested"]
    cls = registry.error_class("PriceAboveCap")
    assert issubclass(cls, CustomError) and issubclass(cls, ContractRevert)
    assert issubclass(cls, ChainError) and issubclass(cls, TicketError)
    assert cls.signature == "PriceAboveCap(uint256,uint256)"
    assert cls.selector == Web3.keccak(text=cls.signature)[:4]

    exc = registry.decode(_data(cls.signature, ["uint256", "uint256"], [150, 100]))
    assert type(exc) is cls
    assert (exc.price, exc.cap) == (150, 100)  # type: ignore[attr-defined]
    assert str(exc) == "PriceAboveCap(price=150, cap=100)"
    assert exc.values == {"price": 150, "cap": 100}
    assert exc.code == "contract_revert"

    who = "0x" + "ab" * 20
    exc = registry.decode(_data("Unauthorized(address)", ["address"], [who]))
    assert exc.who == Web3.to_checksum_address(who)  # type: ignore[attr-defined]

    # argument names that clash with Exception attributes stay in ``values``; unnamed ones: argN
    exc = registry.decode(_data("Clash(uint8,bytes32)", ["uint8", "bytes32"], [7, b"\x01" * 32]))
    assert exc.values == {"args": 7, "arg1": b"\x01" * 32}
    assert exc.args == ("Clash(args=7, arg1=0x" + "01" * 32 + ")",)

    exc = registry.decode(
        _data("Nested((uint256,address[]),bool)", ["(uint256,address[])", "bool"],
              [(5, [who]), True])
    )  # fmt: skip
    assert exc.values["order"] == (5, (who,)) and exc.values["ok"] is True


def test_registering_twice_reuses_classes_and_lookup_rules() -> None:
    registry = ErrorRegistry()
    first = registry.register_abi(ABI)
    assert registry.register_abi(ABI) == first
    other = registry.register_abi(
        [{"type": "error", "name": "Unauthorized", "inputs": [
            {"name": "who", "type": "address"}, {"name": "role", "type": "bytes32"}]}]
    )  # fmt: skip
    with pytest.raises(KeyError, match="ambiguous"):
        registry.error_class("Unauthorized")
    assert registry.error_class("Unauthorized(address,bytes32)") is other[0]
    with pytest.raises(KeyError, match="register"):
        registry.error_class("NoSuchError")


def test_builtin_and_unknown_reverts() -> None:
    registry = ErrorRegistry()
    reason = registry.decode(_data("Error(string)", ["string"], ["sold out"]))
    assert isinstance(reason, RevertReason) and reason.reason == "sold out"
    panic = registry.decode(_data("Panic(uint256)", ["uint256"], [0x11]))
    assert isinstance(panic, Panic) and panic.panic_code == 0x11
    assert "overflow" in str(panic)
    empty = registry.decode(b"")
    assert isinstance(empty, UnknownRevert) and str(empty) == "reverted without data"
    unknown = registry.decode(bytes.fromhex("deadbeef") + b"\x00" * 32)
    assert isinstance(unknown, UnknownRevert) and "0xdeadbeef" in str(unknown)
    bad = registry.decode(_data("Error(string)", ["uint256"], [1])[:10])  # truncated
    assert isinstance(bad, UnknownRevert) and "do not decode" in str(bad)
    with_tx = decode_revert("0x", tx_hash="0xabc")
    assert with_tx.tx_hash == "0xabc" and "0xabc" in str(with_tx)


def test_module_level_lookup_after_registration(reverter_artifact: Any) -> None:
    register_abi(reverter_artifact.abi)
    from chain.errors import NotMinter  # type: ignore[attr-defined]

    assert NotMinter is error_class("NotMinter")
    with pytest.raises(ImportError):
        from chain.errors import NotRegisteredAnywhere  # type: ignore[attr-defined]  # noqa: F401


@pytest.mark.ganache
@pytest.mark.skipif(node_is("anvil"), reason="pins Ganache's error shapes (FAIRGATE_NODE=anvil)")
def test_what_ganache_returns_and_how_it_decodes(
    node_w3: Web3, reverter: Any, reverter_artifact: Any
) -> None:
    """Pins the shapes measured on Ganache 7.9.2 (see chain/errors.py) and their decoding."""
    register_abi(reverter_artifact.abi)
    who = dev_signer(0).address
    fn = reverter.functions
    cap_data = error_class("PriceAboveCap").selector + encode(["uint256", "uint256"], [5, 3])

    # eth_call, raw JSON-RPC: error.data is the hex revert data
    raw = node_w3.provider.make_request(  # type: ignore[arg-type]
        "eth_call",
        [{"from": who, "to": reverter.address, "data": reverter.encode_abi("checkPrice", [5, 3])},
         "latest"],
    )  # fmt: skip
    assert raw["error"]["code"] == -32000 and raw["error"]["data"] == "0x" + cap_data.hex()
    # eth_estimateGas, raw: error.data is {"result": hex, "message": "revert", ...}
    raw = node_w3.provider.make_request(  # type: ignore[arg-type]
        "eth_estimateGas",
        [{"from": who, "to": reverter.address, "data": reverter.encode_abi("checkPrice", [5, 3])}],
    )
    assert raw["error"]["data"]["result"] == "0x" + cap_data.hex()
    assert raw["error"]["data"]["message"] == "revert"

    # web3's exceptions for each case, and our decoding of them
    cases = [
        (fn.checkPrice(5, 3), "call", ContractCustomError, "PriceAboveCap(price=5, cap=3)"),
        (fn.checkPrice(5, 3), "estimate_gas", ContractLogicError, "PriceAboveCap(price=5, cap=3)"),
        (fn.onlyMinter(), "call", ContractCustomError, f"NotMinter(caller='{who}')"),
        (fn.empty(), "call", ContractCustomError, "Empty()"),
        (fn.requireString(1), "call", Web3RPCError, "Error(reason='x too small')"),
        (fn.requireString(1), "estimate_gas", ContractLogicError, "Error(reason='x too small')"),
        (fn.panicDiv(0), "call", ContractLogicError, "Panic(code=0x12: division or modulo by zero)"),  # noqa: E501
        (fn.bare(), "call", Web3RPCError, "reverted without data"),
        (fn.bare(), "estimate_gas", ContractLogicError, "reverted without data"),
    ]  # fmt: skip
    for call, how, web3_type, message in cases:
        with pytest.raises(web3_type) as info:
            getattr(call, how)({"from": who})
        assert revert_data(info.value) is not None
        decoded = revert_from_exception(info.value)
        assert decoded is not None and str(decoded) == message, (how, message)
        with pytest.raises(type(decoded)) as again, decoded_reverts():
            getattr(call, how)({"from": who})
        assert isinstance(again.value.__cause__, web3_type)

    # the named error with every kind of argument
    with pytest.raises(error_class("Named")) as named, decoded_reverts():
        fn.named().call({"from": who})
    assert named.value.values["label"] == "hello" and named.value.values["delta"] == -5
    assert named.value.values["tag"] == Web3.keccak(text="tag")


def test_non_reverts_are_left_alone() -> None:
    refused = Web3RPCError(
        "insufficient funds",
        rpc_response={"error": {"code": -32003, "message": "insufficient funds for gas * price"}},
    )
    assert revert_data(refused) is None and revert_from_exception(refused) is None
    # Ganache's estimateGas shape for a non-revert failure: "result" is a tx hash, not data
    not_revert = ContractLogicError(
        "fee too low",
        data={"hash": "0x" + "11" * 32, "result": "0x" + "11" * 32, "message": "maxFeePerGas"},
    )
    assert revert_data(not_revert) == b""
    with pytest.raises(Web3RPCError), decoded_reverts():
        raise refused
