"""Secrets, commitments, nullifiers and the event scope."""

from __future__ import annotations

import logging

import pytest
from eth_account import Account
from web3 import Web3

from fairgate.errors import ProofError
from zk import identity
from zk.identity import (
    COMMIT_DOMAIN,
    WINDOW_S,
    TicketSecret,
    gate_scope,
    time_window,
    window_challenge,
)
from zk.poseidon import reference_hash2

from .conftest import CHAIN_ID, EVENT


def test_gate_scope_is_the_contracts_formula() -> None:
    packed = Web3.solidity_keccak(["uint256", "address"], [CHAIN_ID, EVENT])
    assert gate_scope(CHAIN_ID, EVENT) == int.from_bytes(packed, "big") >> 8
    assert gate_scope(CHAIN_ID, EVENT.lower()) == gate_scope(CHAIN_ID, EVENT)
    assert gate_scope(CHAIN_ID, EVENT) < 2**248
    assert gate_scope(1, EVENT) != gate_scope(CHAIN_ID, EVENT)
    with pytest.raises(ProofError):
        gate_scope(CHAIN_ID, "0x1234")


def test_window_challenge_is_the_contracts_formula() -> None:
    scope = gate_scope(CHAIN_ID, EVENT)
    packed = Web3.solidity_keccak(
        ["string", "uint256", "uint64"], ["fairgate/window/v1", scope, 88_000_001]
    )
    assert window_challenge(scope, 88_000_001) == int.from_bytes(packed, "big") >> 8
    assert window_challenge(scope, 88_000_001) != window_challenge(scope, 88_000_002)
    assert window_challenge(scope, 7) < 2**248
    assert time_window(1_760_000_019.9) == 1_760_000_019 // WINDOW_S
    assert time_window(WINDOW_S * 5) == 5
    with pytest.raises(ProofError):
        window_challenge(scope, -1)
    with pytest.raises(ProofError):
        window_challenge(scope, 2**64)
    with pytest.raises(ProofError):
        window_challenge(2**248, 1)
    with pytest.raises(ProofError):
        time_window(-1)


def test_commitment_and_nullifier_definitions(scope: int) -> None:
    secret = TicketSecret.generate()
    c = secret.commitment()
    assert c == reference_hash2(secret.reveal(), COMMIT_DOMAIN)
    assert secret.nullifier(scope) == reference_hash2(secret.reveal(), scope)
    assert c != secret.nullifier(scope)
    assert 0 < c < identity.P
    assert identity.commitment_bytes32(c) == c.to_bytes(32, "big")
    with pytest.raises(ProofError):
        secret.nullifier(COMMIT_DOMAIN)  # a scope is < 2^248: the domains never meet


def test_secret_never_shows(caplog: pytest.LogCaptureFixture) -> None:
    secret = TicketSecret.generate()
    value = str(secret.reveal())
    caplog.set_level(logging.DEBUG)
    logging.getLogger("test").info("secret %s %r", secret, secret)
    text = repr(secret) + str(secret) + f"{secret}" + caplog.text
    assert value not in text
    assert hex(secret.reveal())[2:] not in text
    assert "redacted" in repr(secret)
    with pytest.raises(TypeError):
        hash(secret)
    with pytest.raises(ProofError) as err:
        TicketSecret(0)
    assert value not in str(err.value)


def test_wallet_derived_secrets_are_recoverable(scope: int, other_scope: int) -> None:
    account = Account.create()
    seed = identity.seed_from_account(account)
    assert identity.seed_from_account(account) == seed  # deterministic signature (RFC 6979)
    first = TicketSecret.derive(seed, scope, 0)
    second = TicketSecret.derive(seed, scope, 1)
    assert first != second
    assert TicketSecret.derive(seed, other_scope, 0) != first  # unlinkable across events
    onchain = [second.commitment(), first.commitment(), 12345]
    found = identity.recover_secrets(seed, scope, onchain, max_counter=8)
    assert found == {first.commitment(): first, second.commitment(): second}


def test_wallet_seed_refuses_other_signers() -> None:
    holder, other = Account.create(), Account.create()
    signature = bytes(other.sign_message(identity.seed_message()).signature)
    with pytest.raises(ProofError):
        identity.wallet_seed(signature, holder.address)
    with pytest.raises(ProofError):
        identity.wallet_seed(b"\x00" * 65, holder.address)
