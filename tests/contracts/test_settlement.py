"""The one road of money in and out of an event (contracts/libraries/Settlement.sol), through
contracts/test/SettlementHarness.sol, in each kind of currency an event can choose:

* ETH: the exact ``msg.value``; pushes with bounded gas that fail on a receiver rejecting ETH;
* TestStablecoin (contracts/dev, EIP-2612 permit) with 6 and with 18 decimals: approval or a
  permit in the same transaction; no ETH alongside; a permit front-run by someone else still pays;
* TetherLikeToken: returns no boolean (SafeERC20), and a blocklisted receiver makes a push fail
  (false, nothing moved) and a send revert;
* FeeOnTransferToken: refused with FeeOnTransferToken (the balance-delta check).
"""

from __future__ import annotations

from typing import Any

import brownie
import pytest
from eth_account import Account

from .helpers import ZERO_ADDRESS, reverts

USD = 10**6  # one unit of a 6-decimal stablecoin
DEADLINE = 2**40


def _permit(token: Any, owner: Any, spender: Any, value: int, deadline: int = DEADLINE) -> tuple:
    """(deadline, v, r, s) of an EIP-2612 permit signed by `owner` (a local account)."""
    _, name, version, chain_id, verifying, _, _ = token.eip712Domain()
    data = {
        "domain": {
            "name": name,
            "version": version,
            "chainId": chain_id,
            "verifyingContract": verifying,
        },
        "types": {
            "Permit": [
                {"name": "owner", "type": "address"},
                {"name": "spender", "type": "address"},
                {"name": "value", "type": "uint256"},
                {"name": "nonce", "type": "uint256"},
                {"name": "deadline", "type": "uint256"},
            ]
        },
        "primaryType": "Permit",
        "message": {
            "owner": owner.address,
            "spender": spender.address,
            "value": value,
            "nonce": token.nonces(owner),
            "deadline": deadline,
        },
    }
    signed = Account.sign_typed_data(owner.private_key, full_message=data)
    return deadline, signed.v, f"0x{signed.r:064x}", f"0x{signed.s:064x}"


@pytest.fixture(scope="module")
def usd6(TestStablecoin: Any, deployer: Any) -> Any:
    return TestStablecoin.deploy("Fairgate Test USD", "FUSD", 6, {"from": deployer})


@pytest.fixture(scope="module")
def usd18(TestStablecoin: Any, deployer: Any) -> Any:
    return TestStablecoin.deploy("Fairgate Test DAI", "FDAI", 18, {"from": deployer})


@pytest.fixture(scope="module")
def tether(TetherLikeToken: Any, deployer: Any) -> Any:
    return TetherLikeToken.deploy({"from": deployer})


@pytest.fixture(scope="module")
def fot(FeeOnTransferToken: Any, deployer: Any) -> Any:
    return FeeOnTransferToken.deploy({"from": deployer})


@pytest.fixture(scope="module")
def harness_for(SettlementHarness: Any, deployer: Any) -> Any:
    return lambda currency: SettlementHarness.deploy(currency, {"from": deployer})


# ----------------------------------------------------------------------------- ETH


def test_eth_collect_takes_exactly_the_price(harness_for: Any, alice: Any) -> None:
    harness = harness_for(ZERO_ADDRESS)
    harness.collect(5, {"from": alice, "value": 5})
    assert harness.held() == 5 == harness.held()
    with reverts("WrongPayment", 4, 5):
        harness.collect(5, {"from": alice, "value": 4})
    with reverts("WrongPayment", 6, 5):
        harness.collect(5, {"from": alice, "value": 6})


def test_eth_push_fails_softly_on_a_rejecting_receiver(
    harness_for: Any, alice: Any, bob: Any
) -> None:
    harness = harness_for(ZERO_ADDRESS)
    rejecting = harness_for(ZERO_ADDRESS)  # no receive(): rejects ETH
    harness.collect(10, {"from": alice, "value": 10})
    before = bob.balance()
    assert harness.push(bob, 4, {"from": alice}).return_value is True
    assert bob.balance() == before + 4
    assert harness.push(rejecting, 3, {"from": alice}).return_value is False
    assert harness.held() == 6
    with reverts("PaymentFailed", rejecting, 3):
        harness.send(rejecting, 3, {"from": alice})
    with reverts("UnsupportedCurrency", ZERO_ADDRESS):
        harness.collectWithPermit(
            1, DEADLINE, 27, "0x" + "00" * 32, "0x" + "00" * 32, {"from": alice}
        )


