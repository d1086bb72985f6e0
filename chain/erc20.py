"""Typed client of an ERC-20 settlement token (an event's currency), with EIP-2612 permits.

Any ERC-20 works for reads and transfers; ``permit`` and ``nonces`` need EIP-2612 (USDC, DAI and
the development :file:`contracts/dev/TestStablecoin.sol` have it), ``mint`` only the development
token. The ABI is TestStablecoin's: a superset of IERC20Metadata and IERC20Permit.
"""

from __future__ import annotations

from typing import Any

from eth_account.messages import encode_typed_data
from eth_utils.address import is_address, to_checksum_address
from web3 import Web3

from chain.client import ContractClient, TxResult
from chain.keys import Signer
from chain.types import ETH, Currency, Permit
from fairgate.errors import ChainError, TicketError

__all__ = [
    "PERMIT_TYPES",
    "SETTLEMENT_DECIMALS",
    "Erc20Client",
    "UnsupportedCurrency",
    "currency_at",
    "settlement_currency",
]

#: The token decimals an event may settle in: 6 (USDC, USDT, the dev FUSD) or 18 (DAI).
SETTLEMENT_DECIMALS = (6, 18)


class UnsupportedCurrency(TicketError, ValueError):
    """The currency asked for cannot settle an event: not ETH, nor an ERC-20 token with 6 or 18
    decimals. (A fee-on-transfer token passes here; the contract refuses it at its first
    payment with ``FeeOnTransferToken``.)"""

    code = "unsupported_currency"


PERMIT_TYPES: dict[str, list[dict[str, str]]] = {
    "Permit": [
        {"name": "owner", "type": "address"},
        {"name": "spender", "type": "address"},
        {"name": "value", "type": "uint256"},
        {"name": "nonce", "type": "uint256"},
        {"name": "deadline", "type": "uint256"},
    ]
}


class Erc20Client(ContractClient):
    """One ERC-20 token."""

    artifact_name = "TestStablecoin"

    def name(self) -> str:
        return str(self.call("name"))

    def symbol(self) -> str:
        return str(self.call("symbol"))

    def decimals(self) -> int:
        return int(self.call("decimals"))

    def currency(self) -> Currency:
        """The token as a settlement currency (its symbol and decimals, read once here)."""
        return Currency(self.address, self.symbol(), self.decimals())

    def balance_of(self, account: str) -> int:
        return int(self.call("balanceOf", to_checksum_address(account)))

    def allowance(self, owner: str, spender: str) -> int:
        return int(self.call("allowance", to_checksum_address(owner), to_checksum_address(spender)))

    def nonces(self, owner: str) -> int:
        return int(self.call("nonces", to_checksum_address(owner)))

    def approve(self, spender: str, amount: int) -> TxResult:
        return self.transact("approve", to_checksum_address(spender), amount)

    def approve_tx(self, spender: str, amount: int) -> dict[str, Any]:
        """``approve`` unsent, for a caller that sends through its own recorded sender."""
        return self.unsent("approve", to_checksum_address(spender), amount)

    def transfer(self, to: str, amount: int) -> TxResult:
        return self.transact("transfer", to_checksum_address(to), amount)

    def mint(self, to: str, amount: int) -> TxResult:
        """The development token's faucet (TestStablecoin only)."""
        return self.transact("mint", to_checksum_address(to), amount)

    def sign_permit(self, signer: Signer, spender: str, value: int, deadline: int) -> Permit:
        """An EIP-2612 permit from ``signer`` for ``spender`` (signed here, sent by nobody)."""
        _, name, version, chain_id, verifying, _, _ = self.call("eip712Domain")
        message = encode_typed_data(
            domain_data={
                "name": str(name),
                "version": str(version),
                "chainId": int(chain_id),
                "verifyingContract": to_checksum_address(verifying),
            },
            message_types=PERMIT_TYPES,
            message_data={
                "owner": signer.address,
                "spender": to_checksum_address(spender),
                "value": value,
                "nonce": self.nonces(signer.address),
                "deadline": deadline,
            },
        )
        signed = signer.sign_message(message)
        return Permit(
            value=value,
            deadline=deadline,
            v=int(signed.v),
            r=int(signed.r).to_bytes(32, "big"),
            s=int(signed.s).to_bytes(32, "big"),
        )


def settlement_currency(w3: Web3, text: str) -> Currency:
    """The currency an event would settle in: ``ETH`` (or the zero address), else the ERC-20
    token at the address ``text``, with its symbol and decimals read from the token.

    Raises :class:`UnsupportedCurrency` in plain words when the address holds no contract, the
    contract answers no ``decimals()``, or its decimals are not 6 or 18. An unreachable node is
    a :class:`ChainError`, not a verdict on the token.
    """
    text = text.strip()
    if text.upper() == "ETH":
        return ETH
    if not is_address(text):
        raise UnsupportedCurrency(
            f"currency {text!r}: give ETH or an ERC-20 token's address (0x...)"
        )
    address = to_checksum_address(text)
    if int(address, 16) == 0:
        return ETH
    try:
        code = w3.eth.get_code(address)
    except Exception as exc:  # the node, not the token: say so
        raise ChainError(f"cannot read the code at {address}: {type(exc).__name__}") from exc
    if not code:
        raise UnsupportedCurrency(f"{address}: no contract at this address on this chain")
    token = Erc20Client(w3, address)
    try:
        decimals = token.decimals()
    except (TicketError, OverflowError, ValueError):
        raise UnsupportedCurrency(
            f"{address}: the contract answers no decimals(): not an ERC-20 token"
        ) from None
    if decimals not in SETTLEMENT_DECIMALS:
        raise UnsupportedCurrency(
            f"{address}: a token of {decimals} decimals; an event settles in a token "
            "of 6 or 18 decimals"
        )
    try:
        symbol = token.symbol().strip()[:16] or None
    except (TicketError, OverflowError, ValueError):
        symbol = None  # e.g. a bytes32 symbol: shown by its address instead
    return Currency(address, symbol or f"{address[:6]}…{address[-4:]}", decimals)


def currency_at(w3: Web3, address: str) -> Currency:
    """The settlement currency at ``address``: ETH for the zero address, else the token's."""
    if int(address, 16) == 0:
        return ETH
    return Erc20Client(w3, address).currency()
