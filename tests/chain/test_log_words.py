"""chain.logs' direct slicing of word-only log data equals eth_abi, and refuses what it refuses."""

from __future__ import annotations

import secrets

import pytest
from eth_abi.abi import encode as abi_encode
from eth_abi.exceptions import DecodingError

from chain.logs import _decode_words

TYPES = ["uint256", "bytes32[]", "bytes32", "uint256[]"]


@pytest.mark.parametrize("n", [0, 1, 7, 1000])
def test_word_data_decodes_as_eth_abi_does(n: int) -> None:
    values = [
        secrets.randbits(256),
        [secrets.token_bytes(32) for _ in range(n)],
        secrets.token_bytes(32),
        [secrets.randbits(256) for _ in range(n // 2)],
    ]
    data = abi_encode(TYPES, values)
    assert _decode_words(TYPES, data) == values


@pytest.mark.parametrize(
    "data",
    [
        b"",
        (64).to_bytes(32, "big"),  # head shorter than two words
        (33).to_bytes(32, "big") + bytes(64),  # offset not a multiple of 32
        (64).to_bytes(32, "big") + bytes(32),  # offset past the end
        (32).to_bytes(32, "big") + (5).to_bytes(32, "big") + bytes(64),  # 5 items, 2 present
    ],
)
def test_malformed_word_data_is_refused(data: bytes) -> None:
    with pytest.raises(DecodingError):
        _decode_words(["bytes32[]", "uint256"] if len(data) == 32 else ["bytes32[]"], data)