# ----------------------------------------------------------------------------- tokens


@pytest.mark.parametrize("decimals", [6, 18])
def test_token_collect_by_approval(
    harness_for: Any, usd6: Any, usd18: Any, alice: Any, bob: Any, decimals: int
) -> None:
    token = usd6 if decimals == 6 else usd18
    unit = 10**decimals
    harness = harness_for(token)
    token.mint(alice, 100 * unit, {"from": alice})
    with pytest.raises(brownie.exceptions.VirtualMachineError):  # no allowance: the token refuses
        harness.collect(25 * unit, {"from": alice})
    token.approve(harness, 25 * unit, {"from": alice})
    with reverts("WrongPayment", 1, 0):  # ETH alongside a token payment is refused
        harness.collect(25 * unit, {"from": alice, "value": 1})
    harness.collect(25 * unit, {"from": alice})
    assert token.balanceOf(alice) == 75 * unit
    assert harness.held() == 25 * unit
    assert harness.push(bob, 10 * unit, {"from": alice}).return_value is True
    harness.send(bob, 5 * unit, {"from": alice})
    assert token.balanceOf(bob) == 15 * unit
    with reverts("PaymentFailed", bob, 11 * unit):  # more than it holds
        harness.send(bob, 11 * unit, {"from": alice})


def test_token_collect_with_permit_in_one_transaction(
    harness_for: Any, usd6: Any, alice: Any
) -> None:
    harness = harness_for(usd6)
    usd6.mint(alice, 50 * USD, {"from": alice})
    assert usd6.allowance(alice, harness) == 0
    harness.collectWithPermit(20 * USD, *_permit(usd6, alice, harness, 20 * USD), {"from": alice})
    assert usd6.balanceOf(alice) == 30 * USD
    assert harness.held() == 20 * USD


def test_a_permit_used_by_someone_else_first_still_pays(
    harness_for: Any, usd6: Any, alice: Any, bob: Any
) -> None:
    """Permit signatures travel in the mempool: a front-runner may submit it first. The buyer's
    transaction must not fail for it (the allowance is there)."""
    harness = harness_for(usd6)
    usd6.mint(alice, 50 * USD, {"from": alice})
    deadline, v, r, s = _permit(usd6, alice, harness, 20 * USD)
    usd6.permit(alice, harness, 20 * USD, deadline, v, r, s, {"from": bob})
    harness.collectWithPermit(20 * USD, deadline, v, r, s, {"from": alice})
    assert harness.held() == 20 * USD


def test_a_bad_permit_without_allowance_pays_nothing(
    harness_for: Any, usd6: Any, alice: Any, bob: Any
) -> None:
    harness = harness_for(usd6)
    usd6.mint(alice, 50 * USD, {"from": alice})
    deadline, v, r, s = _permit(usd6, bob, harness, 20 * USD)  # signed by another holder
    with pytest.raises(brownie.exceptions.VirtualMachineError):
        harness.collectWithPermit(20 * USD, deadline, v, r, s, {"from": alice})
    assert usd6.balanceOf(alice) == 50 * USD


def test_a_token_returning_no_boolean_is_handled(
    harness_for: Any, tether: Any, alice: Any, bob: Any
) -> None:
    harness = harness_for(tether)
    tether.mint(alice, 40 * USD, {"from": alice})
    tether.approve(harness, 40 * USD, {"from": alice})
    harness.collect(40 * USD, {"from": alice})
    assert harness.push(bob, 10 * USD, {"from": alice}).return_value is True
    harness.send(bob, 10 * USD, {"from": alice})
    assert tether.balanceOf(bob) == 20 * USD
    # a blocklisted receiver: the push fails softly, nothing moves; a send reverts
    tether.setBlocked(bob, True, {"from": alice})
    assert harness.push(bob, 5 * USD, {"from": alice}).return_value is False
    assert harness.held() == 20 * USD
    with reverts("PaymentFailed", bob, 5 * USD):
        harness.send(bob, 5 * USD, {"from": alice})


def test_a_fee_on_transfer_token_is_refused(harness_for: Any, fot: Any, alice: Any) -> None:
    harness = harness_for(fot)
    fot.mint(alice, 100 * USD, {"from": alice})
    fot.approve(harness, 100 * USD, {"from": alice})
    with reverts("FeeOnTransferToken", fot, 50 * USD, 50 * USD * 99 // 100):
        harness.collect(50 * USD, {"from": alice})
    assert fot.balanceOf(alice) == 100 * USD
