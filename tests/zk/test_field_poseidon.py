"""Field checks and Poseidon against circomlibjs (the circuit's own library)."""

from __future__ import annotations

import secrets

import pytest

from fairgate.errors import ProofError
from zk import field, poseidon
from zk.snarkjs_node import SnarkjsNode


def test_poseidon_matches_circomlibjs(snarkjs: SnarkjsNode) -> None:
    pairs = [(0, 0), (1, 2), (field.P - 1, field.P - 1), (1 << 248, 5)]
    pairs += [(secrets.randbelow(field.P), secrets.randbelow(field.P)) for _ in range(20)]
    expected = snarkjs.call("poseidon", inputs=[[str(a), str(b)] for a, b in pairs])["hashes"]
    assert [poseidon.hash2(a, b) for a, b in pairs] == [int(x) for x in expected]
    assert [poseidon.reference_hash2(a, b) for a, b in pairs] == [int(x) for x in expected]


def test_native_level_hash_matches_reference() -> None:
    values = [secrets.randbelow(field.P) for _ in range(2 * 5000)]  # big enough for two threads
    data = b"".join(v.to_bytes(32, "little") for v in values)
    out = poseidon.hash_level(data)
    for i in (0, 1, 2499, 2500, 4999):
        got = int.from_bytes(out[32 * i : 32 * i + 32], "little")
        assert got == poseidon.reference_hash2(values[2 * i], values[2 * i + 1])


@pytest.mark.parametrize("bad", [field.P, field.P + 1, -1, 2**256, True])
def test_poseidon_refuses_non_canonical_inputs(bad: int) -> None:
    # light-poseidon-python alone would reduce P to 0 and answer hash(0, 0)
    with pytest.raises(ProofError):
        poseidon.hash2(bad, 0)


def test_field_decoding_is_strict() -> None:
    assert field.from_hex("0x" + "00" * 31 + "01") == 1
    for bad in ("0x" + "ff" * 32, "12", "0xzz", "0x" + "0" * 65):
        with pytest.raises(ProofError):
            field.from_hex(bad)
    for bad in ("", "01", "-1", "1e3", str(field.P), "\uff11"):
        with pytest.raises(ProofError):
            field.from_decimal(bad)
    with pytest.raises(ProofError):
        field.from_bytes32(field.P.to_bytes(32, "big"))
